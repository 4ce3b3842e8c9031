// Pure helpers for dates and money, shared by the views.
const DAY_MS = 86_400_000;
const wholeDollars = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  maximumFractionDigits: 0,
});
const withCents = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
});

export function formatMoney(amount) {
  const value = Number(amount);
  return (Number.isInteger(value) ? wholeDollars : withCents).format(value);
}

/** Whole nights between two ISO dates, or null when either is missing or invalid. */
export function nightsBetween(startDate, endDate) {
  if (!startDate || !endDate) return null;
  const start = Date.parse(`${startDate}T00:00:00Z`);
  const end = Date.parse(`${endDate}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  return Math.round((end - start) / DAY_MS);
}

export function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

export function addDays(isoDay, days) {
  return isoDate(new Date(Date.parse(`${isoDay}T00:00:00Z`) + days * DAY_MS));
}

/** Today as YYYY-MM-DD: in `timeZone` (a listing's IANA zone) when given, else the browser's. */
export function todayIso(timeZone) {
  if (timeZone) return new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date());
  const now = new Date();
  return isoDate(new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())));
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export function monthStart(isoDay) {
  return `${isoDay.slice(0, 7)}-01`;
}

export function addMonths(isoMonthStart, months) {
  const [year, month] = isoMonthStart.split("-").map(Number);
  return isoDate(new Date(Date.UTC(year, month - 1 + months, 1)));
}

export function monthLabel(isoDay) {
  return new Date(`${isoDay}T00:00:00Z`).toLocaleDateString("en-US", {
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
}

/** Every night [start, end) of the given ranges, as ISO dates. */
export function nightsOf(ranges) {
  const nights = new Set();
  for (const { startDate, endDate } of ranges) {
    for (let day = startDate; day < endDate; day = addDays(day, 1)) nights.add(day);
  }
  return nights;
}
