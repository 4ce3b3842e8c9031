// My bookings: upcoming and past stays apart, booking numbers, distinct confirmed/cancelled badges.
import { api } from "../api.js";
import { alertBox, busy, confirmAction, h, showToast } from "../dom.js";
import { formatMoney, nightsBetween, todayIso } from "../format.js";
import { noteOwnAction } from "../live.js";

function isCancelled(booking) {
  return String(booking.status || "").toLowerCase() === "cancelled";
}

export function statusBadge(status) {
  const cancelled = String(status || "").toLowerCase() === "cancelled";
  return h(
    "span",
    { class: `badge ${cancelled ? "badge-cancelled" : "badge-confirmed"}` },
    cancelled ? "✕ Cancelled" : "✓ Confirmed",
  );
}

function bookingRow(booking, name, onCancel) {
  const nights = nightsBetween(booking.startDate, booking.endDate);
  const canCancel = !isCancelled(booking) && booking.startDate >= todayIso();
  const cancel = canCancel
    ? h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          "aria-label": `Cancel booking #${booking.bookingId} at ${name}`,
        },
        "Cancel",
      )
    : null;
  cancel?.addEventListener("click", () => busy(cancel, () => onCancel(booking, name)));
  return h(
    "tr",
    { dataset: { bookingId: booking.bookingId } },
    h("td", { "data-label": "Booking" }, `#${booking.bookingId}`),
    h(
      "td",
      { "data-label": "Property" },
      h("a", { href: `#/property/${booking.propertyId}` }, h("strong", {}, name)),
    ),
    h("td", { "data-label": "Dates" }, `${booking.startDate} → ${booking.endDate}`),
    h("td", { "data-label": "Nights" }, nights == null ? "–" : String(nights)),
    h("td", { "data-label": "Total" }, booking.totalPrice == null ? "–" : formatMoney(booking.totalPrice)),
    h("td", { "data-label": "Status" }, statusBadge(booking.status)),
    h("td", { class: "cell-actions" }, cancel),
  );
}

function bookingsTable(id, caption, rows) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { id, class: "table" },
      h("caption", { class: "sr-only" }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Booking", "Property", "Dates", "Nights", "Total", "Status"].map((label) =>
            h("th", { scope: "col" }, label),
          ),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

export function renderBookings(main) {
  const alert = alertBox("bookings-alert");
  const holder = h(
    "div",
    { id: "bookings", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading bookings…"),
  );
  let bookings = [];
  let names = new Map();

  async function cancelBooking(booking, name) {
    const ok = await confirmAction(
      "Cancel this booking?",
      `${name}, ${booking.startDate} → ${booking.endDate}. This cannot be undone.`,
      "Cancel booking",
    );
    if (!ok) return;
    try {
      noteOwnAction(booking.propertyId, booking.startDate, booking.endDate);
      const { message } = await api.cancelBooking(booking.bookingId);
      showToast(message, { kind: "success" });
      await load();
    } catch (error) {
      alert.show(error.message, "error", "Cannot cancel");
    }
  }

  function draw() {
    const today = todayIso();
    const nameOf = (b) => b.propertyName || names.get(Number(b.propertyId)) || `Property #${b.propertyId}`;
    const upcoming = bookings
      .filter((b) => !isCancelled(b) && b.endDate > today)
      .sort((a, b) => a.startDate.localeCompare(b.startDate));
    const past = bookings
      .filter((b) => !upcoming.includes(b))
      .sort((a, b) => b.startDate.localeCompare(a.startDate));
    const section = (id, title, list, empty) =>
      h(
        "section",
        { class: "section-gap", "aria-labelledby": `${id}-title` },
        h("h2", { id: `${id}-title` }, title),
        list.length
          ? bookingsTable(
              `${id}-table`,
              title,
              list.map((b) => bookingRow(b, nameOf(b), cancelBooking)),
            )
          : h("p", { class: "empty" }, empty),
      );
    holder.replaceChildren(
      bookings.length
        ? ""
        : h(
            "p",
            { class: "empty" },
            "No bookings yet. ",
            h("a", { href: "#/properties" }, "Browse properties"),
          ),
      section("upcoming", "Upcoming stays", upcoming, "No upcoming stays."),
      section("past", "Past and cancelled", past, "Nothing here yet."),
    );
  }

  async function load() {
    try {
      const mine = await api.myBookings();
      const missing = [...new Set(mine.filter((b) => !b.propertyName).map((b) => Number(b.propertyId)))];
      // Names the list API does not give (e.g. retired listings) are looked up one by one, best effort.
      const found = await Promise.all(missing.map((id) => api.property(id).catch(() => null)));
      names = new Map(found.filter(Boolean).map((p) => [Number(p.propertyId), p.name]));
      bookings = mine;
      draw();
    } catch (error) {
      holder.replaceChildren();
      alert.show(error.message, "error", "Cannot load bookings");
    } finally {
      holder.setAttribute("aria-busy", "false");
    }
  }

  main.append(h("h1", { id: "view-title" }, "My bookings"), alert, holder);
  load();
}
