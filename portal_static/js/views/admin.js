// The administrator's view: plans, API lifecycle, consumers, approvals, usage, audit log.

import { api, fetchAll } from "../api.js";
import { actionsCell, add, badge, button, clear, field, fmt, h, nextId, table, time } from "../dom.js";
import { busy, flash, loading, openDialog } from "../ui.js";
import { apisText, limitLines, priceLines, sortPlans } from "./plans.js";
import { WINDOWS, controls, drawUsage } from "./usage.js";
import * as analytics from "./analytics.js";
import * as billing from "./billing.js";
import * as policies from "./policies.js";

/**
 * Who is who: account id -> e-mail, consumer id -> {name, email}. From the admin lists
 * (bounded pages), so tables can show people instead of ids.
 */
async function directory() {
  const [accounts, consumers] = await Promise.all([
    fetchAll("/v1/admin/accounts").catch(() => []),
    fetchAll("/v1/admin/consumers").catch(() => []),
  ]);
  const emails = new Map(accounts.map((a) => [a.id, a.email]));
  const byConsumer = new Map(consumers.map((c) => [c.id, { ...c, email: emails.get(c.owner) || "" }]));
  return {
    emails,
    consumers: byConsumer,
    actor: (id) => (id === "admin-token" ? "Admin token" : emails.get(id) || id),
    consumer: (id) => byConsumer.get(id) || { id, name: id, email: "" },
  };
}

const LIMIT_LABELS = {
  rate_per_second: "per second", rate_per_minute: "per minute",
  quota_per_day: "per day", quota_per_month: "per month",
};

/** {"rate_per_minute": 100} -> ["100 requests per minute (plan: 5)"] */
function overrideLines(overrides, plan) {
  return Object.entries(overrides || {}).map(([name, value]) => {
    const unit = LIMIT_LABELS[name] || name;
    const now = value === null ? `no limit ${unit}` : `${fmt.n(value)} requests ${unit}`;
    const was = plan && plan[name] !== undefined ? (plan[name] === null ? "no limit" : fmt.n(plan[name])) : null;
    return was === null ? now : `${now} (plan: ${was})`;
  });
}

const TABS = [
  ["plans", "Plans"], ["apis", "APIs"], ["policies", "Policies"], ["consumers", "Consumers"],
  ["approvals", "Approvals"], ["billing", "Billing"], ["usage", "Usage"],
  ["analytics", "Analytics"], ["audit", "Audit log"],
];

export async function view(root, { args, query }) {
  const tab = args[0] || "plans";
  const known = TABS.find(([id]) => id === tab);
  const errors = h("div", { "aria-live": "assertive" });
  const body = h("div", { class: "admin-body" });
  add(root, 
    h("h1", {}, known ? `Admin · ${known[1]}` : "Admin"),
    h("nav", { class: "tabs", "aria-label": "Admin sections" }, h("ul", {}, TABS.map(([id, label]) =>
      h("li", {}, h("a", { href: `#/admin/${id}`, "aria-current": id === tab ? "page" : null }, label))))),
    errors, body);
  if (!known) {
    add(body, h("p", { class: "empty" }, "No such admin section."));
    return;
  }
  await SECTIONS[tab](body, errors, query);
}

// --- plans --------------------------------------------------------------------------------

const LIMITS = [
  ["rate_per_second", "Per second"], ["rate_per_minute", "Per minute"],
  ["quota_per_day", "Per day"], ["quota_per_month", "Per month"],
];

