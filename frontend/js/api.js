// Same-origin REST client: every call goes through nginx → gateway; errors carry the server's message.
import { currentToken } from "./session.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function messageOf(data) {
  if (!data || typeof data !== "object") return null;
  const value = data.error ?? data.message;
  if (value == null) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function request(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // A File goes as it is (its own Content-Type); anything else as JSON.
  const raw = body instanceof Blob;
  if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
  if (raw) headers["Content-Type"] = body.type || "application/octet-stream";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && token) window.dispatchEvent(new CustomEvent("session-expired"));
    throw new ApiError(response.status, messageOf(data) || `Request failed (HTTP ${response.status})`);
  }
  return data;
}

export function newIdempotencyKey() {
  // getRandomValues works outside secure contexts, unlike crypto.randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The seed documents lists wrapped in braces; accept a bare list or {key: [...]}. */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value != null) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const api = {
  login: (email, password) => request("POST", "/api/users/login", { email, password }),
  register: (username, email, password) =>
    request("POST", "/api/users/register", { username, email, password }),
  profile: () => request("GET", "/api/users/profile"),
  updateProfile: (changes) => request("PATCH", "/api/users/profile", changes),
  changePassword: (currentPassword, newPassword) =>
    request("POST", "/api/users/password", { currentPassword, newPassword }),
  requestReset: (email) => request("POST", "/api/users/password-reset", { email }),
  confirmReset: (token, newPassword) =>
    request("POST", "/api/users/password-reset/confirm", { token, newPassword }),
  deleteAccount: (password) => request("DELETE", "/api/users/profile", { password }),
  becomeHost: () => request("POST", "/api/users/become-host"),
  allUsers: async () => listOf(await request("GET", "/api/users/allusers"), "users"),
  searchUsers: (params) => request("GET", `/api/users/users${query(params)}`),
  changeRole: (userId, role) => request("PATCH", `/api/users/${encodeURIComponent(userId)}/role`, { role }),
  // Every filter is applied by the server (location, from/to, guests, price, sort, limit/offset).
  properties: async (params) =>
    listOf(await request("GET", `/api/bookings/properties${query(params)}`), "properties"),
  property: (id) => request("GET", `/api/bookings/properties/${encodeURIComponent(id)}`),
  calendar: (id, from, to) =>
    request("GET", `/api/bookings/properties/${encodeURIComponent(id)}/calendar${query({ from, to })}`),
  createProperty: (body) => request("POST", "/api/bookings/properties", body),
  updateProperty: (id, body) => request("PATCH", `/api/bookings/properties/${encodeURIComponent(id)}`, body),
  retireProperty: (id) => request("DELETE", `/api/bookings/properties/${encodeURIComponent(id)}`),
  blockDates: (id, startDate, endDate) =>
    request("POST", `/api/bookings/properties/${encodeURIComponent(id)}/blocks`, { startDate, endDate }),
  // The same key for every retry of one booking form, so a resent request cannot book twice.
  book: (booking, idempotencyKey) =>
    request("POST", "/api/bookings/book", booking, { "Idempotency-Key": idempotencyKey }),
  myBookings: async () => listOf(await request("GET", "/api/bookings/mine"), "bookings"),
  cancelBooking: (bookingId) => request("DELETE", `/api/cancel-booking/${encodeURIComponent(bookingId)}`),
  hostingBookings: async (params) =>
    listOf(await request("GET", `/api/bookings/hosting/bookings${query(params)}`), "bookings"),
  hostingProperties: async () =>
    listOf(await request("GET", "/api/bookings/hosting/properties"), "properties"),
  // The photo goes as the request body (at most 5 MiB; the server checks what it really is).
  uploadPhoto: (id, file) =>
    request("POST", `/api/bookings/properties/${encodeURIComponent(id)}/photos`, file),
  deletePhoto: (id, photoId) =>
    request(
      "DELETE",
      `/api/bookings/properties/${encodeURIComponent(id)}/photos/${encodeURIComponent(photoId)}`,
    ),
  // The properties I watch, as the notification server keeps them (not this tab's memory).
  watching: async () => listOf(await request("GET", "/api/bookings/watching"), "propertyIds"),
  notifications: (params) => request("GET", `/api/bookings/notifications${query(params)}`),
  earnings: async () => listOf(await request("GET", "/api/bookings/hosting/earnings"), "earnings"),
  report: (name, params) => request("GET", `/api/reports/${name}${query(params)}`),
};
