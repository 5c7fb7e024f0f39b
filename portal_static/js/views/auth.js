// Sign up, log in (developer e-mail + password, or the administrator's token), and the
// mailed links: verify an e-mail address, reset a forgotten password.

import { api, clearSession, getSession, isDeveloper, setSession } from "../api.js";
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
    consumerId: session.consumer_id, email: me.email, emailVerified: me.email_verified,
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
    h("p", { class: "hint" }, h("a", { href: "#/forgot" }, "Forgot password?")),
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

// --- mailed links: password reset and e-mail verification ------------------------------------

/** The token of a mailed link, then out of the address bar (and so out of the history). */
function takeToken(query, route) {
  const token = query.get("token") || "";
  if (token) history.replaceState(null, "", `#/${route}`);
  return token;
}

export async function forgot(view) {
  const errors = h("div", { "aria-live": "assertive" });
  const email = input({ type: "email", name: "email", autocomplete: "username" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Send the link");
  const form = h("form", { class: "card form narrow", "aria-labelledby": "forgot-title" },
    h("h2", { id: "forgot-title" }, "Reset your password"),
    errors,
    field("E-mail", email, "The address of your developer account. We mail it a link that works once, for 30 minutes."),
    h("div", { class: "actions" }, submit),
    h("p", { class: "hint" }, "Remembered it? ", h("a", { href: "#/login" }, "Log in")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      const sent = await api("/v1/auth/password-reset", {
        method: "POST", auth: false, body: { email: email.value.trim() },
      });
      const done = h("div", { class: "card form narrow", "data-testid": "reset-requested" },
        h("h2", { tabindex: "-1" }, "Check your e-mail"),
        h("p", { role: "status" }, sent.detail),
        h("p", { class: "hint" }, "Nothing after a few minutes? Check the spam folder, or ", h("a", { href: "#/forgot", on: { click: (e) => { e.preventDefault(); navigate("#/forgot"); } } }, "ask again"), "."));
      form.replaceWith(done);
      done.querySelector("h2").focus();
    });
  });
  add(view, h("h1", {}, "Forgot password"), form);
}

export async function reset(view, { query }) {
  const token = query.get("token") || "";
  if (!token) {
    add(view, h("h1", {}, "Choose a new password"),
      h("div", { class: "alert alert-error", role: "alert" },
        h("p", {}, "This page needs the link from the password reset e-mail. ", h("a", { href: "#/forgot" }, "Ask for a new link"), ".")));
    return;
  }
  const errors = h("div", { "aria-live": "assertive" });
  const password = input({ type: "password", name: "new_password", autocomplete: "new-password", minlength: "12", maxlength: "256" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Set the new password");
  const form = h("form", { class: "card form narrow", "aria-labelledby": "reset-title" },
    h("h2", { id: "reset-title" }, "Your account"),
    errors,
    field("New password", password, "At least 12 characters; several unrelated words work well. Every session of the account is logged out."),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      await api("/v1/auth/password-reset/confirm", {
        method: "POST", auth: false, body: { token, new_password: password.value },
      });
      history.replaceState(null, "", "#/reset");
      if (isDeveloper()) clearSession(); // the server refuses its sessions from now on
      flashNext("Your password is changed and every session was logged out. Log in with the new password.");
      navigate("#/login");
    });
  });
  add(view, h("h1", {}, "Choose a new password"), form);
}

export async function verify(view, { query }) {
  const token = takeToken(query, "verify");
  add(view, h("h1", {}, "Verify your e-mail address"));
  const ask = h("p", {}, isDeveloper()
    ? ["Use the banner above to get a new link."]
    : [h("a", { href: "#/login" }, "Log in"), " to ask for a new link."]);
  if (!token) {
    add(view, h("div", { class: "alert alert-error", role: "alert" },
      h("p", {}, "This page needs the link from the verification e-mail.")), ask);
    return;
  }
  try {
    const done = await api("/v1/auth/verify", { method: "POST", auth: false, body: { token } });
    const session = getSession();
    if (session && session.kind === "developer" && session.email === done.email) {
      setSession({ ...session, emailVerified: true });
    }
    add(view, h("div", { class: "alert alert-ok", role: "status", "data-testid": "verified" },
      h("p", {}, `${done.email} is verified. Thank you!`)),
    h("p", {}, isDeveloper() ? h("a", { href: "#/plans" }, "Pick a plan") : h("a", { href: "#/login" }, "Log in")));
  } catch (err) {
    add(view, h("div", { class: "alert alert-error", role: "alert" }, h("p", {}, err.message)), ask);
  }
}

/** A notice above every page for a developer whose address is not verified yet. */
export function verifyBanner() {
  const session = getSession();
  if (!session || session.kind !== "developer" || session.emailVerified !== false) return null;
  const status = h("span", { role: "status", class: "hint" });
  const resend = h("button", { type: "button", class: "btn" }, "Re-send the link");
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    status.textContent = "";
    try {
      const sent = await api("/v1/me/verification", { method: "POST" });
      status.textContent = sent.detail;
    } catch (err) {
      status.textContent = err.message;
      if (err.status === 409) setSession({ ...session, emailVerified: true }); // verified elsewhere
    } finally {
      resend.disabled = false;
    }
  });
  return h("section", { class: "alert alert-info", "aria-label": "E-mail verification", "data-testid": "verify-banner" },
    h("p", {}, `Please verify ${session.email}: open the link we mailed to it. Until then you can browse, but creating keys and subscribing may be refused.`),
    h("div", { class: "actions" }, resend, status));
}