function planForm(plan, onDone, errors) {
  const p = plan || {};
  const num = (name, value, props = {}) => h("input", { type: "number", name, min: "0", step: "1", inputmode: "numeric", value: value ?? "", ...props });
  const dollars = (name, cents) => h("input", { type: "number", name, min: "0", step: "0.01", inputmode: "decimal", value: cents ? (cents / 100).toFixed(2) : "0" });
  const controlsByName = {
    name: h("input", { type: "text", name: "name", required: true, maxlength: "100", value: p.name || "" }),
    description: h("textarea", { name: "description", rows: "2", maxlength: "2000" }, p.description || ""),
    apis: h("input", { type: "text", name: "apis", value: (p.apis || []).join(", "), placeholder: "demo, billing — or * for every API" }),
    algorithm: h("select", { name: "algorithm" }, ["fixed", "sliding"].map((v) => h("option", { value: v, selected: (p.algorithm || "fixed") === v }, v === "fixed" ? "Fixed window" : "Sliding window"))),
    fail_mode: h("select", { name: "fail_mode" }, ["closed", "open"].map((v) => h("option", { value: v, selected: (p.fail_mode || "closed") === v }, v === "closed" ? "Fail closed (503)" : "Fail open (allow)"))),
    request_cost: num("request_cost", p.request_cost ?? 1, { min: "1", max: "1000", required: true }),
    monthly_fee: dollars("monthly_fee", p.monthly_fee_cents),
    included_requests: num("included_requests", p.included_requests ?? 0, { required: true }),
    overage: dollars("overage", p.overage_cents_per_1000),
    requires_approval: h("input", { type: "checkbox", name: "requires_approval", id: nextId("approval"), checked: Boolean(p.requires_approval) }),
  };
  for (const [name] of LIMITS) controlsByName[name] = num(name, p[name], { min: "1", placeholder: "no limit" });
  const c = controlsByName;
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, plan ? "Save changes" : "Create plan");
  const form = h("form", { class: "card form plan-form", "aria-labelledby": "plan-form-title" },
    h("h2", { id: "plan-form-title" }, plan ? `Edit plan “${plan.name}”` : "New plan"),
    h("div", { class: "row" }, field("Name", c.name), field("APIs granted", c.apis, "API names, comma-separated; * grants every API.")),
    field("Description", c.description),
    h("fieldset", {}, h("legend", {}, "Limits in requests (empty: no limit)"),
      h("div", { class: "row four" }, LIMITS.map(([name, label]) => field(label, c[name])))),
    h("fieldset", {}, h("legend", {}, "Price (US dollars)"),
      h("div", { class: "row" }, field("Monthly fee", c.monthly_fee), field("Included requests", c.included_requests), field("Overage per 1,000", c.overage))),
    h("div", { class: "row" }, field("Algorithm", c.algorithm), field("When the store is down", c.fail_mode), field("Cost per request", c.request_cost)),
    h("div", { class: "check" }, c.requires_approval, h("label", { for: c.requires_approval.id }, "Subscriptions need an administrator’s approval")),
    h("div", { class: "actions" },
      button("Cancel", { on: { click: () => onDone(false) } }), submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const int = (el) => (el.value.trim() === "" ? null : Number.parseInt(el.value, 10));
    const cents = (el) => Math.round(Number.parseFloat(el.value || "0") * 100);
    const body = {
      name: c.name.value.trim(), description: c.description.value.trim(),
      apis: c.apis.value.split(",").map((x) => x.trim()).filter(Boolean),
      algorithm: c.algorithm.value, fail_mode: c.fail_mode.value,
      request_cost: int(c.request_cost) ?? 1,
      monthly_fee_cents: cents(c.monthly_fee), included_requests: int(c.included_requests) ?? 0,
      overage_cents_per_1000: cents(c.overage), requires_approval: c.requires_approval.checked,
    };
    for (const [name] of LIMITS) body[name] = int(c[name]);
    busy(submit, errors, async () => {
      const saved = plan
        ? await api(`/v1/admin/plans/${encodeURIComponent(plan.id)}`, { method: "PATCH", body })
        : await api("/v1/admin/plans", { method: "POST", body });
      flash(plan ? `Plan “${saved.name}” saved. Gateways apply it within their cache TTL.` : `Plan “${saved.name}” created.`);
      onDone(true);
    });
  });
  return form;
}

