// Property list with filters, a watch toggle per property and the booking dialog.
import { api } from "../api.js";
import { alertBox, busy, field, h, icon, showToast } from "../dom.js";
import { formatMoney } from "../format.js";
import { isWatching, onWatchChange, setPropertyNames, unwatch, watch } from "../live.js";
import { openBookingDialog } from "./booking.js";

function watchButton(property) {
  const button = h("button", { type: "button", class: "btn btn-icon watch" });
  const sync = () => {
    const on = isWatching(property.propertyId);
    button.setAttribute("aria-pressed", String(on));
    button.setAttribute("aria-label", `${on ? "Stop watching" : "Watch"} ${property.name}`);
    button.title = on ? "Watching: you get live notifications" : "Watch for live notifications";
    button.replaceChildren(icon(on ? "bell" : "bellOff"), on ? "Watching" : "Watch");
  };
  button.addEventListener("click", () =>
    busy(button, async () => {
      const was = isWatching(property.propertyId);
      try {
        await (was ? unwatch : watch)(property.propertyId);
        showToast(`${was ? "Stopped watching" : "Watching"} ${property.name}`, { kind: "success" });
      } catch (error) {
        showToast(error.message, { kind: "error", title: "Notifications" });
      }
      sync();
    }),
  );
  sync();
  return { button, sync };
}

function propertyCard(property, ctx, syncers) {
  const available = property.availability !== false;
  const { button, sync } = watchButton(property);
  syncers.push(sync);
  return h(
    "li",
    { class: "card property", dataset: { propertyId: property.propertyId } },
    h("h2", {}, property.name),
    h("p", { class: "muted location" }, property.location),
    h(
      "p",
      { class: "price" },
      h("strong", {}, formatMoney(property.pricePerNight)),
      h("span", { class: "muted" }, " / night"),
    ),
    h(
      "p",
      { class: `badge ${available ? "badge-ok" : "badge-off"}` },
      available ? "Available" : "Unavailable",
    ),
    h(
      "div",
      { class: "property-actions" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-primary",
          "aria-label": `Book ${property.name}`,
          onclick: () => openBookingDialog(property, ctx),
        },
        "Book",
      ),
      button,
    ),
  );
}

function filterForm(onChange) {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter properties" },
    field("Location", { name: "location", type: "search", placeholder: "e.g. Malibu" }),
    field("Max price per night", {
      name: "maxPrice",
      type: "number",
      min: "0",
      step: "1",
      inputmode: "numeric",
    }),
    h("button", { type: "reset", class: "btn btn-ghost" }, "Clear"),
  );
  form.addEventListener("input", onChange);
  form.addEventListener("reset", () => setTimeout(onChange));
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}

function matches(property, location, maxPrice) {
  const place = `${property.location} ${property.name}`.toLowerCase();
  return (!location || place.includes(location)) && (maxPrice == null || property.pricePerNight <= maxPrice);
}

export function renderProperties(main, ctx) {
  const alert = alertBox("properties-alert");
  const list = h("ul", { id: "property-list", class: "grid", "aria-busy": "true" });
  const count = h("p", { class: "muted", "aria-live": "polite" }, "Loading properties…");
  let properties = [];
  const syncers = [];
  const redraw = () => {
    const location = form.location.value.trim().toLowerCase();
    const maxPrice = form.maxPrice.value === "" ? null : Number(form.maxPrice.value);
    const shown = properties.filter((p) => matches(p, location, maxPrice));
    syncers.length = 0;
    list.replaceChildren(...shown.map((p) => propertyCard(p, ctx, syncers)));
    count.textContent = `${shown.length} of ${properties.length} properties`;
  };
  const form = filterForm(redraw);
  main.append(h("h1", { id: "view-title" }, "Properties"), form, count, alert, list);
  ctx.cleanup(onWatchChange(() => syncers.forEach((sync) => sync())));
  api
    .properties()
    .then((items) => {
      properties = items;
      setPropertyNames(items);
      redraw();
    })
    .catch((error) => {
      count.textContent = "";
      alert.show(error.message, "error", "Cannot load properties");
    })
    .finally(() => list.setAttribute("aria-busy", "false"));
}
