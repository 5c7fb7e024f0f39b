// Calling the gateway from the portal: code samples per language, the request itself, and
// the response panel. Shared by "Try it" and the API reference.
//
// The gateway is on another origin, so the browser reads its answers only if it allows the
// portal (CORS). There is no probe call up front (it would be a 401 in every visitor's
// console): a request the browser cannot read says so when it happens and points at curl.

import { button, clear, copyText, h, nextId, table } from "./dom.js";
import { config } from "./api.js";
import { loading } from "./ui.js";

export const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const SHOWN_HEADERS = ["ratelimit", "ratelimit-policy", "retry-after", "deprecation", "sunset", "x-request-id", "content-type"];

export function gatewayBase() {
  return config.gatewayUrl.replace(/\/$/, "");
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, "'\\''")}'`;
}

const jsString = (s) => JSON.stringify(String(s));

/** curl, with the key inline when given (try it), else from $TOLLWAY_KEY. */
export function curlCommand({ method, url, key, body }) {
  const parts = ["curl -i"];
  if (method !== "GET") parts.push(`-X ${method}`);
  parts.push(key ? `-H ${shellQuote(`X-Api-Key: ${key}`)}` : `-H "X-Api-Key: $TOLLWAY_KEY"`);
  if (body && WITH_BODY.has(method)) parts.push(`-H 'Content-Type: application/json'`, `--data ${shellQuote(body)}`);
  parts.push(shellQuote(url));
  return parts.join(" ");
}

export function pythonSample({ method, url, body }) {
  const lines = ["import os", "", "import requests", "", `resp = requests.request(`,
    `    ${jsString(method)},`, `    ${jsString(url)},`,
    `    headers={"X-Api-Key": os.environ["TOLLWAY_KEY"]},`];
  if (body && WITH_BODY.has(method)) lines.push(`    json=${pythonLiteral(body)},`);
  lines.push("    timeout=30,", ")", "print(resp.status_code, resp.headers.get(\"RateLimit\"))", "print(resp.text)");
  return lines.join("\n");
}

function pythonLiteral(body) {
  try {
    return JSON.stringify(JSON.parse(body)).replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False").replace(/\bnull\b/g, "None");
  } catch {
    return `json.loads(${jsString(body)})`;
  }
}

export function javascriptSample({ method, url, body }) {
  const init = [`  method: ${jsString(method)},`, `  headers: {`, `    "X-Api-Key": process.env.TOLLWAY_KEY,`];
  if (body && WITH_BODY.has(method)) init.push(`    "Content-Type": "application/json",`, "  },", `  body: JSON.stringify(${body}),`);
  else init.push("  },");
  return [`const resp = await fetch(${jsString(url)}, {`, ...init, "});",
    "console.log(resp.status, resp.headers.get(\"RateLimit\"));", "console.log(await resp.text());"].join("\n");
}

/**
 * Tabs (WAI-ARIA tabs pattern): [[label, node]] -> a tab list and panels; arrow keys move
 * between tabs. Panels hold focusable content (the code, its copy button).
 */
export function tabs(label, items) {
  const id = nextId("tabs");
  const tabButtons = [];
  const panels = [];
  function select(i, focus) {
    tabButtons.forEach((t, j) => {
      t.setAttribute("aria-selected", String(i === j));
      t.tabIndex = i === j ? 0 : -1;
      panels[j].hidden = i !== j;
    });
    if (focus) tabButtons[i].focus();
  }
  items.forEach(([name, node], i) => {
    const tab = h("button", {
      type: "button", role: "tab", id: `${id}-tab-${i}`, "aria-controls": `${id}-panel-${i}`,
      class: "tab", on: { click: () => select(i, false) },
    }, name);
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) select((i + step + items.length) % items.length, true);
      else if (event.key === "Home") select(0, true);
      else if (event.key === "End") select(items.length - 1, true);
      else return;
      event.preventDefault();
    });
    tabButtons.push(tab);
    panels.push(h("div", { role: "tabpanel", id: `${id}-panel-${i}`, "aria-labelledby": `${id}-tab-${i}`, class: "tab-panel" }, node));
  });
  select(0, false);
  return h("div", { class: "tabs-widget" }, h("div", { role: "tablist", "aria-label": label, class: "tablist" }, tabButtons), panels);
}

/** Code samples for one request in curl, Python and JavaScript, each with a copy button. */
export function codeSamples(request, label = "Code samples") {
  const samples = [
    ["curl", curlCommand(request)],
    ["Python", pythonSample(request)],
    ["JavaScript", javascriptSample(request)],
  ];
  return h("div", { class: "code-samples", "data-testid": "code-samples" },
    tabs(label, samples.map(([name, code]) => {
      const status = h("span", { class: "copy-status", role: "status" });
      // Focusable: a long line scrolls, and keyboard users must be able to scroll it.
      const pre = h("pre", { class: "code", "data-lang": name, tabindex: "0", role: "region", "aria-label": `${name} sample` }, h("code", {}, code));
      return [name, [pre, h("div", { class: "actions" },
        button(`Copy ${name}`, { class: "btn btn-small", on: { click: async () => {
          status.textContent = (await copyText(code)) ? "Copied." : "Select the code and copy it by hand.";
        } } }), status)]];
    })));
}

/** Send one request to the gateway and show the answer in `slot`. */
export async function sendRequest(slot, { method, url, key, body }) {
  clear(slot, loading("Calling the gateway…"));
  try {
    const init = { method, headers: { "X-Api-Key": key }, credentials: "omit", cache: "no-store" };
    if (WITH_BODY.has(method) && body) {
      init.body = body;
      init.headers["Content-Type"] = "application/json";
    }
    const started = performance.now();
    const resp = await fetch(url, init);
    const text = await resp.text();
    showResponse(slot, resp, text, Math.round(performance.now() - started));
    return resp.status;
  } catch {
    clear(slot, h("div", { class: "alert alert-warn", role: "alert", "data-testid": "cors-note" },
      h("p", {}, "The browser could not read the gateway's answer: the gateway at ", h("code", {}, gatewayBase()),
        " did not allow this cross-origin call (CORS), or is not reachable. Run the curl command instead; it sends exactly this request.")));
    return 0;
  }
}

function showResponse(slot, resp, text, ms) {
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: show as received
  }
  const titleId = nextId("resp");
  const rows = SHOWN_HEADERS.map((name) => [name, resp.headers.get(name)]).filter(([, v]) => v !== null);
  clear(slot, h("section", { class: "card response", "aria-labelledby": titleId },
    h("h3", { id: titleId }, "Response"),
    h("p", { class: "status-line" }, h("span", { class: ["status", `status-${String(resp.status)[0]}xx`] }, String(resp.status)), ` ${resp.statusText} · ${ms} ms`),
    h("h4", {}, "Headers"),
    rows.length ? table(["Header", "Value"], rows.map(([n, v]) => h("tr", {}, h("th", { scope: "row" }, n), h("td", {}, h("code", {}, v)))), { caption: "Response headers" })
      : h("p", { class: "hint" }, "No rate-limit headers are readable: the gateway must list them in Access-Control-Expose-Headers."),
    h("h4", {}, "Body"),
    // Focusable: a long body scrolls, and keyboard users must be able to scroll it.
    h("pre", { class: "body", tabindex: "0", role: "region", "aria-label": "Response body" }, pretty || "(empty)")));
}
