// The notifications inbox: the last 50 live notifications (30 days), newest first.
import { h } from "../dom.js";
import { inbox } from "../live.js";

export function renderInbox(main) {
  const items = inbox();
  main.append(
    h("h1", { id: "view-title" }, "Notifications"),
    items.length
      ? h(
          "ul",
          { class: "stack-list", id: "inbox" },
          items.map((item) =>
            h(
              "li",
              { class: "card" },
              h("strong", {}, item.title),
              h("p", {}, item.message),
              h("p", { class: "muted" }, new Date(item.at).toLocaleString()),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No notifications yet. Watch a property to hear when it is booked."),
  );
}
