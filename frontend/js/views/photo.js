// A property's first photo (a search result carries only its thumbnail, `thumbUrl`), or a tidy
// placeholder (a drawn house) when it has none.
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
  const url = first ? (small ? first.thumbUrl : first.url) : property.thumbUrl || null;
  return h(
    "div",
    {
      class: "photo",
      role: url ? null : "img",
      "aria-label": url ? null : `No photo of ${property.name} yet`,
    },
    url ? h("img", { src: url, alt: `Photo of ${property.name}`, loading: "lazy" }) : placeholder(),
  );
}

/** The property page: the first photo large, and every photo's thumbnail to show it instead. */
export function gallery(property) {
  const main = photo(property);
  const all = Array.isArray(property.photos) ? property.photos : [];
  if (all.length < 2) return main;
  const buttons = all.map((p, index) => {
    const button = h(
      "button",
      {
        type: "button",
        "aria-pressed": String(index === 0),
        "aria-label": `Show photo ${index + 1} of ${all.length}`,
      },
      h("img", { src: p.thumbUrl, alt: "", loading: "lazy" }),
    );
    button.addEventListener("click", () => {
      main.querySelector("img").src = p.url;
      buttons.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
    });
    return button;
  });
  return h(
    "div",
    {},
    main,
    h("ul", { class: "gallery", "aria-label": "Photos" }, ...buttons.map((b) => h("li", {}, b))),
  );
}
