// The watch toggle of a property: live notifications when it is booked or changed.
import { busy, h, icon, showToast } from "../dom.js";
import { isWatching, unwatch, watch } from "../live.js";

export function watchButton(property) {
  const button = h("button", { type: "button", class: "btn btn-icon watch" });
  const sync = () => {
    const on = isWatching(property.propertyId);
    button.setAttribute("aria-pressed", String(on));
    button.setAttribute("aria-label", `${on ? "Stop watching" : "Watch"} ${property.name}`);
    button.title = on ? "Watching: you get live notifications" : "Watch for live notifications";
    button.replaceChildren(icon(on ? "bell" : "bellOff"), on ? "Watching" : "Watch");
  };
  button.addEventListener("click", () =>
    busy(button, async () => {
      const was = isWatching(property.propertyId);
      try {
        await (was ? unwatch : watch)(property.propertyId);
        showToast(`${was ? "Stopped watching" : "Watching"} ${property.name}`, { kind: "success" });
      } catch (error) {
        showToast(error.message, { kind: "error", title: "Notifications" });
      }
      sync();
    }),
  );
  sync();
  return { button, sync };
}
