// Host dashboard: my listings (create, edit, retire, block dates), bookings on them, earnings per month.
import { api } from "../api.js";
import { alertBox, busy, confirmAction, field, h, showToast } from "../dom.js";
import { formatMoney, todayIso } from "../format.js";
import { timeChart } from "./chart.js";
import { statusBadge } from "./bookings.js";

// My listings come from GET /api/bookings/hosting/properties (the live ones I own, with their photos).
async function myListings() {
  const mine = await api.hostingProperties();
  return mine.sort((a, b) => a.name.localeCompare(b.name));
}

const PHOTO_TYPES = "image/jpeg,image/png,image/webp";

/** The listing's photos (thumbnails with a Remove button each) and an upload control. */
function photoManager(property, alert, reload) {
  const id = property.propertyId;
  const thumbs = (property.photos || []).map((p, index) => {
    const remove = h(
      "button",
      {
        type: "button",
        class: "btn btn-ghost",
        "aria-label": `Remove photo ${index + 1} of ${property.name}`,
      },
      "Remove",
    );
    remove.addEventListener("click", () =>
      busy(remove, async () => {
        try {
          await api.deletePhoto(id, p.id);
          showToast("Photo removed", { kind: "success" });
          reload();
        } catch (error) {
          alert.show(error.message);
        }
      }),
    );
    return h(
      "li",
      { class: "photo-thumb" },
      h("img", { src: p.thumbUrl, alt: `Photo ${index + 1} of ${property.name}`, loading: "lazy" }),
      remove,
    );
  });
  const input = h("input", {
    type: "file",
    accept: PHOTO_TYPES,
    id: `photo-file-${id}`,
    name: "photo",
    class: "sr-only",
  });
  const label = h("label", { for: `photo-file-${id}`, class: "btn btn-ghost" }, "Add photo");
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    label.setAttribute("aria-busy", "true");
    try {
      if (file.size > 5 * 1024 * 1024) throw new Error("A photo can be at most 5 MiB");
      await api.uploadPhoto(id, file);
      showToast(`Photo added to ${property.name}`, { kind: "success" });
      reload();
    } catch (error) {
      alert.show(error.message, "error", "Photo not added");
    } finally {
      label.removeAttribute("aria-busy");
      input.value = "";
    }
  });
  return h(
    "div",
    { class: "photo-manager", "aria-label": `Photos of ${property.name}`, role: "group" },
    thumbs.length
      ? h("ul", { class: "photo-thumbs" }, ...thumbs)
      : h("p", { class: "muted" }, "No photos yet: JPEG, PNG or WebP, at most 5 MiB."),
    input,
    label,
  );
}

/** The browser's IANA time zone names, as suggestions for a listing form's time zone field. */
function timeZoneOptions(id) {
  const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return h("datalist", { id }, ...["UTC", ...names].map((name) => h("option", { value: name })));
}

function listingForm(id, title, values, label, onSubmit) {
  const alert = alertBox(`${id}-alert`);
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, label);
  const f = (text, attrs) => field(text, { ...attrs, id: `${id}-${attrs.name}` });
  const form = h(
    "form",
    { id, class: "stack card", novalidate: true, "aria-labelledby": `${id}-title` },
    h("h3", { id: `${id}-title` }, title),
    f("Name", { name: "name", maxlength: "200", value: values.name || "" }),
    f("Location", { name: "location", maxlength: "200", value: values.location || "" }),
    h(
      "div",
      { class: "row" },
      f("Price per night", {
        name: "pricePerNight",
        type: "number",
        min: "1",
        step: "0.01",
        value: values.pricePerNight ?? "",
      }),
      f("Max guests", {
        name: "maxGuests",
        type: "number",
        min: "1",
        max: "50",
        value: values.maxGuests ?? "",
      }),
    ),
    f("Description", { tag: "textarea", name: "description", rows: "3", maxlength: "4000" }),
    field(
      "Time zone",
      {
        id: `${id}-timeZone`,
        name: "timeZone",
        maxlength: "64",
        placeholder: "UTC",
        list: `${id}-zones`,
        autocomplete: "off",
        value: values.timeZone || "",
      },
      "The listing's local date decides which check-in dates are past, e.g. Europe/Lisbon",
    ),
    timeZoneOptions(`${id}-zones`),
    alert,
    submit,
  );
  form.description.value = values.description || "";
  form.addEventListener("input", () => alert.clear());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {
      name: form.name.value.trim(),
      location: form.location.value.trim(),
      pricePerNight: Number(form.pricePerNight.value),
    };
    if (form.maxGuests.value) body.maxGuests = Number(form.maxGuests.value);
    if (form.description.value.trim()) body.description = form.description.value.trim();
    if (form.timeZone.value.trim()) body.timeZone = form.timeZone.value.trim();
    busy(submit, () => onSubmit(body).catch((error) => alert.show(error.message)));
  });
  return form;
}

