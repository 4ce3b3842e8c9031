// Admin tools: users with roles (search, paging, role change), all bookings, reports, broadcasts.
import { api } from "../api.js";
import { alertBox, busy, field, h, showToast } from "../dom.js";
import { formatMoney } from "../format.js";
import { broadcast } from "../live.js";
import { timeChart } from "./chart.js";
import { bookingsOverview } from "./host.js";

const USERS_PAGE = 20;
const ROLES = ["user", "host", "admin"];

function roleControl(user, onChange) {
  const select = h(
    "select",
    { "aria-label": `Role of ${user.username}`, id: `role-${user.id}` },
    ROLES.map((r) => h("option", { value: r, selected: r === user.role }, r)),
  );
  select.addEventListener("change", () => busy(select, () => onChange(user, select.value)));
  return select;
}

function usersPanel() {
  const alert = alertBox("users-alert");
  const body = h("tbody");
  const form = h(
    "form",
    { class: "inline-form", role: "search", "aria-label": "Search users" },
    field("Search", {
      name: "q",
      type: "search",
      maxlength: "100",
      placeholder: "name or email",
      id: "f-user-q",
    }),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-user-role" }, "Role"),
      h(
        "select",
        { id: "f-user-role", name: "role" },
        h("option", { value: "" }, "any"),
        ROLES.map((r) => h("option", { value: r }, r)),
      ),
    ),
    h("button", { type: "submit", class: "btn btn-ghost" }, "Search"),
  );
  const prev = h("button", { type: "button", class: "btn btn-ghost", disabled: true }, "Previous");
  const next = h("button", { type: "button", class: "btn btn-ghost", disabled: true }, "Next");
  let offset = 0;
  let generation = 0;
  async function changeRole(user, role) {
    try {
      await api.changeRole(user.id, role);
      showToast(`${user.username} is now ${role === "admin" ? "an" : "a"} ${role}; their old sessions end`, {
        kind: "success",
      });
    } catch (error) {
      alert.show(error.message);
    }
  }
  async function load() {
    const mine = ++generation;
    alert.clear();
    try {
      const users = await api.searchUsers({
        q: form.q.value.trim(),
        role: form.role.value,
        limit: USERS_PAGE + 1,
        offset,
      });
      if (mine !== generation) return; // a newer search or page was asked for: its answer is shown
      body.replaceChildren(
        ...users
          .slice(0, USERS_PAGE)
          .map((u) =>
            h(
              "tr",
              { dataset: { userId: u.id } },
              h("td", { "data-label": "ID" }, String(u.id)),
              h("td", { "data-label": "Username" }, u.username),
              h("td", { "data-label": "Email" }, u.email),
              h("td", { "data-label": "Role" }, roleControl(u, changeRole)),
            ),
          ),
      );
      prev.disabled = offset === 0;
      next.disabled = users.length <= USERS_PAGE;
    } catch (error) {
      if (mine !== generation) return;
      alert.show(error.message, "error", "Cannot load users");
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    load();
  });
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - USERS_PAGE);
    load();
  });
  next.addEventListener("click", () => {
    offset += USERS_PAGE;
    load();
  });
  load();
  return h(
    "section",
    { "aria-labelledby": "users-title", class: "card" },
    h("h2", { id: "users-title" }, "Users"),
    form,
    alert,
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { id: "users-table", class: "table" },
        h("caption", { class: "sr-only" }, "Registered users"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["ID", "Username", "Email", "Role"].map((l) => h("th", { scope: "col" }, l)),
          ),
        ),
        body,
      ),
    ),
    h("nav", { class: "pager", "aria-label": "User pages" }, prev, next),
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
  const tools = h("div", { class: "admin-grid" }, usersPanel());
  const bookings = h("div", { id: "admin-bookings" }, h("p", { class: "muted" }, "Loading bookings…"));
  main.append(
    h("h1", { id: "view-title" }, "Admin"),
    h("p", {}, h("a", { href: "#/reports" }, "Reports: occupancy and revenue →")),
    alert,
    tools,
    h(
      "section",
      { class: "card section-gap", "aria-labelledby": "ab-title" },
      h("h2", { id: "ab-title" }, "Latest bookings"),
      bookings,
    ),
  );
  api
    .hostingBookings({ limit: 50 })
    .then((list) => bookings.replaceChildren(bookingsOverview(list, "admin-bookings-table")))
    .catch((error) =>
      bookings.replaceChildren(
        h("p", { class: "alert alert-error" }, `Cannot load bookings: ${error.message}`),
      ),
    );
  api
    .properties({ limit: 200, sort: "name" })
    .then((properties) => tools.append(broadcastForm(properties)))
    .catch((error) => alert.show(error.message, "error", "Cannot load properties"));
}

export function renderReports(main) {
  const alert = alertBox("reports-alert");
  const holder = h(
    "div",
    { id: "report", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading reports…"),
  );
  main.append(
    h("h1", { id: "view-title" }, "Reports"),
    h(
      "p",
      { class: "muted" },
      "From the data warehouse (updated by the nightly ETL), three years back to two ahead.",
    ),
    alert,
    holder,
  );
  const year = new Date().getUTCFullYear();
  const window = { from: `${year - 3}-01`, to: `${year + 2}-12` };
  Promise.all([api.report("revenue", window), api.report("occupancy", window)])
    .then(([revenue, occupancy]) => {
      if (revenue.empty) {
        holder.replaceChildren(
          h(
            "p",
            { class: "empty", id: "report-empty" },
            "The warehouse holds no bookings yet: run the ETL (make etl) and come back.",
          ),
        );
        return;
      }
      const ratio = new Map((occupancy.totals || []).map((p) => [p.month, p.occupancy]));
      const points = (revenue.totals || []).map((p) => ({
        month: p.month,
        bar: Number(p.revenue),
        line: ratio.get(p.month) ?? null,
      }));
      holder.replaceChildren(
        h(
          "section",
          { class: "card", "aria-labelledby": "chart-title" },
          h("h2", { id: "chart-title" }, "Revenue (bars) and occupancy (line) per month"),
          timeChart(points, {
            title: "Revenue and occupancy per month",
            barLabel: "revenue",
            lineLabel: "occupancy",
          }),
        ),
        h(
          "div",
          { class: "table-scroll section-gap" },
          h(
            "table",
            { class: "table", id: "report-table" },
            h("caption", {}, "Per month, all properties"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Month", "Revenue", "Bookings", "Cancellations", "Occupancy"].map((l) =>
                  h("th", { scope: "col" }, l),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              (revenue.totals || []).map((p) =>
                h(
                  "tr",
                  {},
                  h("td", { "data-label": "Month" }, p.month),
                  h("td", { "data-label": "Revenue" }, formatMoney(p.revenue)),
                  h("td", { "data-label": "Bookings" }, String(p.bookings)),
                  h("td", { "data-label": "Cancellations" }, String(p.cancellations)),
                  h(
                    "td",
                    { "data-label": "Occupancy" },
                    ratio.has(p.month) ? `${(ratio.get(p.month) * 100).toFixed(1)}%` : "–",
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    })
    .catch((error) => {
      holder.replaceChildren();
      alert.show(error.message, "error", "Cannot load reports");
    })
    .finally(() => holder.setAttribute("aria-busy", "false"));
}
