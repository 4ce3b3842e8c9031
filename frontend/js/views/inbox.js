// The notifications inbox: the server's (the properties I watch, last 30 days, without my own actions),
// so every tab and browser shows the same; the newest 50, newest first.
import { alertBox, h } from "../dom.js";
import { inbox } from "../live.js";

function item(entry) {
  return h(
    "li",
    { class: "card" },
    h("strong", {}, entry.title),
    h("p", {}, entry.message),
    h("p", { class: "muted" }, new Date(entry.at).toLocaleString()),
  );
}

export function renderInbox(main) {
  const alert = alertBox("inbox-alert");
  const holder = h(
    "div",
    { id: "inbox-holder", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading…"),
  );
  main.append(h("h1", { id: "view-title" }, "Notifications"), alert, holder);
  inbox()
    .then((items) => {
      holder.replaceChildren(
        items.length
          ? h("ul", { class: "stack-list", id: "inbox" }, items.map(item))
          : h("p", { class: "empty" }, "No notifications yet. Watch a property to hear when it is booked."),
      );
    })
    .catch((error) => {
      holder.replaceChildren();
      alert.show(error.message, "error", "Cannot load notifications");
    })
    .finally(() => holder.setAttribute("aria-busy", "false"));
}
