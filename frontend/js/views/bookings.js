// The caller's bookings with a confirmed cancel.
import { api } from "../api.js";
import { alertBox, busy, confirmAction, h, showToast } from "../dom.js";
import { formatMoney, nightsBetween } from "../format.js";
import { setPropertyNames } from "../live.js";

function isCancelled(booking) {
  return String(booking.status || "").toLowerCase() === "cancelled";
}

function bookingRow(booking, name, onCancel) {
  const nights = nightsBetween(booking.startDate, booking.endDate);
  const cancel = isCancelled(booking)
    ? null
    : h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          "aria-label": `Cancel booking #${booking.bookingId} at ${name}`,
        },
        "Cancel",
      );
  cancel?.addEventListener("click", () => busy(cancel, () => onCancel(booking, name)));
  return h(
    "tr",
    { dataset: { bookingId: booking.bookingId } },
    h("td", { "data-label": "Property" }, h("strong", {}, name)),
    h("td", { "data-label": "Dates" }, `${booking.startDate} → ${booking.endDate}`),
    h("td", { "data-label": "Nights" }, nights == null ? "–" : String(nights)),
    h("td", { "data-label": "Total" }, booking.totalPrice == null ? "–" : formatMoney(booking.totalPrice)),
    h("td", { "data-label": "Status" }, h("span", { class: "badge" }, booking.status || "confirmed")),
    h("td", { class: "cell-actions" }, cancel),
  );
}

function bookingsTable(rows) {
  return h(
    "table",
    { id: "bookings-table", class: "table" },
    h("caption", { class: "sr-only" }, "Your bookings"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Property", "Dates", "Nights", "Total", "Status"].map((label) => h("th", { scope: "col" }, label)),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
      ),
    ),
    h("tbody", {}, rows),
  );
}

export function renderBookings(main) {
  const alert = alertBox("bookings-alert");
  const holder = h(
    "div",
    { id: "bookings", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading bookings…"),
  );
  const showAll = h("input", { type: "checkbox", id: "show-cancelled" });
  const toggle = h("label", { class: "check" }, showAll, " Show cancelled bookings");
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
      const { message } = await api.cancelBooking(booking.bookingId);
      showToast(message, { kind: "success" });
      await load();
    } catch (error) {
      alert.show(error.message, "error", "Cannot cancel");
    }
  }

  function draw() {
    const shown = bookings.filter((b) => showAll.checked || !isCancelled(b));
    const nameOf = (b) => names.get(Number(b.propertyId)) || `Property #${b.propertyId}`;
    const rows = shown.map((b) => bookingRow(b, nameOf(b), cancelBooking));
    holder.replaceChildren(
      shown.length
        ? h("div", { class: "table-scroll" }, bookingsTable(rows))
        : h(
            "p",
            { class: "empty" },
            "No bookings yet. ",
            h("a", { href: "#/properties" }, "Browse properties"),
          ),
    );
  }

  async function load() {
    try {
      const [mine, properties] = await Promise.all([api.myBookings(), api.properties().catch(() => [])]);
      names = new Map(properties.map((p) => [Number(p.propertyId), p.name]));
      setPropertyNames(properties);
      bookings = mine;
      draw();
    } catch (error) {
      holder.replaceChildren();
      alert.show(error.message, "error", "Cannot load bookings");
    } finally {
      holder.setAttribute("aria-busy", "false");
    }
  }

  showAll.addEventListener("change", draw);
  main.append(h("h1", { id: "view-title" }, "My bookings"), toggle, alert, holder);
  load();
}
