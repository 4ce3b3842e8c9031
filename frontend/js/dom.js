// Tiny DOM toolkit: element builder (text only, never innerHTML), alerts, toasts, confirmation dialog.
const TOAST_MS = 8000;

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((child) => child != null && child !== false));
  return el;
}

/** A labelled form field; `input` attrs get an id derived from `name`. */
export function field(label, attrs, hint) {
  const id = attrs.id || `f-${attrs.name}`;
  const control = h(attrs.tag || "input", { ...attrs, tag: null, id });
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
  );
}

/** An alert box that stays empty and hidden until `show` is called. */
export function alertBox(id) {
  const box = h("div", { id, class: "alert", role: "alert", hidden: true });
  box.show = (message, kind = "error", title = null) => {
    box.className = `alert alert-${kind}`;
    box.replaceChildren(title ? h("strong", {}, `${title}: `) : "", message);
    box.hidden = false;
  };
  box.clear = () => {
    box.hidden = true;
    box.replaceChildren();
  };
  return box;
}

export function showToast(message, { kind = "info", title = null } = {}) {
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const toast = h(
    "div",
    { class: `toast toast-${kind}` },
    h("div", { class: "toast-body" }, title ? h("strong", {}, title) : null, h("span", {}, message)),
    close,
  );
  const remove = () => toast.remove();
  close.addEventListener("click", remove);
  setTimeout(remove, TOAST_MS);
  document.getElementById("toasts").append(toast);
  return toast;
}

/** Resolves true when the user confirms; Escape or "Keep it" resolve false. */
export function confirmAction(title, message, confirmLabel) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-message").textContent = message;
  dialog.querySelector("#confirm-yes").textContent = confirmLabel;
  dialog.returnValue = "no";
  dialog.showModal();
  dialog.querySelector("#confirm-no").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}

/** Disables a button while `work` runs so a double click cannot send twice. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

const ICONS = {
  bell: ["M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9", "M13.73 21a2 2 0 0 1-3.46 0"],
  bellOff: [
    "M13.73 21a2 2 0 0 1-3.46 0",
    "M18.63 13A17.89 17.89 0 0 1 18 8",
    "M6.26 6.26A5.86 5.86 0 0 0 6 8c0 7-3 9-3 9h14",
    "M18 8a6 6 0 0 0-9.33-5",
    "M1 1l22 22",
  ],
};

/** A decorative stroke icon (inline SVG: no icon font or emoji font needed). */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [key, value] of Object.entries({
    viewBox: "0 0 24 24",
    width: "18",
    height: "18",
    fill: "none",
    stroke: "currentColor",
    "stroke-width": "2",
    "stroke-linecap": "round",
    "stroke-linejoin": "round",
    "aria-hidden": "true",
    class: "icon",
  }))
    svg.setAttribute(key, value);
  for (const d of ICONS[name]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
