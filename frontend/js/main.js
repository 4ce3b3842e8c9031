// Entry point: hash router (`#/property/7?from=…`), navigation state, session lifecycle.
import { connectLive, disconnectLive } from "./live.js";
import { clearSession, currentToken, currentUser } from "./session.js";
import { renderAccount, renderForgot, renderReset } from "./views/account.js";
import { renderAdmin, renderReports } from "./views/admin.js";
import { renderLogin, renderRegister } from "./views/auth.js";
import { renderBookings } from "./views/bookings.js";
import { renderHost } from "./views/host.js";
import { renderInbox } from "./views/inbox.js";
import { renderProperties } from "./views/properties.js";
import { renderProperty } from "./views/property.js";

// name: [render, title, who may see it: "anyone" | "guest" (signed out) | "user" | a role list]
const ROUTES = {
  properties: [renderProperties, "Properties", "anyone"],
  property: [renderProperty, "Property", "anyone"],
  login: [renderLogin, "Log in", "guest"],
  register: [renderRegister, "Register", "guest"],
  forgot: [renderForgot, "Reset password", "guest"],
  reset: [renderReset, "Reset password", "anyone"],
  bookings: [renderBookings, "My bookings", "user"],
  account: [renderAccount, "Account", "user"],
  inbox: [renderInbox, "Notifications", "user"],
  host: [renderHost, "Hosting", ["host", "admin"]],
  admin: [renderAdmin, "Admin", ["admin"]],
  reports: [renderReports, "Reports", ["admin"]],
};

let flash = null;
let cleanups = [];

function navigate(route, message = null) {
  flash = message;
  if (location.hash === `#/${route}`) render();
  else location.hash = `#/${route}`;
}

function parseHash() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, id] = path.split("/");
  return { name, id, query: new URLSearchParams(search) };
}

function allowed(who, user) {
  if (who === "anyone") return true;
  if (who === "guest") return !user;
  if (who === "user") return Boolean(user);
  return Boolean(user) && who.includes(user.role);
}

function updateChrome(user, route) {
  document.getElementById("account").hidden = !user;
  document.getElementById("guest").hidden = Boolean(user);
  for (const link of document.querySelectorAll("#nav a")) {
    const [, , who] = ROUTES[link.dataset.route];
    link.hidden = !allowed(who, user) && link.dataset.route !== "properties";
    if (link.dataset.route === route) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const name = user?.profile?.username || (user ? `User #${user.id}` : "");
  document.getElementById("who").textContent = user
    ? `${name}${user.role !== "user" ? ` (${user.role})` : ""}`
    : "";
  document.title = `${ROUTES[route][1]} · Home Rental Platform`;
}

function render() {
  const user = currentUser();
  const parsed = parseHash();
  let route = parsed.name in ROUTES ? parsed.name : "properties";
  if (route === "property" && !/^\d+$/.test(parsed.id || "")) route = "properties";
  if (!allowed(ROUTES[route][2], user)) {
    if (!user) {
      flash = flash || { message: "Log in to continue.", kind: "info", next: location.hash };
      route = "login";
    } else route = "properties";
  }
  if (route !== parsed.name) history.replaceState(null, "", `#/${route}`);
  cleanups.forEach((cleanup) => cleanup());
  cleanups = [];
  updateChrome(user, route);
  const main = document.getElementById("view");
  main.replaceChildren();
  const ctx = {
    flash,
    navigate,
    onLogin,
    logout,
    params: { id: parsed.id },
    query: parsed.query,
    refreshChrome: () => updateChrome(currentUser(), route),
    cleanup: (fn) => cleanups.push(fn),
  };
  flash = null;
  ROUTES[route][0](main, ctx);
  main.querySelector("h1")?.setAttribute("tabindex", "-1");
  if (document.activeElement === document.body || !main.contains(document.activeElement)) {
    main.querySelector("h1")?.focus({ preventScroll: true });
  }
}

function onLogin(next) {
  connectLive(currentUser());
  if (next && next.startsWith("#/") && !next.startsWith("#/login")) location.hash = next;
  else navigate("properties");
}

function logout(message = { message: "You are logged out.", kind: "info" }) {
  disconnectLive();
  clearSession();
  document.querySelectorAll("dialog[open]").forEach((dialog) => dialog.close());
  navigate("login", message);
}

document.getElementById("logout").addEventListener("click", () => logout());
window.addEventListener("session-expired", () => {
  // Parallel requests can all fail with 401: only the first one ends the session.
  if (currentToken())
    logout({
      message: "Your session has ended (expired, or your role changed). Please log in again.",
      kind: "warning",
    });
});
window.addEventListener("hashchange", render);

const user = currentUser();
if (user) connectLive(user);
render();
