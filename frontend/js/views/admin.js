// Admin tools: every registered user and a broadcast box for a property's watchers.
import { api } from "../api.js";
import { alertBox, field, h, showToast } from "../dom.js";
import { broadcast } from "../live.js";

function usersTable(users) {
  return h(
    "table",
    { id: "users-table", class: "table" },
    h("caption", { class: "sr-only" }, "Registered users"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["ID", "Username", "Email"].map((label) => h("th", { scope: "col" }, label)),
      ),
    ),
    h(
      "tbody",
      {},
      users.map((user) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "ID" }, String(user.id)),
          h("td", { "data-label": "Username" }, user.username),
          h("td", { "data-label": "Email" }, user.email),
        ),
      ),
    ),
  );
}

function broadcastForm(properties) {
  const alert = alertBox("broadcast-alert");
  const select = h(
    "select",
    { id: "f-property", name: "property", required: true },
    properties.map((p) => h("option", { value: p.propertyId }, p.name)),
  );
  const form = h(
    "form",
    { id: "broadcast-form", class: "stack card", "aria-labelledby": "broadcast-title" },
    h("h2", { id: "broadcast-title" }, "Broadcast to watchers"),
    h("div", { class: "field" }, h("label", { for: "f-property" }, "Property"), select),
    field("Message", { tag: "textarea", name: "notification", rows: "3", required: true, maxlength: "500" }),
    alert,
    h("button", { type: "submit", class: "btn btn-primary" }, "Send broadcast"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = form.notification.value.trim();
    if (!text) return alert.show("Write a message first.");
    try {
      broadcast(Number(select.value), text);
      alert.clear();
      form.notification.value = "";
      showToast(`Sent to watchers of ${select.selectedOptions[0].textContent}`, { kind: "success" });
    } catch (error) {
      alert.show(error.message);
    }
  });
  return form;
}

export function renderAdmin(main) {
  const alert = alertBox("admin-alert");
  const users = h(
    "section",
    { "aria-labelledby": "users-title", class: "card" },
    h("h2", { id: "users-title" }, "Users"),
  );
  const tools = h("div", { class: "admin-grid" }, users);
  main.append(h("h1", { id: "view-title" }, "Admin"), alert, tools);
  api
    .allUsers()
    .then((list) => {
      const count = h("p", { class: "muted" }, `${list.length} registered`);
      users.append(count, h("div", { class: "table-scroll" }, usersTable(list)));
    })
    .catch((error) => alert.show(error.message, "error", "Cannot load users"));
  api
    .properties()
    .then((properties) => tools.prepend(broadcastForm(properties)))
    .catch((error) => alert.show(error.message, "error", "Cannot load properties"));
}
