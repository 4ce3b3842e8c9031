// Booking dialog: date pickers, live price preview, server errors by status.
import { api, newIdempotencyKey } from "../api.js";
import { alertBox, busy, field, h, showToast } from "../dom.js";
import { addDays, formatMoney, nightsBetween, plural, todayIso } from "../format.js";
import { currentUser } from "../session.js";

const ERROR_TITLES = {
  400: "Check your dates",
  404: "Not available",
  409: "Dates already taken",
};

function preview(property, startDate, endDate) {
  const nights = nightsBetween(startDate, endDate);
  if (nights == null) return { ok: false, text: "Choose check-in and check-out dates." };
  if (nights <= 0) return { ok: false, text: "Check-out must be after check-in." };
  const total = nights * Number(property.pricePerNight);
  return {
    ok: true,
    total,
    text: `${plural(nights, "night")} × ${formatMoney(property.pricePerNight)} = ${formatMoney(total)}`,
  };
}

function confirmation(dialog, property, result, ctx) {
  const toBookings = h("button", { type: "button", class: "btn btn-primary" }, "View my bookings");
  toBookings.addEventListener("click", () => {
    dialog.close();
    ctx.navigate("bookings");
  });
  dialog.replaceChildren(
    h("h2", { id: "booking-title" }, result.message || "Booking confirmed"),
    h(
      "p",
      { id: "booking-confirmation", class: "alert alert-success" },
      `${property.name}: total ${formatMoney(result.totalPrice)}`,
      h("br"),
      `Booking #${result.bookingId}`,
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "btn btn-ghost", onclick: () => dialog.close() }, "Close"),
      toBookings,
    ),
  );
  toBookings.focus();
}

function bookingForm(dialog, property, ctx) {
  const today = todayIso();
  const alert = alertBox("booking-alert");
  const output = h("output", { id: "price-preview", class: "price-preview", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Confirm booking");
  const form = h(
    "form",
    { id: "booking-form", class: "stack", novalidate: true },
    h("h2", { id: "booking-title" }, `Book ${property.name}`),
    h("p", { class: "muted" }, `${property.location} · ${formatMoney(property.pricePerNight)} / night`),
    property.availability === false
      ? h("p", { class: "alert alert-warning" }, "This property is marked unavailable.")
      : null,
    h(
      "div",
      { class: "row" },
      field("Check-in", {
        name: "startDate",
        type: "date",
        min: today,
        value: addDays(today, 1),
        required: true,
      }),
      field("Check-out", {
        name: "endDate",
        type: "date",
        min: today,
        value: addDays(today, 2),
        required: true,
      }),
    ),
    output,
    alert,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "btn btn-ghost", onclick: () => dialog.close() }, "Cancel"),
      submit,
    ),
  );
  const update = () => {
    const result = preview(property, form.startDate.value, form.endDate.value);
    output.textContent = result.text;
    output.dataset.total = result.ok ? String(result.total) : "";
    submit.disabled = !result.ok;
    return result;
  };
  form.addEventListener("input", update);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!update().ok) return;
    alert.clear();
    busy(submit, () => book(form, property, alert))
      .then((result) => result && confirmation(dialog, property, result, ctx))
      .finally(update);
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
  };
  const attempt = JSON.stringify(booking);
  // A new key whenever the dates change: same key + different body is a different booking.
  if (form.dataset.attempt !== attempt) form.dataset.idempotencyKey = newIdempotencyKey();
  form.dataset.attempt = attempt;
  try {
    const result = await api.book(booking, form.dataset.idempotencyKey);
    showToast(`${property.name}: ${formatMoney(result.totalPrice)}`, {
      kind: "success",
      title: result.message,
    });
    return result;
  } catch (error) {
    alert.show(error.message, "error", ERROR_TITLES[error.status] || "Booking failed");
    return null;
  }
}

export function openBookingDialog(property, ctx) {
  const dialog = document.getElementById("booking-dialog");
  dialog.replaceChildren(bookingForm(dialog, property, ctx));
  dialog.showModal();
  dialog.querySelector("input[name=startDate]").focus();
}