function listingCard(property, reload) {
  const alert = alertBox(`listing-${property.propertyId}-alert`);
  const retire = h("button", { type: "button", class: "btn btn-danger" }, "Retire");
  retire.addEventListener("click", () =>
    busy(retire, async () => {
      if (!(await confirmAction("Retire this listing?", `${property.name} stops taking bookings.`, "Retire")))
        return;
      try {
        showToast((await api.retireProperty(property.propertyId)).message, { kind: "success" });
        reload();
      } catch (error) {
        alert.show(error.message);
      }
    }),
  );
  const edit = h(
    "details",
    {},
    h("summary", {}, "Edit"),
    listingForm(`edit-${property.propertyId}`, `Edit ${property.name}`, property, "Save", async (body) => {
      await api.updateProperty(property.propertyId, body);
      showToast(`${body.name} saved`, { kind: "success" });
      reload();
    }),
  );
  const blockForm = h(
    "form",
    { class: "inline-form", "aria-label": `Block dates of ${property.name}` },
    field("Block from", {
      name: "startDate",
      type: "date",
      min: todayIso(),
      id: `block-from-${property.propertyId}`,
    }),
    field("to", { name: "endDate", type: "date", min: todayIso(), id: `block-to-${property.propertyId}` }),
    h("button", { type: "submit", class: "btn btn-ghost" }, "Block dates"),
  );
  blockForm.addEventListener("submit", (event) => {
    event.preventDefault();
    api
      .blockDates(property.propertyId, blockForm.startDate.value, blockForm.endDate.value)
      .then(() =>
        showToast(`Blocked ${blockForm.startDate.value} → ${blockForm.endDate.value}`, { kind: "success" }),
      )
      .catch((error) => alert.show(error.message));
  });
  return h(
    "li",
    { class: "card stack listing", dataset: { propertyId: property.propertyId } },
    h("h3", {}, property.name),
    h(
      "p",
      { class: "muted" },
      `${property.location} · ${formatMoney(property.pricePerNight)} / night${property.maxGuests ? ` · up to ${property.maxGuests} guests` : ""}`,
    ),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "btn btn-ghost", href: `#/property/${property.propertyId}` }, "Calendar"),
      retire,
    ),
    photoManager(property, alert, reload),
    blockForm,
    edit,
    alert,
  );
}

function cancelButton(booking, reload) {
  const id = booking.id ?? booking.bookingId;
  const button = h(
    "button",
    { type: "button", class: "btn btn-danger", "aria-label": `Cancel booking #${id}` },
    "Cancel",
  );
  button.addEventListener("click", () =>
    busy(button, async () => {
      const question = `${booking.propertyName || "The listing"}, ${booking.startDate} → ${booking.endDate}. The guest is notified and the dates are free again.`;
      if (!(await confirmAction(`Cancel booking #${id}?`, question, "Cancel booking"))) return;
      try {
        showToast((await api.cancelBooking(id)).message, { kind: "success" });
        reload();
      } catch (error) {
        showToast(error.message, { kind: "error", title: "Cannot cancel" });
      }
    }),
  );
  return button;
}

/** Bookings on listings; with `reload`, upcoming confirmed ones get a Cancel button (owner or admin). */
export function bookingsOverview(bookings, id, reload = null) {
  if (!bookings.length) return h("p", { class: "empty" }, "No bookings yet.");
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "table", id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Booking", "Property", "Guest", "Dates", "Guests", "Total", "Status"].map((l) =>
            h("th", { scope: "col" }, l),
          ),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
        ),
      ),
      h(
        "tbody",
        {},
        bookings.map((b) =>
          h(
            "tr",
            {},
            h("td", { "data-label": "Booking" }, `#${b.id ?? b.bookingId}`),
            h("td", { "data-label": "Property" }, b.propertyName || `#${b.propertyId}`),
            h("td", { "data-label": "Guest" }, `User #${b.userId}`),
            h("td", { "data-label": "Dates" }, `${b.startDate} → ${b.endDate}`),
            h("td", { "data-label": "Guests" }, String(b.guests ?? 1)),
            h("td", { "data-label": "Total" }, formatMoney(b.totalPrice)),
            h("td", { "data-label": "Status" }, statusBadge(b.status)),
            h(
              "td",
              { class: "cell-actions" },
              reload && b.status !== "cancelled" && b.startDate >= todayIso()
                ? cancelButton(b, reload)
                : null,
            ),
          ),
        ),
      ),
    ),
  );
}