async function plansSection(body, errors) {
  const formSlot = h("div", {});
  const listSlot = h("div", {}, loading());
  const newBtn = button("New plan", { class: "btn btn-primary" });

  function openForm(plan) {
    clear(formSlot, planForm(plan, async (changed) => {
      clear(formSlot);
      newBtn.focus();
      if (changed) await refresh();
    }, errors));
    formSlot.querySelector("input").focus();
  }
  newBtn.addEventListener("click", () => openForm(null));

  async function retire(plan, btn) {
    const ok = await openDialog({
      title: `Retire “${plan.name}”?`, danger: true, confirmLabel: "Retire plan",
      message: "Nobody can subscribe to it any more. Existing subscriptions keep working.",
    });
    if (ok) await busy(btn, errors, async () => {
      await api(`/v1/admin/plans/${encodeURIComponent(plan.id)}/retire`, { method: "POST" });
      flash(`Plan “${plan.name}” is retired.`);
      await refresh();
    });
  }

  async function refresh() {
    const plans = sortPlans(await fetchAll("/v1/admin/plans", { include_retired: true }));
    clear(listSlot, table(["Plan", "Price", "Limits", "APIs", "Approval", "State", "Actions"], plans.map((p) => {
      const price = priceLines(p);
      return h("tr", { "data-plan": p.id, class: p.retired ? "inactive" : null },
        h("th", { scope: "row" }, p.name, h("div", { class: "hint" }, h("code", {}, p.id))),
        h("td", {}, price.fee, price.lines.length ? h("div", { class: "hint" }, price.lines.join(", ")) : null),
        h("td", {}, limitLines(p).map((l) => h("div", {}, l))),
        h("td", {}, apisText(p.apis)),
        h("td", {}, p.requires_approval ? "required" : "—"),
        h("td", {}, p.retired ? badge("retired") : badge("open", "active")),
        actionsCell(p.retired ? null : [
          button("Edit", { "aria-label": `Edit ${p.name}`, on: { click: () => openForm(p) } }),
          button("Retire", { class: "btn btn-danger", "aria-label": `Retire ${p.name}`, on: { click: (e) => retire(p, e.currentTarget) } }),
        ]));
    }), { caption: "Plans", empty: "No plans yet." }));
  }
  add(body, h("div", { class: "toolbar" }, newBtn), formSlot, listSlot);
  await refresh();
}

// --- APIs ---------------------------------------------------------------------------------

const NEXT = {
  draft: ["published", "Publish", "It becomes visible in the catalog and callable at the gateway."],
  published: ["deprecated", "Deprecate…", "Callers get Deprecation and Sunset headers until the sunset date."],
  deprecated: ["retired", "Retire", "The gateway answers 410 Gone for every call. This cannot be undone."],
};

async function apisSection(body, errors) {
  const listSlot = h("div", {}, loading());

  async function transition(item, btn) {
    const [state, label, message] = NEXT[item.lifecycle];
    const content = [];
    let dateInput = null;
    if (state === "deprecated") {
      const min = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const suggested = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
      dateInput = h("input", { type: "date", name: "sunset", required: true, min, value: suggested });
      content.push(field("Sunset date (UTC)", dateInput, "After this date you can retire the version."));
    }
    const values = await openDialog({
      title: `${label.replace("…", "")} ${item.name} ${item.version}?`, message, content,
      confirmLabel: label.replace("…", ""), danger: state === "retired",
    });
    if (!values) return;
    const payload = { state };
    if (state === "deprecated") payload.sunset_at = `${values.sunset}T00:00:00Z`;
    await busy(btn, errors, async () => {
      await api(`/v1/admin/apis/${encodeURIComponent(item.id)}/lifecycle`, { method: "POST", body: payload });
      flash(`${item.name} ${item.version} is now ${state}.`);
      await refresh();
    });
  }

  async function upload(item, btn) {
    const text = h("textarea", { name: "document", rows: "12", required: true, spellcheck: "false", class: "mono", placeholder: "{\"openapi\": \"3.1.0\", \"info\": {…}, \"paths\": {…}}" });
    const values = await openDialog({
      title: `OpenAPI document for ${item.name} ${item.version}`,
      message: "Paste an OpenAPI 3.x document as JSON. It replaces the current one; developers read it in the catalog.",
      content: [field("Document (JSON)", text)], confirmLabel: "Store document",
    });
    if (!values) return;
    await busy(btn, errors, async () => {
      let doc;
      try {
        doc = JSON.parse(values.document);
      } catch (err) {
        throw new Error(`The document is not valid JSON: ${err.message}`);
      }
      const saved = await api(`/v1/admin/apis/${encodeURIComponent(item.id)}/openapi`, { method: "PUT", body: doc });
      flash(`Stored the OpenAPI document for ${item.name} ${item.version} (${fmt.n(saved.size)} bytes).`);
    });
  }

  async function refresh() {
    const apis = await fetchAll("/v1/admin/apis");
    apis.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, "en", { numeric: true }));
    clear(listSlot, table(["API", "Base path", "Lifecycle", "Sunset", "Routes", "Actions"], apis.map((a) =>
      h("tr", { "data-api": a.id, class: a.lifecycle === "retired" ? "inactive" : null },
        h("th", { scope: "row" }, `${a.name} `, h("span", { class: "version" }, a.version), h("div", { class: "hint" }, h("code", {}, a.id))),
        h("td", {}, h("code", {}, a.base_path)),
        h("td", {}, badge(a.lifecycle)),
        h("td", {}, a.sunset_at ? time(a.sunset_at) : "—"),
        h("td", {}, fmt.n(a.routes.length)),
        actionsCell(
          NEXT[a.lifecycle] ? button(NEXT[a.lifecycle][1], {
            class: a.lifecycle === "deprecated" ? "btn btn-danger" : "btn",
            "aria-label": `${NEXT[a.lifecycle][1].replace("…", "")} ${a.name} ${a.version}`,
            on: { click: (e) => transition(a, e.currentTarget) },
          }) : null,
          a.lifecycle !== "retired" ? button("OpenAPI…", { "aria-label": `Upload the OpenAPI document of ${a.name} ${a.version}`, on: { click: (e) => upload(a, e.currentTarget) } }) : null,
          h("a", { class: "btn", href: `#/admin/policies?api=${encodeURIComponent(a.id)}`, "aria-label": `Policies of ${a.name} ${a.version}` }, "Policies")))),
    { caption: "APIs", empty: "No APIs yet." }));
  }
  add(body, h("p", { class: "hint" }, "An API moves draft → published → deprecated (with a sunset date) → retired. Gateways apply a change within their cache TTL."), listSlot);
  await refresh();
}

