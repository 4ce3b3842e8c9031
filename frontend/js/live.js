// Live notifications over Socket.IO (same origin, /socket.io/): watch properties, toast their events.
import { io } from "../vendor/socket.io.esm.min.js";
import { api } from "./api.js";
import { showToast } from "./dom.js";

const REPLY_TIMEOUT_MS = 5000;
const watched = new Set();
const joinedRooms = new Set(); // rooms joined on the current connection
const listeners = new Set();
let socket = null;
let userKey = null;
let propertyNames = new Map();
// Subscribe/join replies are plain events, not acks: serialise requests so each reply matches its request.
let queue = Promise.resolve();
// The server allows 20 events a second per connection (booking_service/realtime/guard.py): rejoining many
// watched properties after a reconnect is paced under that instead of tripping it.
const MIN_EVENT_GAP_MS = 60;
let lastEmitAt = 0;

function paced() {
  const wait = Math.max(0, lastEmitAt + MIN_EVENT_GAP_MS - Date.now());
  return new Promise((resolve) => setTimeout(resolve, wait));
}

function changed() {
  listeners.forEach((listener) => listener());
}

/** The server's list of what I watch (kept per user by the notification server), read on each connect. */
async function loadWatched() {
  const ids = await api.watching();
  watched.clear();
  ids.forEach((id) => watched.add(Number(id)));
  changed();
}

function textOf(payload) {
  if (typeof payload === "string") return payload;
  if (payload && typeof payload === "object")
    return payload.message ?? payload.msg ?? JSON.stringify(payload);
  return String(payload);
}

function request(event, reply, propertyId) {
  const run = () =>
    new Promise((resolve, reject) => {
      const current = socket;
      if (!current) return reject(new Error("Live notifications are off: you are logged out."));
      const timer = setTimeout(() => {
        current.off(reply, onReply);
        reject(new Error("The notification server did not answer. Try again."));
      }, REPLY_TIMEOUT_MS);
      function onReply(payload) {
        clearTimeout(timer);
        resolve(textOf(payload));
      }
      current.once(reply, onReply);
      current.emit(event, { property_id: propertyId });
    });
  const send = () =>
    paced().then(() => {
      lastEmitAt = Date.now();
      return run();
    });
  const result = queue.then(send, send);
  queue = result.catch(() => undefined);
  return result;
}

function ensureConnected() {
  if (!socket) throw new Error("Log in to receive notifications.");
  if (!socket.connected) throw new Error("Live notifications are offline. Try again in a moment.");
}

function setRooms(change) {
  change();
  document.getElementById("live-status").dataset.rooms = String(joinedRooms.size);
}

async function subscribe(propertyId) {
  const subscribed = await request("get-notification", "notification_response", propertyId);
  if (!/^(Subscribed|Already watching)/.test(subscribed)) throw new Error(subscribed);
  const joined = await request("join-room", "join_response", propertyId);
  if (!joined.startsWith("Connected to room")) throw new Error(joined);
  setRooms(() => joinedRooms.add(Number(propertyId)));
}

function describe(update) {
  if (update && typeof update === "object" && update.event) {
    const name = propertyNames.get(Number(update.propertyId)) || `Property #${update.propertyId}`;
    const dates = `${update.startDate} → ${update.endDate}`;
    if (update.event === "booked") return { title: `${name} was just booked`, message: dates };
    if (update.event === "cancelled")
      return { title: `Booking cancelled at ${name}`, message: `${dates} is free again` };
    return { title: name, message: `${update.event}: ${dates}` };
  }
  return { title: "Announcement", message: textOf(update) };
}

// My own bookings and cancellations come back as room events too: those are not news to me.
const OWN_ACTION_MS = 30_000;
const ownActions = new Map();

function actionKey(propertyId, startDate, endDate) {
  return `${Number(propertyId)}|${startDate}|${endDate}`;
}

export function noteOwnAction(propertyId, startDate, endDate) {
  ownActions.set(actionKey(propertyId, startDate, endDate), Date.now() + OWN_ACTION_MS);
}

function isOwnAction(update) {
  if (!update || typeof update !== "object" || !update.event) return false;
  const until = ownActions.get(actionKey(update.propertyId, update.startDate, update.endDate));
  return until != null && until > Date.now();
}

// The inbox: the last 50 notifications of this user in this browser, kept 30 days.
const INBOX_MAX = 50;
const INBOX_DAYS_MS = 30 * 86_400_000;

function inboxKey() {
  return `hrp.inbox.${userKey}`;
}

export function inbox() {
  if (!userKey) return [];
  try {
    const items = JSON.parse(localStorage.getItem(inboxKey()) || "[]");
    return items.filter((item) => item.at > Date.now() - INBOX_DAYS_MS);
  } catch {
    return [];
  }
}

function remember(title, message) {
  const items = [{ title, message, at: Date.now() }, ...inbox()].slice(0, INBOX_MAX);
  localStorage.setItem(inboxKey(), JSON.stringify(items));
  const link = document.getElementById("inbox-link");
  link.textContent = `Notifications (${items.length})`;
}

function onUpdate(payload) {
  if (payload && typeof payload === "object" && "update" in payload) {
    if (isOwnAction(payload.update)) return;
    const { title, message } = describe(payload.update);
    remember(title, message);
    showToast(message, { title, kind: "info" });
  } else {
    showToast(textOf(payload), { title: "Notification error", kind: "error" });
  }
}

function setStatus(state, label) {
  const status = document.getElementById("live-status");
  status.dataset.state = state;
  status.querySelector(".label").textContent = label;
}

export function connectLive(user) {
  disconnectLive();
  userKey = String(user.id);
  document.getElementById("inbox-link").textContent = `Notifications (${inbox().length})`;
  socket = io({ path: "/socket.io/", auth: { token: user.token } });
  socket.on("connect", async () => {
    setStatus("online", "Live");
    setRooms(() => joinedRooms.clear());
    await loadWatched().catch(() => undefined); // offline API: keep what this tab knew
    // Rooms belong to a connection: rejoin every watched property after each (re)connect.
    watched.forEach((id) => subscribe(id).catch((error) => showToast(error.message, { kind: "error" })));
  });
  socket.on("disconnect", () => setStatus("offline", "Offline"));
  socket.on("connect_error", () => setStatus("offline", "Offline"));
  socket.on("notification_update", onUpdate);
}

export function disconnectLive() {
  if (socket) socket.disconnect();
  socket = null;
  watched.clear();
  setRooms(() => joinedRooms.clear());
  queue = Promise.resolve();
  setStatus("offline", "Offline");
}

export function setPropertyNames(properties) {
  properties.forEach((p) => propertyNames.set(Number(p.propertyId), p.name));
}

export function isWatching(propertyId) {
  return watched.has(Number(propertyId));
}

export function onWatchChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function watch(propertyId) {
  ensureConnected();
  await subscribe(propertyId);
  watched.add(Number(propertyId));
  changed();
}

export async function unwatch(propertyId) {
  ensureConnected();
  const left = await request("leave-room", "leave_response", propertyId);
  const stopped = await request("stop-notification", "stop_notification_response", propertyId);
  watched.delete(Number(propertyId));
  setRooms(() => joinedRooms.delete(Number(propertyId)));
  changed();
  if (!stopped.startsWith("Stopped") && !left.startsWith("Left")) throw new Error(stopped);
}

export function broadcast(propertyId, notification) {
  ensureConnected();
  socket.emit("broadcast_notification", { property_id: propertyId, notification });
}
