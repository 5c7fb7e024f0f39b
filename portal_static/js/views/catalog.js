// The catalog (published and deprecated APIs) and one API with its OpenAPI document.

import { ApiError, api, config, fetchAll, isDeveloper } from "../api.js";
import { add, badge, field, h, table, time } from "../dom.js";
import { errorBox } from "../ui.js";
import { renderOpenApi } from "./openapi.js";

/**
 * The first steps, ticked off from what the developer has done: an account, an active
 * plan, a key, a call in the last 30 days. A visitor sees the same list, nothing ticked.
 */
async function gettingStarted() {
  const done = { account: false, plan: false, key: false, call: false };
  if (isDeveloper()) {
    done.account = true;
    const end = new Date().toISOString().slice(0, 10);
    const start = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    const [subs, keys, usage] = await Promise.all([
      fetchAll("/v1/me/subscriptions"), fetchAll("/v1/me/keys"),
      api("/v1/me/usage", { query: { granularity: "day", start, end } }).catch(() => null),
    ]);
    done.plan = subs.some((s) => s.status === "active");
    done.key = keys.some((k) => k.state === "active");
    done.call = Boolean(usage && usage.total.requests > 0);
  }
  const steps = [
    ["account", "Create a developer account", "#/signup", "Sign up"],
    ["plan", "Subscribe to a plan that grants the API", "#/plans", "Pick a plan"],
    ["key", "Create an API key (shown once: store it)", "#/keys", "Create a key"],
    ["call", "Make your first call with the key in the X-Api-Key header", "#/try", "Try it"],
  ];
  const count = steps.filter(([id]) => done[id]).length;
  if (count === steps.length) return null; // all done: out of the way
  return h("section", { class: "card checklist", "aria-labelledby": "start-title", "data-testid": "getting-started" },
    h("h2", { id: "start-title" }, "Getting started"),
    h("p", { class: "hint" }, `${count} of ${steps.length} steps done.`),
    h("ol", {}, steps.map(([id, text, href, action]) => h("li", { class: done[id] ? "done" : null, "data-step": id },
      h("span", { class: "check-mark", "aria-hidden": "true" }, done[id] ? "✓" : ""),
      h("span", {}, text, h("span", { class: "visually-hidden" }, done[id] ? " (done)" : " (to do)")),
      done[id] ? null : h("a", { href, class: "step-link" }, action)))));
}

function sortApis(apis) {
  return [...apis].sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version, "en", { numeric: true }));
}

function sunsetNote(item) {
  if (item.lifecycle !== "deprecated") return null;
  return h("p", { class: "sunset" }, "Deprecated · sunset ", time(item.sunset_at));
}

export async function list(view) {
  const apis = sortApis(await fetchAll("/v1/catalog"));
  add(view, 
    h("h1", {}, "API catalog"),
    h("p", { class: "lead" }, "Every API you can call through the Tollway gateway. Subscribe to a plan that grants an API, create a key, and call it at the gateway address."),
    await gettingStarted());
  if (!apis.length) {
    add(view, h("p", { class: "empty" }, "No API is published yet."));
    return;
  }
  add(view, h("ul", { class: "cards", "aria-label": "APIs" }, apis.map((item) =>
    h("li", { class: "card api-card", "data-api": item.id },
      h("div", { class: "card-head" },
        h("h2", {}, h("a", { href: `#/catalog/${encodeURIComponent(item.id)}` }, `${item.name} `, h("span", { class: "version" }, item.version))),
        badge(item.lifecycle)),
      h("p", {}, item.description || "No description."),
      h("p", { class: "meta" }, h("code", {}, item.base_path), ` · ${item.routes.length} route${item.routes.length === 1 ? "" : "s"}`),
      sunsetNote(item),
      h("a", { class: "more", href: `#/catalog/${encodeURIComponent(item.id)}` }, "Read the docs", h("span", { class: "visually-hidden" }, ` for ${item.name} ${item.version}`), h("span", { "aria-hidden": "true" }, " →"))))));
}

export async function detail(view, { args }) {
  const id = args[0];
  const item = await api(`/v1/catalog/${encodeURIComponent(id)}`);
  let doc = null;
  let docError = null;
  try {
    doc = await api(`/v1/catalog/${encodeURIComponent(id)}/openapi`);
  } catch (err) {
    docError = err;
  }
  const gatewayBase = `${config.gatewayUrl.replace(/\/$/, "")}${item.base_path}`;
  const keyInput = h("input", { type: "password", name: "key", spellcheck: "false", autocomplete: "off", placeholder: "tw_…" });
  add(view, 
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Catalog"), " / ", `${item.name} ${item.version}`),
    h("div", { class: "title-row" }, h("h1", {}, `${item.name} `, h("span", { class: "version" }, item.version)), badge(item.lifecycle)),
    h("p", { class: "lead" }, item.description || "No description."),
    item.lifecycle === "deprecated"
      ? h("div", { class: "alert alert-warn", role: "note" },
        h("p", {}, "This version is deprecated. It stops working on ", time(item.sunset_at, true),
          ". Responses carry Deprecation and Sunset headers; move to a newer version before then."))
      : null,
    h("dl", { class: "facts" },
      h("dt", {}, "Gateway address"), h("dd", {}, h("code", {}, gatewayBase)),
      h("dt", {}, "Lifecycle"), h("dd", {}, item.lifecycle),
      item.deprecated_at ? [h("dt", {}, "Deprecated"), h("dd", {}, time(item.deprecated_at, true))] : null,
      item.sunset_at ? [h("dt", {}, "Sunset"), h("dd", {}, time(item.sunset_at, true))] : null,
      h("dt", {}, "Authentication"), h("dd", {}, "Send your key in the ", h("code", {}, "X-Api-Key"), " header.")),
    h("section", { "aria-labelledby": "routes-title" },
      h("h2", { id: "routes-title" }, "Routes at the gateway"),
      table(["Method", "Path"], item.routes.map((r) =>
        h("tr", {}, h("td", {}, h("span", { class: ["method", `m-${r.method.toLowerCase()}`] }, r.method === "*" ? "ANY" : r.method)),
          h("td", {}, h("code", {}, `${item.base_path}${r.path}`)))), { caption: "Routes" })),
    h("section", { "aria-labelledby": "doc-title", class: "openapi" },
      h("h2", { id: "doc-title" }, "API reference"),
      doc ? [
        h("div", { class: "card key-bar" }, field("API key for “Try it”", keyInput,
          "Each operation below has code samples and a Try it form that calls the gateway with this key. It stays in this page: it is not stored.")),
        renderOpenApi(doc, { baseUrl: gatewayBase, keyInput })]
        : docError instanceof ApiError && docError.status === 404
          ? h("p", { class: "empty" }, "This API has no OpenAPI document yet. The routes above are what the gateway serves.")
          : errorBox(docError)));
}