// --- consumers ----------------------------------------------------------------------------

async function consumersSection(body, errors, query) {
  if (query.get("id")) {
    await consumerDetail(body, errors, query.get("id"));
    return;
  }
  const listSlot = h("div", {}, loading());
  const filter = h("select", { id: "consumer-status" },
    h("option", { value: "" }, "All"), h("option", { value: "active" }, "Active"), h("option", { value: "suspended" }, "Suspended"));
  filter.addEventListener("change", () => refresh());

  async function refresh() {
    const [consumers, people] = await Promise.all([
      fetchAll("/v1/admin/consumers", { status: filter.value }), directory(),
    ]);
    clear(listSlot, table(["Consumer", "Status", "Owner", "Created", "Actions"], consumers.map((c) =>
      h("tr", { "data-consumer": c.id },
        h("th", { scope: "row" }, h("a", { href: `#/admin/consumers?id=${encodeURIComponent(c.id)}` }, c.name), h("div", { class: "hint" }, h("code", {}, c.id))),
        h("td", {}, badge(c.status)),
        h("td", {}, c.owner ? people.actor(c.owner) : "— (made by an admin)"),
        h("td", {}, time(c.created_at)),
        actionsCell(
          h("a", { class: "btn", href: `#/admin/consumers?id=${encodeURIComponent(c.id)}`, "aria-label": `Subscriptions of ${c.name}` }, "Subscriptions"),
          h("a", { class: "btn", href: `#/admin/usage?consumer=${encodeURIComponent(c.id)}`, "aria-label": `Usage of ${c.name}` }, "Usage"),
          c.status === "active"
            ? button("Suspend", { class: "btn btn-danger", "aria-label": `Suspend ${c.name}`, on: { click: (e) => changeStatus(c, "suspend", e.currentTarget, errors, refresh) } })
            : button("Resume", { "aria-label": `Resume ${c.name}`, on: { click: (e) => changeStatus(c, "resume", e.currentTarget, errors, refresh) } })))),
    { caption: "Consumers", empty: "No consumers match." }));
  }
  add(body, h("div", { class: "toolbar" }, h("span", { class: "field inline" }, h("label", { for: "consumer-status" }, "Status"), filter)), listSlot);
  await refresh();
}

