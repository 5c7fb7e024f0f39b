// Billing: statements (the open month is a preview), one statement as a table, its CSV, and
// for administrators per consumer: closing a month and the reconciliation table.
// Amounts are integer cents from the API (docs/billing.md); they are only formatted here.

import { api, fetchAll } from "../api.js";
import { add, badge, button, field, fmt, h, table } from "../dom.js";
import { busy, flashNext, navigate, openDialog } from "../ui.js";

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];
const formats = new Map();

/** 12345 cents -> "$123.45" in the statement's currency. */
export function money(cents, currency = "USD") {
  if (!formats.has(currency)) {
    formats.set(currency, new Intl.NumberFormat("en-US", { style: "currency", currency }));
  }
  return formats.get(currency).format((cents || 0) / 100);
}

/** "2026-11" -> "November 2026" */
export function monthName(period) {
  const [y, m] = String(period).split("-").map(Number);
  return MONTHS[m - 1] ? `${MONTHS[m - 1]} ${y}` : String(period);
}

/** Seconds in force as days: "30 days", "3.3 days", "less than 0.1 day". */
export function days(seconds) {
  const d = seconds / 86_400;
  if (d > 0 && d < 0.05) return "less than 0.1 day";
  const text = Number.isInteger(d) ? fmt.n(d) : d.toFixed(1);
  return `${text} day${text === "1" ? "" : "s"}`;
}

const epochIso = (s) => (s ? new Date(s * 1000).toISOString() : null);

export function statusBadge(status) {
  return status === "open" ? badge("preview") : badge("final");
}

/** Save `text` as a file through a temporary blob link (the API needs the bearer token, so a
 * plain link to the CSV would not be authorised). */
