// The portal shell: a hash router, the navigation and the session indicator.

import { clearSession, config, getSession, isAdmin, isDeveloper } from "./api.js";
import { clear, h } from "./dom.js";
import { errorBox, flash, flashNext, loading, navigate, takeFlash } from "./ui.js";
import * as admin from "./views/admin.js";
import * as auth from "./views/auth.js";
import * as billing from "./views/billing.js";
import * as catalog from "./views/catalog.js";
import * as keys from "./views/keys.js";
import * as plans from "./views/plans.js";
import * as tryit from "./views/tryit.js";
import * as usage from "./views/usage.js";

// [pattern, view, who may see it ("any", "developer", "admin")]
const ROUTES = [
  [/^\/$/, catalog.list, "any"],
  [/^\/catalog$/, catalog.list, "any"],
  [/^\/catalog\/([^/]+)$/, catalog.detail, "any"],
  [/^\/plans$/, plans.list, "any"],
  [/^\/login$/, auth.login, "any"],
  [/^\/signup$/, auth.signup, "any"],
  [/^\/forgot$/, auth.forgot, "any"],
  [/^\/reset$/, auth.reset, "any"],
  [/^\/verify$/, auth.verify, "any"],
  [/^\/keys$/, keys.view, "developer"],
  [/^\/usage$/, usage.view, "developer"],
  [/^\/billing$/, billing.view, "developer"],
  [/^\/try$/, tryit.view, "developer"],
  [/^\/admin(?:\/([a-z]+))?$/, admin.view, "admin"],
];

const NAV = [
  ["#/", "Catalog", "any", /^\/(catalog.*)?$/],
  ["#/plans", "Plans", "any", /^\/plans$/],
  ["#/keys", "Keys", "developer", /^\/keys$/],
  ["#/usage", "Usage", "developer", /^\/usage$/],
  ["#/billing", "Billing", "developer", /^\/billing$/],
  ["#/try", "Try it", "developer", /^\/try$/],
  ["#/admin", "Admin", "admin", /^\/admin/],
];

function allowed(who) {
  if (who === "any") return true;
  if (who === "developer") return isDeveloper();
  return isAdmin();
}

function currentPath() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const [path, qs] = raw.split("?");
  return { path: decodeURI(path) || "/", query: new URLSearchParams(qs || "") };
}

function renderNav(path) {
  const list = document.getElementById("nav");
  clear(list, NAV.filter(([, , who]) => allowed(who)).map(([href, label, , active]) =>
    h("li", {}, h("a", { href, "aria-current": active.test(path) ? "page" : null }, label))));
  const account = document.getElementById("account");
  const session = getSession();
  if (!session) {
    clear(account,
      h("a", { href: "#/login", class: "btn btn-quiet" }, "Log in"),
      h("a", { href: "#/signup", class: "btn btn-primary" }, "Sign up"));
    return;
  }
  const who = session.kind === "admin" ? "Administrator (admin token)" : session.email || "Developer";
  clear(account,
    h("span", { class: "who", title: who }, who),
    h("button", { type: "button", class: "btn btn-quiet", on: { click: logout } }, "Log out"));
}

function logout() {
  clearSession();
  flashNext("You are logged out. The session token was removed from this tab.");
  navigate("#/login");
}

let generation = 0;

async function render() {
  if (location.hash && !location.hash.startsWith("#/")) return; // in-page anchors (skip link)
  const { path, query } = currentPath();
  const pending = takeFlash();
  flash(pending ? pending[0] : null, pending ? pending[1] : undefined);
  const main = document.getElementById("main");
  renderNav(path);
  const match = ROUTES.map(([re, view, who]) => [re.exec(path), view, who]).find(([m]) => m);
  const mine = ++generation;
  const view = h("div", { class: "view" });
  if (!config) {
    clear(main, errorBox(new Error("config.js did not load, so the portal does not know where the management API is. Serve the portal with the Tollway stack (make run).")));
    return;
  }
  if (!match) {
    clear(main, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the catalog")));
    main.querySelector("h1").focus();
    return;
  }
  const [m, fn, who] = match;
  if (!allowed(who)) {
    const next = encodeURIComponent(location.hash.slice(1));
    flashNext(who === "admin" ? "That page is for administrators: log in with the admin token." : "Log in to see that page.", "info");
    location.replace(`#/login?next=${next}`);
    return;
  }
  clear(main, loading());
  try {
    await fn(view, { args: m.slice(1), query });
  } catch (err) {
    clear(view, h("h1", { tabindex: "-1" }, "Something went wrong"), errorBox(err));
  }
  if (mine !== generation) return; // a newer navigation won
  clear(main, auth.verifyBanner(), view);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    if (!document.querySelector("dialog[open]")) heading.focus({ preventScroll: true });
  }
  document.title = `${heading ? heading.textContent : "Portal"} · Tollway developer portal`;
}

window.addEventListener("hashchange", render);
window.addEventListener("tollway:expired", () => {
  flashNext("Your session has ended or is no longer valid. Log in again.", "info");
  if (!location.hash.startsWith("#/login")) location.hash = "#/login";
  else render();
});
window.addEventListener("tollway:session", () => renderNav(currentPath().path));

window.addEventListener("tollway:navigate", render);
render();
