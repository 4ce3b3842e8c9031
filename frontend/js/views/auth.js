// Register and log-in forms; the server's error messages are shown as they come.
import { api } from "../api.js";
import { alertBox, busy, field, h } from "../dom.js";
import { saveProfile, saveToken } from "../session.js";

function authCard(title, form, footer) {
  return h(
    "section",
    { class: "auth-card card", "aria-labelledby": "view-title" },
    h("h1", { id: "view-title" }, title),
    form,
    h("p", { class: "muted" }, footer),
  );
}

export function renderLogin(main, ctx) {
  const alert = alertBox("login-alert");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Log in");
  const form = h(
    "form",
    { id: "login-form", class: "stack", novalidate: true },
    alert,
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Password", {
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    }),
    submit,
  );
  if (ctx.flash) alert.show(ctx.flash.message, ctx.flash.kind);
  const next = ctx.flash?.next || null;
  if (ctx.flash?.email) form.email.value = ctx.flash.email;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const email = form.email.value.trim();
    const password = form.password.value;
    if (!email || !password) return alert.show("Enter your email and password.");
    busy(submit, async () => {
      try {
        const { token } = await api.login(email, password);
        saveToken(token);
        // The profile only names the user in the header; without it the header shows "User #id".
        saveProfile(await api.profile().catch(() => null));
        ctx.onLogin(next);
      } catch (error) {
        alert.show(error.message);
        form.password.select();
      }
    });
  });
  main.append(
    authCard("Log in", form, [
      "New here? ",
      h("a", { href: "#/register" }, "Create an account"),
      " · ",
      h("a", { href: "#/forgot" }, "Forgot your password?"),
    ]),
  );
}

export function renderRegister(main, ctx) {
  const alert = alertBox("register-alert");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create account");
  const form = h(
    "form",
    { id: "register-form", class: "stack", novalidate: true },
    alert,
    field("Username", { name: "username", autocomplete: "username", required: true }),
    field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true }),
    submit,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const [username, email] = [form.username.value.trim(), form.email.value.trim()];
    const password = form.password.value;
    if (!username || !email || !password) return alert.show("Fill in username, email and password.");
    busy(submit, async () => {
      try {
        const { message } = await api.register(username, email, password);
        ctx.navigate("login", { message: `${message}. You can log in now.`, kind: "success", email });
      } catch (error) {
        alert.show(error.message);
      }
    });
  });
  main.append(
    authCard("Create an account", form, ["Already registered? ", h("a", { href: "#/login" }, "Log in")]),
  );
}
