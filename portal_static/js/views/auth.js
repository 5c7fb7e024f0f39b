// Sign up, log in (developer e-mail + password, or the administrator's token).

import { api, setSession } from "../api.js";
import { add, field, h } from "../dom.js";
import { busy, flashNext, navigate } from "../ui.js";

function nextHash(query, fallback) {
  const next = query.get("next");
  // Only ever an in-portal route: never navigate to a URL taken from the address bar.
  return next && /^\/[A-Za-z0-9/_?=&%.-]*$/.test(next) ? `#${next}` : fallback;
}

async function startSession(session, query, fallback, message) {
  const me = await api("/v1/me", { token: session.access_token });
  setSession({
    kind: "developer", token: session.access_token, role: session.role,
    expiresAt: session.expires_at, accountId: session.account_id,
    consumerId: session.consumer_id, email: me.email,
  });
  flashNext(message);
  navigate(nextHash(query, fallback));
}

function input(props) {
  return h("input", { required: true, ...props });
}

export async function login(view, { query }) {
  const errors = h("div", { "aria-live": "assertive" });
  const email = input({ type: "email", name: "email", autocomplete: "username" });
  const password = input({ type: "password", name: "password", autocomplete: "current-password" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Log in");
  const form = h("form", { class: "card form", "aria-labelledby": "login-title", novalidate: false },
    h("h2", { id: "login-title" }, "Developer account"),
    errors, field("E-mail", email), field("Password", password),
    h("div", { class: "actions" }, submit),
    h("p", { class: "hint" }, "No account yet? ", h("a", { href: "#/signup" }, "Sign up")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      const session = await api("/v1/auth/login", {
        method: "POST", auth: false, body: { email: email.value.trim(), password: password.value },
      });
      await startSession(session, query, "#/keys", "You are logged in.");
    });
  });

  const adminErrors = h("div", { "aria-live": "assertive" });
  const token = input({ type: "password", name: "admin_token", autocomplete: "off", spellcheck: "false" });
  const adminSubmit = h("button", { type: "submit", class: "btn" }, "Log in as administrator");
  const adminForm = h("form", { class: "card form", "aria-labelledby": "admin-title" },
    h("h2", { id: "admin-title" }, "Administrator"),
    adminErrors,
    field("Admin token", token, "The token that “make run” printed (also in .tollway/local.json). It is kept in this tab only."),
    h("div", { class: "actions" }, adminSubmit));
  adminForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(adminSubmit, adminErrors, async () => {
      const value = token.value.trim();
      await api("/v1/admin/plans", { token: value, query: { limit: 1 } }); // proves the token
      setSession({ kind: "admin", token: value, role: "admin", email: "Administrator" });
      flashNext("You are logged in as an administrator.");
      navigate(nextHash(query, "#/admin"));
    });
  });

  add(view, 
    h("h1", {}, "Log in"),
    h("div", { class: "grid two" }, form, adminForm));
}

export async function signup(view, { query }) {
  const errors = h("div", { "aria-live": "assertive" });
  const email = input({ type: "email", name: "email", autocomplete: "email" });
  const name = h("input", { type: "text", name: "name", autocomplete: "organization", maxlength: "100" });
  const password = input({ type: "password", name: "password", autocomplete: "new-password", minlength: "12", maxlength: "256" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create account");
  const form = h("form", { class: "card form narrow", "aria-labelledby": "signup-title" },
    h("h2", { id: "signup-title" }, "Create a developer account"),
    errors,
    field("E-mail", email),
    field("Name (optional)", name, "Shown to administrators, e.g. your company or app. Defaults to your e-mail."),
    field("Password", password, "At least 12 characters."),
    h("div", { class: "actions" }, submit),
    h("p", { class: "hint" }, "Already registered? ", h("a", { href: "#/login" }, "Log in")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      const body = { email: email.value.trim(), password: password.value };
      if (name.value.trim()) body.name = name.value.trim();
      const session = await api("/v1/auth/signup", { method: "POST", auth: false, body });
      await startSession(session, query, "#/plans", "Welcome! Pick a plan to get access to the APIs, then create a key.");
    });
  });
  add(view, h("h1", {}, "Sign up"), form);
}
