// One property: photos, description, capacity, a month calendar and booking with a price breakdown.
import { api, newIdempotencyKey } from "../api.js";
import { alertBox, busy, field, h, showToast } from "../dom.js";
import {
  addDays,
  addMonths,
  formatMoney,
  monthStart,
  nightsBetween,
  nightsOf,
  plural,
  todayIso,
} from "../format.js";
import { noteOwnAction, onWatchChange, setPropertyNames } from "../live.js";
import { currentUser } from "../session.js";
import { monthCalendar } from "./calendar.js";
import { gallery } from "./photo.js";
import { watchButton } from "./watch.js";

const ERROR_TITLES = {
  400: "Check your booking",
  403: "Not allowed",
  404: "Not available",
  409: "Dates already taken",
};

export function breakdown(property, start, end, today = todayIso(property.timeZone)) {
  const nights = nightsBetween(start, end);
  if (nights == null) return { ok: false, text: "Choose check-in and check-out dates." };
  if (start < today) return { ok: false, text: "Check-in cannot be in the past." };
  if (nights <= 0) return { ok: false, text: "Check-out must be after check-in." };
  const total = nights * Number(property.pricePerNight);
  return {
    ok: true,
    total,
    nights,
    text: `${plural(nights, "night")} × ${formatMoney(property.pricePerNight)} = ${formatMoney(total)}`,
  };
}

function bookingPanel(property, ctx, state) {
  const user = currentUser();
  const alert = alertBox("booking-alert");
  const output = h("output", { id: "price-preview", class: "price-preview", "aria-live": "polite" });
  const table = h("table", { class: "breakdown", id: "price-breakdown" });
  const available = property.availability !== false;
  const submit = h(
    "button",
    { type: "submit", class: "btn btn-primary", disabled: !available },
    user ? "Book now" : "Log in to book",
  );
  const form = h(
    "form",
    { id: "booking-form", class: "stack card", novalidate: true, "aria-labelledby": "booking-title" },
    h("h2", { id: "booking-title" }, `${formatMoney(property.pricePerNight)} / night`),
    available
      ? null
      : h(
          "p",
          { class: "alert alert-warning", id: "unavailable-note" },
          "This property is not taking bookings.",
        ),
    h(
      "div",
      { class: "row" },
      field("Check-in", {
        name: "startDate",
        type: "date",
        min: todayIso(property.timeZone),
        value: state.start || "",
      }),
      field("Check-out", {
        name: "endDate",
        type: "date",
        min: addDays(todayIso(property.timeZone), 1),
        value: state.end || "",
      }),
    ),
    field("Guests", {
      name: "guests",
      type: "number",
      min: "1",
      max: String(property.maxGuests || 50),
      value: state.guests || "1",
      inputmode: "numeric",
    }),
    output,
    table,
    alert,
    submit,
  );
  const update = () => {
    const result = breakdown(property, form.startDate.value, form.endDate.value);
    output.textContent = result.text;
    output.dataset.total = result.ok ? String(result.total) : "";
    table.replaceChildren(
      ...(result.ok
        ? [
            h(
              "tr",
              {},
              h("td", {}, `${formatMoney(property.pricePerNight)} × ${plural(result.nights, "night")}`),
              h("td", {}, formatMoney(result.total)),
            ),
            h("tr", { class: "total" }, h("td", {}, "Total"), h("td", {}, formatMoney(result.total))),
          ]
        : []),
    );
    submit.disabled = !available || (user && !result.ok);
    return result;
  };
  form.update = (start, end) => {
    form.startDate.value = start || "";
    form.endDate.value = end || "";
    alert.clear();
    update();
  };
  form.addEventListener("input", () => {
    alert.clear(); // an old error never outlives the inputs it was about
    state.start = form.startDate.value;
    state.end = form.endDate.value;
    update();
    state.redraw();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!user)
      return ctx.navigate("login", {
        message: "Log in to book this stay.",
        kind: "info",
        next: location.hash,
      });
    if (!update().ok) return;
    busy(submit, () => book(form, property, alert)).then((result) => {
      if (!result) return update();
      form.replaceWith(confirmation(property, result, ctx));
    });
  });
  update();
  return form;
}

async function book(form, property, alert) {
  const booking = {
    userId: currentUser().id,
    propertyId: property.propertyId,
    startDate: form.startDate.value,
    endDate: form.endDate.value,
    guests: Number(form.guests.value || 1),
  };
  const attempt = JSON.stringify(booking);
  // A new key whenever the booking changes: same key + different body is a different booking.
  if (form.dataset.attempt !== attempt) form.dataset.idempotencyKey = newIdempotencyKey();
  form.dataset.attempt = attempt;
  try {
    noteOwnAction(booking.propertyId, booking.startDate, booking.endDate);
    return await api.book(booking, form.dataset.idempotencyKey);
  } catch (error) {
    const where = error.status === 409 ? ` (${booking.startDate} → ${booking.endDate})` : "";
    alert.show(`${error.message}${where}`, "error", ERROR_TITLES[error.status] || "Booking failed");
    return null;
  }
}