export function renderHost(main, ctx) {
  const alert = alertBox("host-alert");
  if (ctx.flash) alert.show(ctx.flash.message, ctx.flash.kind);
  const listings = h("ul", { id: "my-listings", class: "stack-list", "aria-busy": "true" });
  const bookings = h("div", { id: "host-bookings" }, h("p", { class: "muted" }, "Loading bookings…"));
  const earnings = h("div", { id: "host-earnings" }, h("p", { class: "muted" }, "Loading earnings…"));
  const create = listingForm("create-listing", "New listing", {}, "Create listing", async (body) => {
    const created = await api.createProperty(body);
    showToast(`${created.name || body.name} is listed`, { kind: "success" });
    create.reset();
    loadListings();
  });
  let generation = 0;
  async function loadListings() {
    const asked = ++generation;
    listings.setAttribute("aria-busy", "true");
    try {
      const mine = await myListings();
      if (asked !== generation) return; // reloaded meanwhile (a change): the newer answer is shown
      listings.replaceChildren(
        ...(mine.length
          ? mine.map((p) => listingCard(p, loadListings))
          : [h("li", { class: "empty" }, "No listings yet: create one.")]),
      );
    } catch (error) {
      if (asked === generation) alert.show(error.message, "error", "Cannot load listings");
    } finally {
      if (asked === generation) listings.setAttribute("aria-busy", "false");
    }
  }
  main.append(
    h("h1", { id: "view-title" }, "Hosting"),
    alert,
    h(
      "div",
      { class: "admin-grid" },
      h(
        "section",
        { "aria-labelledby": "listings-title" },
        h("h2", { id: "listings-title" }, "My listings"),
        listings,
      ),
      create,
    ),
    h(
      "section",
      { class: "card section-gap", "aria-labelledby": "hb-title" },
      h("h2", { id: "hb-title" }, "Upcoming bookings on my listings"),
      bookings,
    ),
    h(
      "section",
      { class: "card section-gap", "aria-labelledby": "earn-title" },
      h("h2", { id: "earn-title" }, "Earnings per month"),
      earnings,
    ),
  );
  loadListings();
  const loadBookings = () =>
    api
      .hostingBookings({ from: todayIso(), limit: 100 })
      .then((list) => bookings.replaceChildren(bookingsOverview(list, "host-bookings-table", loadBookings)))
      .catch((error) =>
        bookings.replaceChildren(
          h("p", { class: "alert alert-error" }, `Cannot load bookings: ${error.message}`),
        ),
      );
  loadBookings();
  api
    .earnings()
    .then((months) =>
      earnings.replaceChildren(
        months.length
          ? timeChart(
              months.map((m) => ({ month: m.month, bar: Number(m.revenue) })),
              { title: "Revenue per month", barLabel: "revenue" },
            )
          : h("p", { class: "empty" }, "No earnings yet."),
        months.length
          ? h(
              "table",
              { class: "table", id: "earnings-table" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ["Month", "Revenue", "Nights", "Bookings"].map((l) => h("th", { scope: "col" }, l)),
                ),
              ),
              h(
                "tbody",
                {},
                months.map((m) =>
                  h(
                    "tr",
                    {},
                    h("td", { "data-label": "Month" }, m.month),
                    h("td", { "data-label": "Revenue" }, formatMoney(m.revenue)),
                    h("td", { "data-label": "Nights" }, String(m.nights)),
                    h("td", { "data-label": "Bookings" }, String(m.bookings)),
                  ),
                ),
              ),
            )
          : "",
      ),
    )
    .catch((error) =>
      earnings.replaceChildren(
        h("p", { class: "alert alert-error" }, `Cannot load earnings: ${error.message}`),
      ),
    );
}