async function changeStatus(consumer, action, btn, errors, refresh) {
  const reason = h("textarea", { name: "reason", rows: "2", maxlength: "500" });
  const suspend = action === "suspend";
  const values = await openDialog({
    title: `${suspend ? "Suspend" : "Resume"} “${consumer.name}”?`, danger: suspend,
    message: suspend
      ? "Every key of this consumer is refused at the gateway (403) within a few seconds, and it cannot create keys or subscribe."
      : "Its keys work again within a few seconds.",
    content: [field("Reason (recorded in the audit log)", reason)],
    confirmLabel: suspend ? "Suspend consumer" : "Resume consumer",
  });
  if (!values) return;
  await busy(btn, errors, async () => {
    await api(`/v1/admin/consumers/${encodeURIComponent(consumer.id)}/${action}`, {
      method: "POST", body: { reason: values.reason || "" },
    });
    flash(`“${consumer.name}” is ${suspend ? "suspended" : "active again"}.`);
    await refresh();
  });
}

/** One consumer: who owns it, its subscriptions with plan and per-consumer overrides. */
async function consumerDetail(body, errors, id) {
  const [consumer, subs, plans, people] = await Promise.all([
    api(`/v1/admin/consumers/${encodeURIComponent(id)}`),
    fetchAll(`/v1/admin/consumers/${encodeURIComponent(id)}/subscriptions`),
    fetchAll("/v1/admin/plans", { include_retired: true }),
    directory(),
  ]);
  const planById = new Map(plans.map((p) => [p.id, p]));
  const order = { active: 0, pending: 1, cancelled: 2 };
  subs.sort((a, b) => order[a.status] - order[b.status] || b.created_at.localeCompare(a.created_at));
  add(body,
    h("p", { class: "crumbs" }, h("a", { href: "#/admin/consumers" }, "Consumers"), " / ", consumer.name),
    h("section", { class: "card", "aria-labelledby": "consumer-title", "data-testid": "consumer-detail" },
      h("h2", { id: "consumer-title" }, consumer.name, " ", badge(consumer.status)),
      h("dl", { class: "facts" },
        h("dt", {}, "Consumer id"), h("dd", {}, h("code", {}, consumer.id)),
        h("dt", {}, "Owner"), h("dd", {}, consumer.owner ? people.actor(consumer.owner) : "— (made by an admin)"),
        h("dt", {}, "Created"), h("dd", {}, time(consumer.created_at, true))),
      h("div", { class: "actions" },
        h("a", { class: "btn", href: `#/admin/usage?consumer=${encodeURIComponent(consumer.id)}` }, "Usage"),
        h("a", { class: "btn", href: `#/admin/billing?consumer=${encodeURIComponent(consumer.id)}` }, "Billing"),
        h("a", { class: "btn", href: `#/admin/audit?consumer_id=${encodeURIComponent(consumer.id)}` }, "Audit log"))),
    h("section", { "aria-labelledby": "consumer-subs" },
      h("h2", { id: "consumer-subs" }, "Subscriptions"),
      table(["Plan", "Status", "Limits", "Overrides", "Since"], subs.map((s) => {
        const plan = planById.get(s.plan_id);
        const overrides = overrideLines(s.overrides, plan);
        return h("tr", { "data-subscription": s.id, class: s.status === "cancelled" ? "inactive" : null },
          h("th", { scope: "row" }, plan ? plan.name : s.plan_id, plan && plan.retired ? [" ", badge("retired")] : null, h("div", { class: "hint" }, h("code", {}, s.id))),
          h("td", {}, badge(s.status === "pending" ? "pending approval" : s.status, s.status === "cancelled" ? "revoked" : s.status)),
          h("td", {}, plan ? limitLines(plan).map((l) => h("div", {}, l)) : "—"),
          h("td", { "data-testid": "overrides" }, overrides.length ? overrides.map((l) => h("div", {}, l)) : "None"),
          h("td", {}, time(s.created_at)));
      }), { caption: `Subscriptions of ${consumer.name}`, empty: "This consumer has no subscriptions." })));
}

// --- approvals ----------------------------------------------------------------------------

