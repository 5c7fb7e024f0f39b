// Admin: an API's gateway policies (docs/policies.md): read them as sentences per kind, edit
// them as JSON, save with PATCH /v1/admin/apis/{id}; the server validates (422 with the
// field) and gateways apply a change within their cache TTL.

import { api, fetchAll } from "../api.js";
import { add, badge, clear, fmt, h, nextId, table } from "../dom.js";
import { busy, flash, loading } from "../ui.js";

const KINDS = ["transform", "cors", "ip", "max_body_bytes", "anonymous", "limits", "cost",
  "traffic", "cache", "validate"];
const KIND_LABELS = {
  transform: "Transform", cors: "CORS", ip: "IP allow/deny", max_body_bytes: "Body size",
  anonymous: "Public (anonymous)", limits: "Extra limits", cost: "Cost", traffic: "Traffic",
  cache: "Response cache", validate: "Validation",
};
const WINDOWS = { rate_per_second: "a second", rate_per_minute: "a minute", quota_per_day: "a day", quota_per_month: "a month" };

/** Drop nulls (unset) recursively, so the JSON shows only what is set. */
export function compact(v) {
  if (Array.isArray(v)) return v.map(compact);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = compact(x);
    return out;
  }
  return v;
}

const list = (xs) => (xs || []).join(", ");
const bytes = (n) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB` : `${fmt.n(n)} bytes`);

function windows(rule) {
  return Object.entries(WINDOWS).filter(([k]) => rule[k] !== undefined && rule[k] !== null)
    .map(([k, w]) => `${fmt.n(rule[k])} ${w}`).join(", ");
}

function headerOps(ops, where) {
  if (!ops) return [];
  const parts = [];
  if (ops.remove && ops.remove.length) parts.push(`remove ${list(ops.remove)}`);
  if (ops.rename && Object.keys(ops.rename).length) parts.push(`rename ${Object.entries(ops.rename).map(([a, b]) => `${a} → ${b}`).join(", ")}`);
  if (ops.set && Object.keys(ops.set).length) parts.push(`set ${Object.entries(ops.set).map(([a, b]) => `${a}: ${b}`).join(", ")}`);
  return parts.length ? [`${where}: ${parts.join("; ")}`] : [];
}

/** One policy kind as a sentence an administrator can read at a glance. */
export function describe(kind, v) {
  switch (kind) {
    case "transform": {
      const parts = [...headerOps(v.request_headers, "request headers"), ...headerOps(v.response_headers, "response headers")];
      if (v.strip_prefix || v.add_prefix) parts.push(`upstream path: ${v.strip_prefix ? `strip ${v.strip_prefix}` : ""}${v.strip_prefix && v.add_prefix ? ", " : ""}${v.add_prefix ? `add ${v.add_prefix}` : ""}`);
      if (v.query_remove && v.query_remove.length) parts.push(`query: remove ${list(v.query_remove)}`);
      if (v.query_set && Object.keys(v.query_set).length) parts.push(`query: set ${Object.keys(v.query_set).join(", ")}`);
      return parts.join(". ") || "No changes.";
    }
    case "cors":
      return [`Origins ${list(v.origins) || "none"}`, v.methods ? `methods ${list(v.methods)}` : null,
        v.headers && v.headers.length ? `headers ${list(v.headers)}` : null,
        v.expose && v.expose.length ? `exposes ${list(v.expose)}` : null,
        v.credentials ? "with credentials" : null, v.max_age !== undefined ? `preflight cached ${fmt.n(v.max_age)} s` : null]
        .filter(Boolean).join("; ") + ".";
    case "ip":
      return [v.allow && v.allow.length ? `Only from ${list(v.allow)}` : "From anywhere",
        v.deny && v.deny.length ? `except ${list(v.deny)} (403)` : null].filter(Boolean).join(", ") + ".";
    case "max_body_bytes":
      return `Request bodies up to ${bytes(v)}; larger ones get 413.`;
    case "anonymous":
      return `Public: no key needed; ${windows(v)} per client IP.`;
    case "limits":
      return v.length ? v.map((r) => `${windows(r)} by ${r.by}${r.header ? ` (${r.header})` : ""}${r.shadow ? " — shadow: counts, never denies" : ""}`).join("; ") + "." : "None.";
    case "cost":
      return v === 0 ? "Free: requests count 0 units." : `Each request counts ${fmt.n(v)} unit${v === 1 ? "" : "s"}.`;
    case "traffic": {
      const parts = [];
      if (v.timeout_seconds !== undefined) parts.push(`timeout ${v.timeout_seconds} s`);
      if (v.retries !== undefined) parts.push(`${v.retries} retr${v.retries === 1 ? "y" : "ies"}${v.retry_unsafe ? " (also unsafe methods)" : ""}`);
      if (v.sticky) parts.push("sticky per consumer");
      if (v.breaker) parts.push(`circuit breaker at ${Math.round(100 * (v.breaker.failure_rate ?? 0.5))} % failures`);
      return parts.join(", ") + (parts.length ? "." : "Defaults.");
    }
    case "cache":
      return [`Cached ${fmt.n(v.ttl_seconds)} s`, v.shared ? "shared by every consumer" : "per consumer",
        v.vary_query === false ? "ignoring the query" : "varying on the query",
        v.vary_headers && v.vary_headers.length ? `and on ${list(v.vary_headers)}` : null,
        v.private ? "private answers kept too" : null].filter(Boolean).join(", ") + ".";
    case "validate":
      return `Requests checked against the OpenAPI document: ${["body", "query", "path"].filter((k) => v[k]).join(", ")}.`;
    default:
      return JSON.stringify(v);
  }
}

/** A <dl> with one line per kind set, or a sentence when none is. */
export function summary(policies) {
  const p = compact(policies || {});
  const kinds = Object.keys(p).sort((a, b) => KINDS.indexOf(a) - KINDS.indexOf(b));
  if (!kinds.length) return h("p", { class: "empty" }, "None.");
  return h("dl", { class: "facts policy-summary" }, kinds.map((k) => [
    h("dt", {}, KIND_LABELS[k] || k), h("dd", {}, describe(k, p[k]))]));
}

const routeKey = (r) => `${r.method} ${r.path}`;
const pretty = (v) => JSON.stringify(v, null, 2);

/** The list: every API with what it sets, linking to its editor. */
async function listView(body) {
  const apis = await fetchAll("/v1/admin/apis");
  add(body,
    h("p", { class: "hint" }, "Policies act at the gateway per API (defaults for every route) and per route (a kind set on a route replaces the API's). See docs/policies.md."),
    table(["API", "State", "API-wide", "Routes with their own", ""], apis.map((a) => {
      const own = a.routes.filter((r) => r.policies && Object.keys(compact(r.policies)).length);
      const kinds = Object.keys(compact(a.policies || {}));
      return h("tr", { "data-api": a.id },
        h("th", { scope: "row" }, `${a.name} ${a.version}`, h("div", { class: "hint" }, h("code", {}, a.id))),
        h("td", {}, badge(a.lifecycle)),
        h("td", {}, kinds.length ? kinds.map((k) => KIND_LABELS[k] || k).join(", ") : "—"),
        h("td", {}, own.length ? own.map((r) => h("div", {}, h("code", {}, routeKey(r)))) : "—"),
        h("td", { class: "actions-cell" }, h("a", { class: "btn btn-small", href: `#/admin/policies?api=${encodeURIComponent(a.id)}`, "aria-label": `Policies of ${a.name} ${a.version}` }, "Policies")));
    }), { caption: "APIs and their policies", empty: "No APIs yet." }));
}

