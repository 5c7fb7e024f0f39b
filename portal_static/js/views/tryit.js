// Try a call: pick a route of an API your plans grant, paste a key, send it to the gateway.
//
// The gateway is on another origin: the browser can read its answer only if the gateway
// allows this page (CORS). Nothing is probed up front (js/gateway.js says why); a call the
// browser cannot read says so, and the same request is always there as curl, Python and
// JavaScript.

import { fetchAll } from "../api.js";
import { add, field, h } from "../dom.js";
import { WITH_BODY, codeSamples, gatewayBase, sendRequest } from "../gateway.js";

export { curlCommand } from "../gateway.js";

/** The APIs the active subscriptions grant, as [{api, routes}] from the public catalog. */
async function grantedApis() {
  const [subs, plans, apis] = await Promise.all([
    fetchAll("/v1/me/subscriptions"), fetchAll("/v1/plans"), fetchAll("/v1/catalog"),
  ]);
  const active = new Set(subs.filter((s) => s.status === "active").map((s) => s.plan_id));
  const names = new Set(plans.filter((p) => active.has(p.id)).flatMap((p) => p.apis));
  return apis.filter((a) => names.has("*") || names.has(a.name))
    .sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version, "en", { numeric: true }));
}

function examplePath(api, route) {
  // "/echo/*" -> "/echo/hello"; "{code}" placeholders stay for the user to fill in.
  return `${api.base_path}${route.path.replace(/\/\*$/, "/hello").replace(/\*/g, "x")}`;
}

export async function view(root) {
  const apis = await grantedApis();
  add(root, 
    h("h1", {}, "Try it"),
    h("p", { class: "lead" }, "Call an API through the gateway with one of your keys. The key you paste stays in this form: it is not stored."));
  if (!apis.length) {
    add(root, h("div", { class: "alert alert-info", role: "note" },
      h("p", {}, "None of your active plans grants an API yet. ", h("a", { href: "#/plans" }, "Subscribe to a plan"), " (a plan awaiting approval does not count).")));
    return;
  }

  const routeSelect = h("select", { name: "route", id: "try-route" },
    apis.map((api, ai) => h("optgroup", { label: `${api.name} ${api.version} (${api.base_path})${api.lifecycle === "deprecated" ? " — deprecated" : ""}` },
      api.routes.map((r, ri) => h("option", { value: `${ai}:${ri}` }, `${r.method === "*" ? "ANY" : r.method} ${api.base_path}${r.path}`)))));
  const method = h("select", { name: "method", id: "try-method" },
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].map((m) => h("option", { value: m }, m)));
  const path = h("input", { type: "text", name: "path", id: "try-path", required: true, spellcheck: "false", autocomplete: "off" });
  const key = h("input", { type: "password", name: "key", id: "try-key", required: true, spellcheck: "false", autocomplete: "off", placeholder: "tw_…" });
  const body = h("textarea", { name: "body", id: "try-body", rows: "4", spellcheck: "false", placeholder: "{\"hello\": \"world\"}" });
  const bodyField = field("Request body (JSON)", body);
  const samples = h("div", {});
  const result = h("div", { class: "try-result", "aria-live": "polite" });

  function url() {
    const p = path.value.trim();
    return `${gatewayBase()}${p.startsWith("/") ? p : `/${p}`}`;
  }
  function update() {
    bodyField.hidden = !WITH_BODY.has(method.value);
    const request = { method: method.value, url: url(), body: body.value.trim() };
    const shown = samples.querySelector("[aria-selected=true]")?.textContent;
    samples.replaceChildren(codeSamples(request, "The same request as code"));
    if (shown) samples.querySelector(`[role=tab]:nth-child(${["curl", "Python", "JavaScript"].indexOf(shown) + 1})`)?.click();
  }
  function pick() {
    const [ai, ri] = routeSelect.value.split(":").map(Number);
    const api = apis[ai];
    const route = api.routes[ri];
    method.value = route.method === "*" ? "GET" : route.method;
    path.value = examplePath(api, route);
    update();
  }
  for (const el of [method, path, body]) el.addEventListener("input", update);
  method.addEventListener("change", update);
  routeSelect.addEventListener("change", pick);

  const send = h("button", { type: "submit", class: "btn btn-primary" }, "Send request");
  const form = h("form", { class: "card form", "aria-labelledby": "try-title" },
    h("h2", { id: "try-title" }, "Request"),
    field("Route", routeSelect, "Routes of the APIs your active plans grant."),
    h("div", { class: "row" }, field("Method", method), field("Path at the gateway", path, "Replace placeholders such as {code} with real values.")),
    field("API key", key, "Paste a key you stored when you created it."),
    bodyField,
    h("div", { class: "actions" }, send));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      await sendRequest(result, { method: method.value, url: url(), key: key.value.trim(), body: body.value.trim() });
    } finally {
      send.disabled = false;
    }
  });

  add(root,
    form,
    h("section", { class: "card", "aria-labelledby": "code-title" },
      h("h2", { id: "code-title" }, "The same request as code"),
      h("p", { class: "hint" }, "The samples read your key from the TOLLWAY_KEY environment variable."),
      samples),
    result);
  pick();
}
