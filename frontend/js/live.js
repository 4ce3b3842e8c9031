// Live notifications over Socket.IO (same origin, /socket.io/): watch properties, toast their events.
// WebSocket only, reconnecting after ~0.1 s: nginx then picks any healthy instance (no ip_hash), and each
// room is rejoined from the last notification id seen, so the server replays what was published meanwhile.
import { io } from "../vendor/socket.io.esm.min.js";
import { api } from "./api.js";
import { showToast } from "./dom.js";

const REPLY_TIMEOUT_MS = 5000;
const watched = new Set();
const joinedRooms = new Set(); // rooms joined on the current connection
const listeners = new Set();
const lastIds = new Map(); // property id -> newest notification id seen ("ms-seq")
let socket = null;
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

function idOrder(id) {
  const [ms, seq] = String(id).split("-").map(Number);
  return [ms || 0, seq || 0];
}

function isNewer(id, than) {
  if (than == null) return true;
  const [a, b] = [idOrder(id), idOrder(than)];
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** Remembers the feed position of a property (join_response's lastId, notification_update's id). */
function advance(propertyId, id) {
  if (propertyId == null || typeof id !== "string") return true;
  const key = Number(propertyId);
  if (!isNewer(id, lastIds.get(key))) return false;
  lastIds.set(key, id);
  return true;
}

function request(event, reply, propertyId, extra = {}) {
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
      current.emit(event, { property_id: propertyId, ...extra });
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
  const after = lastIds.get(Number(propertyId));
  const joined = await request("join-room", "join_response", propertyId, after ? { after } : {});
  if (!joined.startsWith("Connected to room")) throw new Error(joined);
  setRooms(() => joinedRooms.add(Number(propertyId)));
}

export function describe(update) {
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

// The inbox is the server's (GET /api/bookings/notifications): the same in every tab and browser. The
// header shows how many of its newest page there are; a live notification adds one.
const INBOX_PAGE = 50;
let inboxCount = 0;

function showInboxCount() {
  document.getElementById("inbox-link").textContent = `Notifications (${inboxCount})`;
}

async function refreshInboxCount() {
  const page = await api.notifications({ limit: INBOX_PAGE });
  inboxCount = page.notifications.length;
  showInboxCount();
}

/** The newest page of my inbox, as { title, message, at, propertyId } items. */
export async function inbox() {
  const page = await api.notifications({ limit: INBOX_PAGE });
  inboxCount = page.notifications.length;
  showInboxCount();
  return page.notifications.map((item) => ({
    ...describe(item.update),
    at: Date.parse(item.at),
    propertyId: item.propertyId,
  }));
}

function onUpdate(payload) {
  if (payload && typeof payload === "object" && "update" in payload) {
    if (!advance(payload.propertyId, payload.id)) return; // already shown
    if (isOwnAction(payload.update)) return;
    const { title, message } = describe(payload.update);
    inboxCount = Math.min(INBOX_PAGE, inboxCount + 1);
    showInboxCount();
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
  inboxCount = 0;
  showInboxCount();
  refreshInboxCount().catch(() => undefined);
  socket = io({
    path: "/socket.io/",
    auth: { token: user.token },
    // WebSocket first (nginx fails it over in under a second); HTTP long-polling only where a
    // WebSocket cannot open (a proxy that strips Upgrade): polling sessions stay sticky at nginx.
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelay: 100, // then doubling up to 2 s, each ±50 %
    reconnectionDelayMax: 2000,
    randomizationFactor: 0.5,
  });
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
  socket.on("join_response", (payload) => advance(payload?.propertyId, payload?.lastId));
}

export function disconnectLive() {
  if (socket) socket.disconnect();
  socket = null;
  watched.clear();
  lastIds.clear();
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