function saveFile(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A "Download CSV" button for one statement (`base`: …/billing or …/billing/{consumer}). */
function csvButton(base, period, consumer, errors) {
  const btn = button("Download CSV", {
    class: "btn btn-small", "data-testid": "csv",
    "aria-label": `Download CSV of the ${monthName(period)} statement`,
  });
  btn.addEventListener("click", () => busy(btn, errors, async () => {
    const text = await api(`${base}/statement`, { query: { period, format: "csv" }, raw: true });
    saveFile(`statement-${consumer}-${period}.csv`, text, "text/csv");
  }));
  return btn;
}

/** The statements list: period, status, total, a link to each and its CSV. */
function statementsTable(items, { base, link, consumer, errors, current }) {
  return table(["Period", "Status", "Total", "Actions"], items.map((s) =>
    h("tr", { "data-period": s.period, class: s.period === current ? "selected" : null },
      h("th", { scope: "row" }, h("a", { href: link(s.period), "aria-current": s.period === current ? "true" : null }, monthName(s.period))),
      h("td", {}, statusBadge(s.status)),
      h("td", { class: "num" }, money(s.total_cents, s.currency)),
      h("td", { class: "actions-cell" }, h("div", { class: "row-actions" }, csvButton(base, s.period, consumer, errors))))),
  { caption: "Statements, newest first", empty: "No statements yet." });
}

/** One statement: a line per (subscription, plan), unbilled usage, the total. */
export function statementView(st, { base, errors }) {
  const c = st.currency;
  const lines = st.lines.map((l) => h("tr", { "data-line": l.subscription_id },
    h("th", { scope: "row" }, l.plan_name, h("div", { class: "hint" }, h("code", {}, l.subscription_id))),
    h("td", { class: "num" }, days(l.seconds)),
    h("td", { class: "num" }, money(l.fee_cents, c), h("div", { class: "hint" }, `${money(l.monthly_fee_cents, c)} a month`)),
    h("td", { class: "num" }, fmt.n(l.units)),
    h("td", { class: "num" }, fmt.n(l.allowance)),
    h("td", { class: "num" }, money(l.overage_cents, c), h("div", { class: "hint" }, `${fmt.n(l.overage_units)} units over`)),
    h("td", { class: "num" }, money(l.total_cents, c))));
  const unbilled = Object.entries(st.unbilled_units_by_api || {});
  const open = st.status === "open";
  return h("section", { class: "card statement", "aria-labelledby": "statement-title", "data-testid": "statement" },
    h("div", { class: "card-head" },
      h("h2", { id: "statement-title" }, `Statement for ${monthName(st.period)} `, statusBadge(st.status)),
      csvButton(base, st.period, st.consumer_id, errors)),
    h("p", { class: "meta" }, open
      ? ["A preview: it moves with usage until the month ends and is closed. Computed ", h("time", { datetime: new Date(st.computed_at * 1000).toISOString() }, fmt.dateTime(epochIso(st.computed_at))), "."]
      : ["Final: closed ", h("time", { datetime: epochIso(st.closed_at) }, fmt.dateTime(epochIso(st.closed_at))), "; it never changes."]),
    st.lines.length ? h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Statement lines, ${monthName(st.period)}` },
      h("table", { class: "statement-table" },
        h("caption", { class: "visually-hidden" }, `Statement lines, ${monthName(st.period)}`),
        h("thead", {}, h("tr", {}, ["Plan", "In force", "Fee", "Units", "Allowance", "Overage", "Total"].map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", {}, lines),
        h("tfoot", {}, h("tr", {},
          h("th", { scope: "row", colspan: "6" }, "Total"),
          h("td", { class: "num", "data-testid": "statement-total" }, money(st.total_cents, c))))))
      : h("p", { class: "empty" }, `No subscription was active in ${monthName(st.period)}: nothing to pay (${money(0, c)}).`),
    unbilled.length ? h("p", { class: "hint", "data-testid": "unbilled" },
      "Usage no active subscription covered (reported, never charged): ",
      unbilled.map(([a, n]) => `${a}: ${fmt.n(n)} units`).join(", "), ".") : null,
    h("p", { class: "hint" }, "In force: the days the plan applies in the month (for a preview, up to the month's end). Fees are prorated by the second; the allowance (included requests) likewise, rounded up in the developer's favour. Units are request costs; overage is priced per 1,000 units above the allowance."));
}

// --- developer ----------------------------------------------------------------------------

export async function view(root, { query }) {
  const errors = h("div", { "aria-live": "assertive" });
  const list = await api("/v1/me/billing/statements");
  const current = query.get("period") || (list.items[0] && list.items[0].period);
  const st = current
    ? await api("/v1/me/billing/statement", { query: { period: current } })
    : null;
  add(root,
    h("h1", {}, "Billing"),
    h("p", { class: "lead" }, "What you owe per calendar month (UTC): the current month is a preview until it is closed. Amounts in US dollars."),
    errors,
    st ? statementView(st, { base: "/v1/me/billing", errors }) : null,
    h("section", { "aria-labelledby": "statements-title" },
      h("h2", { id: "statements-title" }, "Statements"),
      statementsTable(list.items, {
        base: "/v1/me/billing", consumer: "me", errors, current,
        link: (p) => `#/billing?period=${encodeURIComponent(p)}`,
      })));
}

// --- administrator --------------------------------------------------------------------------

const DIFF_LABELS = {
  "admitted-metered": "admitted − metered",
  "metered-billed": "metered − billed",
  unbilled: "unbilled",
};

