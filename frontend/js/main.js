// Entry point: hash router, navigation state, session lifecycle.
import { connectLive, disconnectLive } from "./live.js";
import { clearSession, currentToken, currentUser } from "./session.js";
import { renderAdmin } from "./views/admin.js";
import { renderLogin, renderRegister } from "./views/auth.js";
import { renderBookings } from "./views/bookings.js";
import { renderProperties } from "./views/properties.js";

const PUBLIC_ROUTES = { login: renderLogin, register: renderRegister };
const PRIVATE_ROUTES = { properties: renderProperties, bookings: renderBookings, admin: renderAdmin };
const TITLES = {
  login: "Log in",
  register: "Register",
  properties: "Properties",
  bookings: "My bookings",
  admin: "Admin",
};

let flash = null;
let cleanups = [];

function navigate(route, message = null) {
  flash = message;
  if (location.hash === `#/${route}`) render();
  else location.hash = `#/${route}`;
}

function resolveRoute(user) {
  const name = location.hash.replace(/^#\/?/, "");
  if (!user) return name in PUBLIC_ROUTES ? name : "login";
  if (name === "admin" && user.role !== "admin") return "properties";
  return name in PRIVATE_ROUTES ? name : "properties";
}

function updateChrome(user, route) {
  document.getElementById("nav").hidden = !user;
  document.getElementById("account").hidden = !user;
  document.querySelector('[data-route="admin"]').hidden = user?.role !== "admin";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === route) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const name = user?.profile?.username || (user ? `User #${user.id}` : "");
  document.getElementById("who").textContent = user
    ? `${name}${user.role === "admin" ? " (admin)" : ""}`
    : "";
  document.title = `${TITLES[route]} · Home Rental Platform`;
}

function render() {
  const user = currentUser();
  const route = resolveRoute(user);
  if (location.hash !== `#/${route}`) history.replaceState(null, "", `#/${route}`);
  cleanups.forEach((cleanup) => cleanup());
  cleanups = [];
  updateChrome(user, route);
  const main = document.getElementById("view");
  main.replaceChildren();
  const ctx = {
    flash,
    navigate,
    onLogin,
    cleanup: (fn) => cleanups.push(fn),
  };
  flash = null;
  (PUBLIC_ROUTES[route] || PRIVATE_ROUTES[route])(main, ctx);
  main.querySelector("h1")?.setAttribute("tabindex", "-1");
  if (document.activeElement === document.body || !main.contains(document.activeElement)) {
    main.querySelector("h1")?.focus({ preventScroll: true });
  }
}

function onLogin() {
  connectLive(currentUser());
  navigate("properties");
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
  if (currentToken()) logout({ message: "Your session has expired. Please log in again.", kind: "warning" });
});
window.addEventListener("hashchange", render);

const user = currentUser();
if (user) connectLive(user);
render();