/** A labelled JSON textarea with its own error slot next to it. */
function jsonField(label, value, hint) {
  const id = nextId("policies");
  const area = h("textarea", {
    id, name: id, rows: "12", spellcheck: "false", class: "code-input",
    autocomplete: "off", "aria-describedby": `${id}-hint ${id}-error`,
  });
  area.value = value;
  const error = h("div", { class: "field-error", id: `${id}-error`, role: "alert" });
  return {
    area, error,
    node: h("div", { class: "field" }, h("label", { for: id }, label), area,
      h("p", { class: "hint", id: `${id}-hint` }, hint), error),
    show(messages) {
      clear(error, messages && messages.length ? h("ul", {}, messages.map((m) => h("li", {}, m))) : null);
      if (messages && messages.length) area.setAttribute("aria-invalid", "true");
      else area.removeAttribute("aria-invalid");
    },
  };
}

/** "Value error, policies.cache.ttl_seconds: …" -> "policies.cache.ttl_seconds: …" */
const clean = (detail) => String(detail).replace(/^Value error,\s*/, "");

async function editor(body, errors, apiId) {
  const slot = h("div", {}, loading());
  add(body, h("p", { class: "crumbs" }, h("a", { href: "#/admin/policies" }, "Policies"), " / ", apiId), slot);

  async function draw() {
    const a = await api(`/v1/admin/apis/${encodeURIComponent(apiId)}`);
    const routePolicies = Object.fromEntries(a.routes.map((r) => [routeKey(r), r.policies ? compact(r.policies) : null]));
    const apiField = jsonField(`API-wide policies of ${a.name} ${a.version} (JSON)`, pretty(compact(a.policies || {})),
      "An object with any of: transform, cors, ip, max_body_bytes, anonymous, limits, cost, traffic, cache, validate. {} clears them.");
    const routeField = jsonField("Route policies (JSON)", pretty(routePolicies),
      "One entry per route, \"METHOD /path\": its own policies (null: none). Routes cannot be added or removed here.");
    const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save policies");
    const form = h("form", { class: "card form policy-form", "aria-labelledby": "policy-edit-title", novalidate: true },
      h("h2", { id: "policy-edit-title" }, "Edit"),
      apiField.node, routeField.node,
      h("p", { class: "hint" }, "The management API validates every field and answers with what is wrong and where. A saved change reaches every gateway within its cache TTL (TOLLWAY_CACHE_TTL, 5 s by default; warm instances rebuild their route table then)."),
      h("div", { class: "actions" }, save));

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      apiField.show(null);
      routeField.show(null);
      const read = (f) => {
        const text = f.area.value.trim();
        try {
          return [text ? JSON.parse(text) : {}, null];
        } catch (err) {
          return [null, `Not valid JSON: ${err.message}`];
        }
      };
      const [apiPolicies, apiErr] = read(apiField);
      const [routesDoc, routeErr] = read(routeField);
      if (apiErr) apiField.show([apiErr]);
      if (routeErr) routeField.show([routeErr]);
      if (!apiErr && (apiPolicies === null || typeof apiPolicies !== "object" || Array.isArray(apiPolicies))) {
        apiField.show(["Policies are a JSON object: {} for none."]);
        return;
      }
      const unknown = routeErr ? [] : Object.keys(routesDoc || {}).filter((k) => !(k in routePolicies));
      if (!routeErr && (routesDoc === null || typeof routesDoc !== "object" || Array.isArray(routesDoc))) {
        routeField.show(["Route policies are a JSON object keyed by \"METHOD /path\"."]);
        return;
      }
      if (unknown.length) routeField.show([`No such route: ${unknown.join(", ")}. Add routes through the API's definition.`]);
      if (apiErr || routeErr || unknown.length) {
        (apiErr ? apiField : routeField).area.focus();
        return;
      }
      const patch = { policies: apiPolicies };
      const changedRoutes = a.routes.some((r) => JSON.stringify(routesDoc[routeKey(r)] ?? null) !== JSON.stringify(routePolicies[routeKey(r)] ?? null));
      if (changedRoutes) {
        patch.routes = a.routes.map((r) => ({
          method: r.method, path: r.path, scopes: r.scopes, policies: routesDoc[routeKey(r)] ?? null,
        }));
      }
      busy(save, null, async () => {
        try {
          await api(`/v1/admin/apis/${encodeURIComponent(a.id)}`, { method: "PATCH", body: patch });
        } catch (err) {
          if (err.status < 400 || err.status >= 500) throw err;
          const apiMsgs = [], routeMsgs = [];
          for (const f of err.fields) {
            const m = /^routes\[(\d+)\]/.exec(f.field);
            if (m) routeMsgs.push(`${a.routes[Number(m[1])] ? routeKey(a.routes[Number(m[1])]) : f.field}: ${clean(f.detail)}`);
            else apiMsgs.push(clean(f.detail));
          }
          if (!apiMsgs.length && !routeMsgs.length) apiMsgs.push(err.message);
          if (apiMsgs.length) apiField.show([err.status === 422 && !err.fields.length ? err.message : null, ...apiMsgs].filter(Boolean));
          if (routeMsgs.length) routeField.show(routeMsgs);
          (apiMsgs.length ? apiField : routeField).area.focus();
          return;
        }
        flash(`Policies of ${a.name} ${a.version} saved. Gateways apply them within their cache TTL.`);
        await draw();
      });
    });

    clear(slot,
      h("section", { class: "card", "aria-labelledby": "policy-now-title", "data-testid": "policy-summary" },
        h("h2", { id: "policy-now-title" }, `${a.name} ${a.version} `, badge(a.lifecycle)),
        h("h3", { class: "small" }, "Every route"),
        summary(a.policies),
        a.routes.map((r) => {
          const own = r.policies && Object.keys(compact(r.policies)).length;
          return own ? [h("h3", { class: "small" }, h("code", {}, routeKey(r)), " (replaces the API's kinds it sets)"), summary(r.policies)] : null;
        }),
        a.routes.some((r) => r.policies && Object.keys(compact(r.policies)).length) ? null
          : h("p", { class: "hint" }, "No route sets its own policies.")),
      form);
  }
  await busy(null, errors, draw);
}

/** #/admin/policies[?api=…] */
export async function section(body, errors, query) {
  const apiId = query.get("api");
  if (apiId) await editor(body, errors, apiId);
  else await listView(body);
}