function lastMonth() {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** Admitted vs metered vs billed per API, differences highlighted with their causes. */
export function reconciliationView(r) {
  const differing = new Map();
  for (const d of r.differences) {
    if (!differing.has(d.api)) differing.set(d.api, new Set());
    differing.get(d.api).add(d.between);
  }
  const mark = (api, between, value) => {
    const hit = differing.has(api) && between.some((b) => differing.get(api).has(b));
    return h("td", { class: ["num", hit ? "diff" : null] }, value, hit ? h("span", { class: "visually-hidden" }, " (differs)") : null);
  };
  const n = (x) => (x === null || x === undefined ? "not kept" : fmt.n(x));
  return h("section", { class: "card", "aria-labelledby": "recon-title", "data-testid": "reconciliation" },
    h("h2", { id: "recon-title" }, `Reconciliation, ${monthName(r.period)} `, statusBadge(r.statement_status)),
    h("p", { class: "meta" }, "Units per API: what the gateway admitted (its ledger), what metering recorded, what the statement bills."),
    table(["API", "Admitted", "Metered", "Billed", "Unbilled"], r.rows.map((row) =>
      h("tr", { "data-api": row.api, class: differing.has(row.api) ? "has-diff" : null },
        h("th", { scope: "row" }, row.api),
        mark(row.api, ["admitted-metered"], n(row.admitted)),
        mark(row.api, ["admitted-metered", "metered-billed"], n(row.metered)),
        mark(row.api, ["metered-billed"], n(row.billed)),
        mark(row.api, ["unbilled"], n(row.unbilled)))),
    { caption: "Admitted, metered and billed units per API", empty: "No usage in this period." }),
    r.differences.length
      ? [h("h3", { class: "diff-title" }, `${r.differences.length} difference${r.differences.length === 1 ? "" : "s"}`),
        table(["API", "Between", "Units", "Cause"], r.differences.map((d) =>
          h("tr", { class: "has-diff", "data-difference": d.between },
            h("th", { scope: "row" }, d.api),
            h("td", {}, DIFF_LABELS[d.between] || d.between),
            h("td", { class: "num" }, (d.units > 0 ? "+" : "") + fmt.n(d.units)),
            h("td", {}, d.cause))),
        { caption: "Differences and their causes" })]
      : h("p", { class: "alert alert-ok", "data-testid": "recon-agrees" }, "Everything agrees: no differences."),
    r.notes.length ? h("ul", { class: "hint" }, r.notes.map((x) => h("li", {}, x))) : null);
}

async function pickConsumer(body) {
  const consumers = await fetchAll("/v1/admin/consumers");
  add(body,
    h("p", { class: "hint" }, "Pick a consumer to see its statements, close a month and reconcile it."),
    table(["Consumer", "Status", ""], consumers.map((c) => h("tr", { "data-consumer": c.id },
      h("th", { scope: "row" }, c.name, h("div", { class: "hint" }, h("code", {}, c.id))),
      h("td", {}, badge(c.status)),
      h("td", { class: "actions-cell" }, h("a", { class: "btn btn-small", href: `#/admin/billing?consumer=${encodeURIComponent(c.id)}`, "aria-label": `Billing of ${c.name}` }, "Billing")))),
    { caption: "Consumers", empty: "No consumers yet." }));
}

/** #/admin/billing[?consumer=…&period=…] */
export async function adminSection(body, errors, query) {
  const id = query.get("consumer");
  if (!id) {
    await pickConsumer(body);
    return;
  }
  const base = `/v1/admin/billing/${encodeURIComponent(id)}`;
  const [consumer, list] = await Promise.all([
    api(`/v1/admin/consumers/${encodeURIComponent(id)}`),
    api(`${base}/statements`),
  ]);
  const period = query.get("period") || (list.items[0] && list.items[0].period);
  const [st, recon] = await Promise.all([
    api(`${base}/statement`, { query: { period } }),
    api(`${base}/reconciliation`, { query: { period } }),
  ]);
  const link = (p) => `#/admin/billing?consumer=${encodeURIComponent(id)}&period=${encodeURIComponent(p)}`;

  const month = h("input", { type: "month", name: "period", required: true, value: lastMonth(), max: lastMonth() });
  const closeBtn = h("button", { type: "submit", class: "btn" }, "Close month…");
  const closeForm = h("form", { class: "toolbar close-form", "aria-label": "Close a month" },
    field("Month to close (UTC)", month, "Only a month that has ended; closing again answers the same statement."), closeBtn);
  closeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const p = month.value;
    if (!/^\d{4}-\d{2}$/.test(p)) return;
    const ok = await openDialog({
      title: `Close ${monthName(p)} for “${consumer.name}”?`, confirmLabel: "Close the month",
      message: "The statement is computed now and frozen: later usage shows in reconciliation, never on it. This cannot be undone.",
    });
    if (!ok) return;
    await busy(closeBtn, errors, async () => {
      const closed = await api(`${base}/close`, { method: "POST", query: { period: p } });
      flashNext(`${monthName(p)} is closed for “${consumer.name}”: ${money(closed.total_cents, closed.currency)}.`);
      navigate(link(p));
    });
  });

  add(body,
    h("p", { class: "crumbs" }, h("a", { href: "#/admin/billing" }, "Billing"), " / ",
      h("a", { href: `#/admin/consumers?id=${encodeURIComponent(id)}` }, consumer.name)),
    statementView(st, { base, errors }),
    reconciliationView(recon),
    h("section", { "aria-labelledby": "statements-title" },
      h("h2", { id: "statements-title" }, `Statements of ${consumer.name}`),
      statementsTable(list.items, { base, link, consumer: id, errors, current: period }),
      closeForm));
}