async function approvalsSection(body, errors) {
  const listSlot = h("div", {}, loading());
  async function decide(sub, action, btn) {
    await busy(btn, errors, async () => {
      await api(`/v1/admin/subscriptions/${encodeURIComponent(sub.id)}/${action}`, { method: "POST" });
      flash(`Subscription ${sub.id} ${action === "approve" ? "approved" : "rejected"}.`);
      await refresh();
    });
  }
  async function refresh() {
    const [subs, people, plans] = await Promise.all([
      fetchAll("/v1/admin/subscriptions", { status: "pending" }),
      directory(),
      fetchAll("/v1/admin/plans", { include_retired: true }),
    ]);
    const planNames = new Map(plans.map((p) => [p.id, p.name]));
    clear(listSlot, table(["Consumer", "Plan", "Requested", "Actions"], subs.map((s) =>
      h("tr", { "data-subscription": s.id },
        h("th", { scope: "row" }, h("a", { href: `#/admin/consumers?id=${encodeURIComponent(s.consumer_id)}` }, people.consumer(s.consumer_id).name),
          h("div", { class: "hint" }, people.consumer(s.consumer_id).email || h("code", {}, s.consumer_id))),
        h("td", {}, planNames.get(s.plan_id) || h("code", {}, s.plan_id)),
        h("td", {}, time(s.created_at, true)),
        actionsCell(
          button("Approve", { class: "btn btn-primary", "aria-label": `Approve ${people.consumer(s.consumer_id).name}: ${planNames.get(s.plan_id) || s.plan_id}`, on: { click: (e) => decide(s, "approve", e.currentTarget) } }),
          button("Reject", { class: "btn btn-danger", "aria-label": `Reject ${people.consumer(s.consumer_id).name}: ${planNames.get(s.plan_id) || s.plan_id}`, on: { click: (e) => decide(s, "reject", e.currentTarget) } })))),
    { caption: "Subscriptions awaiting approval", empty: "No subscription is waiting for approval." }));
  }
  add(body, listSlot);
  await refresh();
}

// --- usage --------------------------------------------------------------------------------

async function usageSection(body, errors, query) {
  const state = { granularity: "day", days: 30 };
  const topSlot = h("div", {}, loading());
  const consumerSlot = h("div", { "aria-live": "polite" });
  const focus = query.get("consumer");

  async function drawTop() {
    const end = new Date().toISOString().slice(0, 10);
    const start = new Date(Date.now() - (WINDOWS.day.days - 1) * 86_400_000).toISOString().slice(0, 10);
    const top = await api("/v1/admin/usage/top", { query: { start, end, limit: 20 } });
    const max = Math.max(1, ...top.items.map((t) => t.requests));
    clear(topSlot, h("h2", {}, "Top consumers, last 30 days"), table(["#", "Consumer", "Requests", "2xx", "4xx", "5xx", "Avg latency", ""], top.items.map((t, i) => {
      const bar = h("span", { class: "meter-fill" });
      bar.style.width = `${(100 * t.requests) / max}%`; // CSSOM, allowed by the CSP
      return h("tr", { "data-consumer": t.consumer.id },
        h("td", {}, String(i + 1)),
        h("th", { scope: "row" }, h("a", { href: `#/admin/usage?consumer=${encodeURIComponent(t.consumer.id)}` }, t.consumer.name), " ", t.consumer.status === "suspended" ? badge("suspended") : null),
        h("td", {}, fmt.n(t.requests)),
        h("td", {}, fmt.n(t.by_status["2xx"] || 0)),
        h("td", {}, fmt.n(t.by_status["4xx"] || 0)),
        h("td", {}, fmt.n(t.by_status["5xx"] || 0)),
        h("td", {}, `${fmt.n(Math.round(t.avg_latency_ms))} ms`),
        h("td", { class: "meter-cell", "aria-hidden": "true" }, h("span", { class: "meter" }, bar)));
    }), { caption: "Top consumers", empty: "No calls in the last 30 days." }));
  }

  async function draw(btn) {
    await busy(btn, errors, async () => {
      await drawTop();
      if (focus) {
        const consumer = await api(`/v1/admin/consumers/${encodeURIComponent(focus)}`);
        const slot = h("div", {});
        clear(consumerSlot, h("h2", {}, `Usage of ${consumer.name}`), slot);
        await drawUsage(slot, { path: "/v1/admin/usage", query: { consumer_id: focus }, granularity: state.granularity, title: `Requests by ${consumer.name}` });
      }
    });
  }
  add(body, controls(state, draw), consumerSlot, topSlot);
  await draw();
}

// --- audit --------------------------------------------------------------------------------

