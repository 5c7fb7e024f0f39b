// Try a call: pick a route of an API your plans grant, paste a key, send it to the gateway.
//
// The gateway is on another origin. A browser may only read its answer if the gateway sends
// CORS headers (and, for the X-Api-Key header, answers the preflight). The view checks that
// once and, when it cannot call, says so and offers the same request as a curl command.

import { config, fetchAll } from "../api.js";
import { add, button, clear, copyText, field, h, table } from "../dom.js";
import { loading } from "../ui.js";

const SHOWN_HEADERS = ["ratelimit", "ratelimit-policy", "retry-after", "deprecation", "sunset", "x-request-id", "content-type"];
const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function gatewayBase() {
  return config.gatewayUrl.replace(/\/$/, "");
}

/** Does the gateway let this page read cross-origin answers? One unauthenticated GET. */
async function gatewayAllowsCors() {
  try {
    await fetch(`${gatewayBase()}/`, { method: "GET", mode: "cors", credentials: "omit", cache: "no-store" });
    return true; // any readable answer (a 401, most likely) proves Access-Control-Allow-Origin
  } catch {
    return false;
  }
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, "'\\''")}'`;
}

export function curlCommand({ method, url, key, body }) {
  const parts = ["curl -i"];
  if (method !== "GET") parts.push(`-X ${method}`);
  parts.push(`-H ${shellQuote(`X-Api-Key: ${key || "<your key>"}`)}`);
  if (body && WITH_BODY.has(method)) parts.push(`-H 'Content-Type: application/json'`, `--data ${shellQuote(body)}`);
  parts.push(shellQuote(url));
  return parts.join(" ");
}

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
  const [apis, cors] = await Promise.all([grantedApis(), gatewayAllowsCors()]);
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
  const curl = h("textarea", { class: "curl", readonly: true, rows: "3", spellcheck: "false", "data-testid": "curl", "aria-label": "curl command" });
  const copyStatus = h("span", { class: "copy-status", role: "status" });
  const result = h("div", { class: "try-result", "aria-live": "polite" });

  function url() {
    const p = path.value.trim();
    return `${gatewayBase()}${p.startsWith("/") ? p : `/${p}`}`;
  }
  function update() {
    bodyField.hidden = !WITH_BODY.has(method.value);
    curl.value = curlCommand({ method: method.value, url: url(), key: key.value.trim(), body: body.value.trim() });
  }
  function pick() {
    const [ai, ri] = routeSelect.value.split(":").map(Number);
    const api = apis[ai];
    const route = api.routes[ri];
    method.value = route.method === "*" ? "GET" : route.method;
    path.value = examplePath(api, route);
    update();
  }
  for (const el of [method, path, key, body]) el.addEventListener("input", update);
  method.addEventListener("change", update);
  routeSelect.addEventListener("change", pick);

  const send = h("button", { type: "submit", class: "btn btn-primary", disabled: !cors }, "Send request");
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
    clear(result, loading("Calling the gateway…"));
    try {
      const init = { method: method.value, headers: { "X-Api-Key": key.value.trim() }, credentials: "omit", cache: "no-store" };
      if (WITH_BODY.has(method.value) && body.value.trim()) {
        init.body = body.value;
        init.headers["Content-Type"] = "application/json";
      }
      const started = performance.now();
      const resp = await fetch(url(), init);
      const text = await resp.text();
      showResponse(result, resp, text, Math.round(performance.now() - started));
    } catch {
      clear(result, h("div", { class: "alert alert-warn", role: "alert" },
        h("p", {}, "The browser could not read the gateway's answer: the gateway did not allow this cross-origin call (CORS). Run the curl command below instead.")));
    } finally {
      send.disabled = !cors;
    }
  });

  add(root, 
    cors ? null : h("div", { class: "alert alert-warn", role: "note", "data-testid": "cors-note" },
      h("p", {}, "The gateway at ", h("code", {}, gatewayBase()), " does not send CORS headers, so this page cannot call it from your browser. ",
        "Copy the ready-made curl command below and run it in a terminal; it sends exactly the request you build here.")),
    form,
    h("section", { class: "card", "aria-labelledby": "curl-title" },
      h("h2", { id: "curl-title" }, "The same request with curl"),
      curl,
      h("div", { class: "actions" },
        button("Copy command", { class: "btn", on: { click: async () => {
          copyStatus.textContent = (await copyText(curl.value, curl)) ? "Copied." : "Select the command and copy it by hand.";
        } } }), copyStatus)),
    result);
  pick();
}

function showResponse(slot, resp, text, ms) {
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: show as received
  }
  const rows = SHOWN_HEADERS.map((name) => [name, resp.headers.get(name)]).filter(([, v]) => v !== null);
  clear(slot, h("section", { class: "card", "aria-labelledby": "resp-title" },
    h("h2", { id: "resp-title" }, "Response"),
    h("p", { class: "status-line" }, h("span", { class: ["status", `status-${String(resp.status)[0]}xx`] }, String(resp.status)), ` ${resp.statusText} · ${ms} ms`),
    h("h3", { class: "small" }, "Headers"),
    rows.length ? table(["Header", "Value"], rows.map(([n, v]) => h("tr", {}, h("th", { scope: "row" }, n), h("td", {}, h("code", {}, v)))), { caption: "Response headers" })
      : h("p", { class: "hint" }, "No rate-limit headers are readable: the gateway must list them in Access-Control-Expose-Headers."),
    h("h3", { class: "small" }, "Body"),
    h("pre", { class: "body" }, pretty || "(empty)")));
}
