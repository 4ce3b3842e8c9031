// Anonymous browse and search: every filter, the sort and the paging go to the server as query parameters.
import { api } from "../api.js";
import { alertBox, field, h } from "../dom.js";
import { addDays, formatMoney, todayIso } from "../format.js";
import { setPropertyNames } from "../live.js";
import { photo } from "./photo.js";

const PAGE_SIZE = 12;
const SORTS = [
  ["", "Recommended"],
  ["price", "Price: low to high"],
  ["-price", "Price: high to low"],
  ["name", "Name"],
];

export function searchParams(form, offset) {
  const value = (name) => form[name].value.trim();
  return {
    location: value("location"),
    from: value("from") && value("to") ? value("from") : "",
    to: value("from") && value("to") ? value("to") : "",
    guests: value("guests"),
    minPrice: value("minPrice"),
    maxPrice: value("maxPrice"),
    sort: value("sort"),
    limit: PAGE_SIZE + 1, // one more than shown: tells whether a next page exists
    offset,
  };
}

function propertyCard(property, dates) {
  const available = property.availability !== false;
  const link = `#/property/${property.propertyId}${dates ? `?from=${dates.from}&to=${dates.to}` : ""}`;
  return h(
    "li",
    { class: "card property", dataset: { propertyId: property.propertyId } },
    photo(property, true),
    h("h2", {}, h("a", { href: link, class: "card-link" }, property.name)),
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
  );
}

function filterForm() {
  const today = todayIso();
  return h(
    "form",
    { class: "filters", role: "search", "aria-label": "Search properties", id: "search-form" },
    field("Location", { name: "location", type: "search", placeholder: "e.g. Malibu", maxlength: "200" }),
    field("Check-in", { name: "from", type: "date", min: today }),
    field("Check-out", { name: "to", type: "date", min: addDays(today, 1) }),
    field("Guests", { name: "guests", type: "number", min: "1", max: "50", inputmode: "numeric" }),
    field("Min price", { name: "minPrice", type: "number", min: "0", step: "1", inputmode: "numeric" }),
    field("Max price per night", {
      name: "maxPrice",
      type: "number",
      min: "0",
      step: "1",
      inputmode: "numeric",
    }),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-sort" }, "Sort by"),
      h(
        "select",
        { id: "f-sort", name: "sort" },
        SORTS.map(([value, label]) => h("option", { value }, label)),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
      h("button", { type: "reset", class: "btn btn-ghost" }, "Clear"),
    ),
  );
}

export function renderProperties(main) {
  const alert = alertBox("properties-alert");
  const list = h("ul", { id: "property-list", class: "grid", "aria-busy": "true" });
  const count = h("p", { class: "muted", "aria-live": "polite", id: "result-count" }, "Loading properties…");
  const prev = h("button", { type: "button", class: "btn btn-ghost", disabled: true }, "Previous");
  const next = h("button", { type: "button", class: "btn btn-ghost", disabled: true }, "Next");
  const pager = h("nav", { class: "pager", "aria-label": "Result pages" }, prev, next);
  const form = filterForm();
  let offset = 0;
  let generation = 0;

  async function load() {
    const mine = ++generation;
    alert.clear();
    list.setAttribute("aria-busy", "true");
    count.textContent = "Loading properties…";
    try {
      const params = searchParams(form, offset);
      const items = await api.properties(params);
      if (mine !== generation) return; // a newer search answered first
      const shown = items.slice(0, PAGE_SIZE);
      setPropertyNames(shown);
      const dates = params.from ? { from: params.from, to: params.to } : null;
      list.replaceChildren(...shown.map((p) => propertyCard(p, dates)));
      const first = shown.length ? offset + 1 : 0;
      count.textContent = shown.length
        ? `Showing ${first}–${offset + shown.length}`
        : "No property matches these filters. Try other dates, fewer guests or a wider price range.";
      prev.disabled = offset === 0;
      next.disabled = items.length <= PAGE_SIZE;
    } catch (error) {
      if (mine !== generation) return;
      list.replaceChildren();
      count.textContent = "";
      alert.show(error.message, "error", "Cannot load properties");
    } finally {
      if (mine === generation) list.setAttribute("aria-busy", "false");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    load();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "from" && form.from.value) form.to.min = addDays(form.from.value, 1);
    if (event.target.name === "sort") form.requestSubmit();
  });
  form.addEventListener("input", () => alert.clear());
  form.addEventListener("reset", () => setTimeout(() => form.requestSubmit()));
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    load();
  });
  next.addEventListener("click", () => {
    offset += PAGE_SIZE;
    load();
  });
  main.append(h("h1", { id: "view-title" }, "Find a place to stay"), form, count, alert, list, pager);
  load();
}