async function auditSection(body, errors, query) {
  const inputs = Object.fromEntries(["action", "actor", "consumer_id", "target_id"].map((name) =>
    [name, h("input", { type: "text", name, maxlength: "100", value: query.get(name) || "", spellcheck: "false" })]));
  const tbody = h("tbody", {});
  const more = button("Load more", { hidden: true });
  let cursor = null;

  let people = null;

  /** Two rows per entry: the facts, and (on demand) the before/after documents full width. */
  function rows(e) {
    const who = people.actor(e.actor);
    const consumer = e.consumer_id ? people.consumer(e.consumer_id) : null;
    const detailsId = `audit-${e.id}`;
    const hasChanges = Boolean(e.before || e.after);
    const toggle = hasChanges ? button("Changes", {
      class: "btn btn-small", "aria-expanded": "false", "aria-controls": detailsId,
      "aria-label": `Changes of ${e.action} ${e.target_id}`,
      on: { click: () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        detail.hidden = !open;
      } },
    }) : null;
    const detail = h("tr", { class: "audit-detail", id: detailsId, hidden: true },
      h("td", { colspan: "6" }, h("div", { class: "changes" },
        e.before ? h("div", {}, h("h4", {}, "Before"), h("pre", { tabindex: "0", role: "region", "aria-label": `Before ${e.action}` }, JSON.stringify(e.before, null, 2))) : null,
        e.after ? h("div", {}, h("h4", {}, "After"), h("pre", { tabindex: "0", role: "region", "aria-label": `After ${e.action}` }, JSON.stringify(e.after, null, 2))) : null)));
    return [h("tr", { "data-audit": e.id },
      h("td", { class: "nowrap" }, time(e.at, true)),
      h("td", { class: "who" }, h("span", { "data-testid": "actor", title: e.actor }, who), h("div", { class: "hint" }, e.actor_role)),
      h("th", { scope: "row" }, h("code", {}, e.action)),
      h("td", {}, `${e.target_type} `, h("code", {}, e.target_id),
        consumer ? h("div", { class: "hint" }, "of ", h("a", { href: `#/admin/consumers?id=${encodeURIComponent(consumer.id)}` }, consumer.name), consumer.email ? ` (${consumer.email})` : "") : null),
      h("td", {}, e.note || "—"),
      h("td", {}, toggle || "—")), hasChanges ? detail : null];
  }

  async function load(reset, btn) {
    await busy(btn, errors, async () => {
      if (reset) { cursor = null; clear(tbody); }
      const q = { limit: 50, cursor };
      people = people || await directory();
      for (const [name, el] of Object.entries(inputs)) q[name] = el.value.trim();
      if (q.actor.includes("@")) { // an e-mail: the log is filtered by account id
        const found = [...people.emails].find(([, email]) => email === q.actor.toLowerCase());
        q.actor = found ? found[0] : q.actor;
      }
      const page = await api("/v1/admin/audit", { query: q });
      for (const e of page.items) tbody.append(...rows(e).filter(Boolean));
      if (!tbody.children.length) tbody.append(h("tr", {}, h("td", { colspan: "6", class: "empty" }, "No entries match.")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    });
  }
  more.addEventListener("click", () => load(false, more));
  const apply = h("button", { type: "submit", class: "btn btn-primary" }, "Filter");
  const form = h("form", { class: "filters", "aria-label": "Filter the audit log" },
    field("Action", inputs.action, "e.g. key.revoke"), field("Actor (e-mail or id)", inputs.actor),
    field("Consumer id", inputs.consumer_id), field("Target id", inputs.target_id),
    h("div", { class: "actions" }, apply));
  form.addEventListener("submit", (event) => { event.preventDefault(); load(true, apply); });
  add(body, form,
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Audit log" },
      h("table", { class: "audit" },
        h("caption", { class: "visually-hidden" }, "Audit log, newest first"),
        h("thead", {}, h("tr", {}, ["When", "Who", "Action", "Target", "Note", "Changes"].map((x) => h("th", { scope: "col" }, x)))),
        tbody)),
    h("div", { class: "actions" }, more));
  await load(true);
}

const SECTIONS = {
  plans: plansSection, apis: apisSection, consumers: consumersSection,
  approvals: approvalsSection, usage: usageSection, audit: auditSection,
  policies: policies.section, billing: billing.adminSection, analytics: analytics.section,
};
