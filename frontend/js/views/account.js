// Account: edit profile, change password, become a host, delete the account; forgotten-password pages.
import { api } from "../api.js";
import { alertBox, busy, confirmAction, field, h } from "../dom.js";
import { connectLive } from "../live.js";
import { currentUser, saveProfile, saveToken } from "../session.js";

function formCard(id, title, children, onSubmit, label) {
  const alert = alertBox(`${id}-alert`);
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, label);
  const form = h(
    "form",
    { id, class: "stack card", novalidate: true, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title),
    alert,
    ...children,
    submit,
  );
  form.addEventListener("input", () => alert.clear());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      try {
        const message = await onSubmit(form);
        if (message) alert.show(message, "success");
      } catch (error) {
        alert.show(error.message);
      }
    });
  });
  return form;
}

/** Store a freshly issued token (old ones stop working) and reconnect the live channel with it. */
function adopt(token) {
  saveToken(token);
  connectLive(currentUser());
}

export function renderAccount(main, ctx) {
  const user = currentUser();
  const profile = formCard(
    "profile-form",
    "Profile",
    [
      field("Username", { name: "username", autocomplete: "username", value: user.profile?.username || "" }),
      field("Email", {
        name: "email",
        type: "email",
        autocomplete: "email",
        value: user.profile?.email || "",
      }),
    ],
    async (form) => {
      const updated = await api.updateProfile({
        username: form.username.value.trim(),
        email: form.email.value.trim(),
      });
      saveProfile({ id: updated.id, username: updated.username, email: updated.email });
      ctx.refreshChrome();
      return updated.message;
    },
    "Save profile",
  );
  const password = formCard(
    "password-form",
    "Password",
    [
      field("Current password", {
        name: "currentPassword",
        type: "password",
        autocomplete: "current-password",
      }),
      field(
        "New password",
        { name: "newPassword", type: "password", autocomplete: "new-password", minlength: "8" },
        "8 to 128 characters. Other devices are signed out.",
      ),
    ],
    async (form) => {
      const result = await api.changePassword(form.currentPassword.value, form.newPassword.value);
      adopt(result.token);
      form.reset();
      return result.message;
    },
    "Change password",
  );
  const hosting =
    user.role === "user"
      ? formCard(
          "host-form",
          "Become a host",
          [
            h(
              "p",
              { class: "muted" },
              "List your own place and take bookings. You can keep booking other places as a guest.",
            ),
          ],
          async () => {
            const result = await api.becomeHost();
            adopt(result.token);
            ctx.navigate("host", {
              message: `${result.message}. Create your first listing below.`,
              kind: "success",
            });
          },
          "Become a host",
        )
      : null;
  const remove = formCard(
    "delete-form",
    "Delete account",
    [
      h(
        "p",
        { class: "muted" },
        "Your name, email and password are erased. Past bookings stay, without your name, for the hosts' records.",
      ),
      field("Password", {
        name: "password",
        type: "password",
        autocomplete: "current-password",
        id: "f-delete-password",
      }),
    ],
    async (form) => {
      const ok = await confirmAction("Delete your account?", "This cannot be undone.", "Delete account");
      if (!ok) return null;
      await api.deleteAccount(form.password.value);
      ctx.logout({ message: "Your account was deleted.", kind: "info" });
      return null;
    },
    "Delete account",
  );
  remove.querySelector("button[type=submit]").className = "btn btn-danger";
  main.append(
    h("h1", { id: "view-title" }, "Account"),
    h("div", { class: "admin-grid" }, profile, password, hosting, remove),
  );
}

export function renderForgot(main) {
  const form = formCard(
    "forgot-form",
    "Forgot your password?",
    [field("Email", { name: "email", type: "email", autocomplete: "email" })],
    async (f) => (await api.requestReset(f.email.value.trim())).message,
    "Send reset link",
  );
  main.append(h("h1", { id: "view-title" }, "Reset password"), h("div", { class: "auth-card" }, form));
}

export function renderReset(main, ctx) {
  const token = ctx.query.get("token") || "";
  const form = formCard(
    "reset-form",
    "Choose a new password",
    [
      field("New password", {
        name: "newPassword",
        type: "password",
        autocomplete: "new-password",
        minlength: "8",
      }),
    ],
    async (f) => {
      const { message } = await api.confirmReset(token, f.newPassword.value);
      ctx.navigate("login", { message, kind: "success" });
    },
    "Set password",
  );
  main.append(h("h1", { id: "view-title" }, "Reset password"), h("div", { class: "auth-card" }, form));
}
