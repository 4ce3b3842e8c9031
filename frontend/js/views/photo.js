// A property's first photo, or a tidy placeholder (a drawn house) when it has none.
import { h } from "../dom.js";

const NS = "http://www.w3.org/2000/svg";

function placeholder() {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.5");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", "M3 11 12 4l9 7M5 10v10h5v-6h4v6h5V10");
  svg.append(path);
  return svg;
}

export function photo(property, small = false) {
  const first = Array.isArray(property.photos) ? property.photos[0] : null;
  const url = first && (small ? first.thumbnailUrl || first.url : first.url || first.thumbnailUrl);
  return h(
    "div",
    {
      class: "photo",
      role: url ? null : "img",
      "aria-label": url ? null : `No photo of ${property.name} yet`,
    },
    url
      ? h("img", { src: url, alt: first.alt || `Photo of ${property.name}`, loading: "lazy" })
      : placeholder(),
  );
}
