// A month calendar: booked or blocked nights disabled, past days disabled, a check-in/check-out range.
import { h } from "../dom.js";
import { addDays, addMonths, monthLabel, monthStart, todayIso } from "../format.js";

const WEEKDAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/** `taken(day)` says whether the night starting on `day` is unavailable; `onPick(day)` on a click. */
export function monthCalendar({ month, taken, selection, onPick, onMonth, today = todayIso() }) {
  const first = monthStart(month);
  const offset = (new Date(`${first}T00:00:00Z`).getUTCDay() + 6) % 7;
  const cells = [];
  for (let i = 0; i < offset; i++) cells.push(h("td", {}));
  for (let day = first; day.slice(0, 7) === first.slice(0, 7); day = addDays(day, 1)) {
    const past = day < today;
    const booked = taken(day);
    const chosen = day === selection.start || day === selection.end;
    const inRange = selection.start && selection.end && day > selection.start && day < selection.end;
    const label = `${monthLabel(day).split(" ")[0]} ${Number(day.slice(8))}${booked ? ", booked" : ""}`;
    const button = h(
      "button",
      {
        type: "button",
        class: "day",
        "aria-label": label,
        "aria-pressed": String(chosen),
        disabled: past || (booked && day !== selection.end),
        dataset: { day, ...(booked ? { booked: "" } : {}), ...(inRange ? { inRange: "" } : {}) },
        onclick: () => onPick(day),
      },
      String(Number(day.slice(8))),
    );
    cells.push(h("td", {}, button));
  }
  const rows = [];
  for (let i = 0; i < cells.length; i += 7) rows.push(h("tr", {}, cells.slice(i, i + 7)));
  const canGoBack = first > monthStart(today);
  return h(
    "div",
    { class: "calendar", id: "calendar" },
    h(
      "div",
      { class: "calendar-head" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost",
          disabled: !canGoBack,
          onclick: () => onMonth(addMonths(first, -1)),
          "aria-label": "Previous month",
        },
        "‹",
      ),
      h("h3", { id: "calendar-month", "aria-live": "polite" }, monthLabel(first)),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost",
          onclick: () => onMonth(addMonths(first, 1)),
          "aria-label": "Next month",
        },
        "›",
      ),
    ),
    h(
      "table",
      { "aria-labelledby": "calendar-month" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          WEEKDAYS.map((d) => h("th", { scope: "col" }, d)),
        ),
      ),
      h("tbody", {}, rows),
    ),
    h(
      "p",
      { class: "legend" },
      h("span", {}, "Struck-through days are booked"),
      h("span", {}, "Pick check-in, then check-out"),
    ),
  );
}