function confirmation(property, result, ctx) {
  showToast(`${property.name}: ${formatMoney(result.totalPrice)}`, {
    kind: "success",
    title: result.message,
  });
  const toBookings = h(
    "button",
    { type: "button", class: "btn btn-primary", onclick: () => ctx.navigate("bookings") },
    "View my bookings",
  );
  return h(
    "section",
    { class: "card stack", "aria-labelledby": "confirmed-title" },
    h("h2", { id: "confirmed-title" }, result.message || "Booking confirmed"),
    h(
      "p",
      { id: "booking-confirmation", class: "alert alert-success" },
      `${property.name}: total ${formatMoney(result.totalPrice)}`,
      h("br"),
      `Booking #${result.bookingId}`,
    ),
    toBookings,
  );
}

export function renderProperty(main, ctx) {
  const id = ctx.params.id;
  const alert = alertBox("property-alert");
  const holder = h("div", { "aria-busy": "true" }, h("p", { class: "muted" }, "Loading property…"));
  main.append(h("p", {}, h("a", { href: "#/properties" }, "← All properties")), alert, holder);
  const state = {
    start: ctx.query.get("from") || "",
    end: ctx.query.get("to") || "",
    guests: ctx.query.get("guests") || "",
    month: null,
    redraw: () => {},
  };
  api
    .property(id)
    .then((property) => show(property))
    .catch((error) => {
      holder.replaceChildren();
      alert.show(
        error.status === 404 ? "This property does not exist or is no longer listed." : error.message,
        "error",
        "Cannot load property",
      );
    })
    .finally(() => holder.setAttribute("aria-busy", "false"));

  function show(property) {
    setPropertyNames([property]);
    document.title = `${property.name} · Home Rental Platform`;
    const calendarSlot = h("div", { id: "calendar-slot" });
    const calendarAlert = alertBox("calendar-alert");
    let booked = new Set();
    const panel = bookingPanel(property, ctx, state);
    const watcher = currentUser() ? watchButton(property) : null;
    if (watcher) ctx.cleanup(onWatchChange(watcher.sync));
    state.month = monthStart(state.start || todayIso(property.timeZone));
    const pick = (day) => {
      if (!state.start || state.end || day <= state.start) [state.start, state.end] = [day, ""];
      else if (rangeFree(state.start, day)) state.end = day;
      else [state.start, state.end] = [day, ""];
      panel.update(state.start, state.end);
      state.redraw();
    };
    const rangeFree = (start, end) => {
      for (let d = start; d < end; d = addDays(d, 1)) if (booked.has(d)) return false;
      return true;
    };
    state.redraw = () =>
      calendarSlot.replaceChildren(
        monthCalendar({
          month: state.month,
          taken: (day) => booked.has(day),
          selection: { start: state.start, end: state.end },
          onPick: pick,
          today: todayIso(property.timeZone),
          onMonth: (month) => {
            state.month = month;
            loadMonth();
          },
        }),
      );
    async function loadMonth() {
      calendarAlert.clear();
      const today = todayIso(property.timeZone);
      const from = state.month < today ? today : state.month;
      try {
        const calendar = await api.calendar(property.propertyId, from, addMonths(state.month, 1));
        booked = new Set([...booked, ...nightsOf([...(calendar.booked || []), ...(calendar.blocked || [])])]);
      } catch (error) {
        calendarAlert.show(error.message, "error", "Cannot load the calendar");
      }
      state.redraw();
    }
    holder.replaceChildren(
      h(
        "div",
        { class: "detail" },
        h(
          "div",
          {},
          gallery(property),
          h("h1", { id: "view-title" }, property.name),
          h(
            "ul",
            { class: "facts" },
            h("li", {}, property.location),
            h(
              "li",
              { id: "capacity" },
              property.maxGuests ? `Up to ${plural(property.maxGuests, "guest")}` : "Capacity not given",
            ),
            h(
              "li",
              {},
              h(
                "span",
                { class: `badge ${property.availability !== false ? "badge-ok" : "badge-off"}` },
                property.availability !== false ? "Available" : "Unavailable",
              ),
            ),
          ),
          watcher?.button,
          h(
            "p",
            { id: "description" },
            property.description || "The host has not written a description yet.",
          ),
          h(
            "section",
            { class: "card section-gap", "aria-label": "Availability calendar" },
            calendarAlert,
            calendarSlot,
          ),
        ),
        panel,
      ),
    );
    main.querySelector("h1")?.setAttribute("tabindex", "-1");
    loadMonth();
  }
}
