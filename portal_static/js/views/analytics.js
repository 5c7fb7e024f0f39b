// Admin analytics: requests per hour by status class, latency p50/p95/p99, a table per route
// with error rates; deprecated versions that are still called (with "notify"); the outbox.

import { api, fetchAll } from "../api.js";
import { add, badge, button, clear, field, fmt, h, table, time } from "../dom.js";
import { CLASSES, addDays, isoDay, lineChart, periods, stackedBars, utcToday } from "../chart.js";
import { busy, flash, openDialog } from "../ui.js";

const MAX_DAYS = 31; // what the API serves in one report
const PCTS = [["p50_ms", "p50"], ["p95_ms", "p95"], ["p99_ms", "p99"]];
const HIGH_ERROR_RATE = 0.05;

const ms = (v) => (v === null || v === undefined ? "—" : `${v < 10 ? v.toFixed(1) : fmt.n(Math.round(v))} ms`);
const pct = (r) => `${(100 * r).toFixed(r > 0 && r < 0.001 ? 2 : 1)} %`;
const dayOf = (iso) => new Date(`${iso}T00:00:00Z`);

/** Requests per hour, stacked by status class (the same chart as usage). */
function hourChart(rows, start, end, title) {
  const buckets = periods(dayOf(start), dayOf(end), "hour").map((b) => ({ ...b, counts: {} }));
  const byKey = new Map(buckets.map((b) => [b.key, b]));
  for (const r of rows) {
    const b = byKey.get(r.hour);
    if (b) b.counts[r.status_class] = (b.counts[r.status_class] || 0) + r.requests;
  }
  return stackedBars(buckets, { title });
}

function errorRateCell(r) {
  const high = r.error_rate >= HIGH_ERROR_RATE;
  return h("td", { class: ["num", high ? "diff" : null] }, pct(r.error_rate),
    high ? h("span", { class: "visually-hidden" }, " (high)") : null);
}

function statsTable(rows, { first, caption, empty }) {
  return table([first, "Requests", "Errors", "Error rate", "Avg", "p50", "p95", "p99"], rows.map((r) =>
    h("tr", { "data-route": r.route || null, "data-api": r.api_id, class: r.error_rate >= HIGH_ERROR_RATE ? "has-diff" : null },
      h("th", { scope: "row" }, `${r.api} ${r.version}`, r.route ? [" ", h("code", {}, r.route)] : null),
      h("td", { class: "num" }, fmt.n(r.requests)),
      h("td", { class: "num" }, fmt.n(r.errors)),
      errorRateCell(r),
      h("td", { class: "num" }, ms(r.avg_latency_ms)),
      PCTS.map(([k]) => h("td", { class: "num" }, ms(r[k]))))),
  { caption, empty });
}

/** p50/p95/p99 per day for one API version (one small report per day: percentiles are
 * merged sketches on the server, so they cannot be summed here). */
async function latencyByDay(apiId, start, end, label) {
  const days = [];
  for (let d = dayOf(start); d <= dayOf(end); d = addDays(d, 1)) days.push(isoDay(d));
  const reports = await Promise.all(days.map((day) =>
    api("/v1/admin/analytics", { query: { start: day, end: day, api_id: apiId, by: "api" } })));
  const points = days.map((day, i) => {
    const row = reports[i].rows[0];
    return { label: day, short: day.slice(5), values: Object.fromEntries(PCTS.map(([k]) => [k, row ? row[k] : null])) };
  });
  return [
    lineChart(points, PCTS, { title: `Latency of ${label} per day (p50, p95, p99)` }),
    h("details", { class: "data-table" }, h("summary", {}, "Show the latency numbers"),
      table(["Day", "p50", "p95", "p99"], points.filter((p) => p.values.p50_ms !== null).map((p) =>
        h("tr", {}, h("th", { scope: "row" }, p.label), PCTS.map(([k]) => h("td", { class: "num" }, ms(p.values[k]))))),
      { caption: "Latency per day", empty: "No requests in this period." })),
  ];
}

async function deprecatedSection(errors, refreshOutbox) {
  const slot = h("section", { class: "insight", "aria-labelledby": "deprecated-title", "data-testid": "deprecated-callers" });
  async function draw() {
    const found = await api("/v1/admin/analytics/deprecated-callers", { query: { days: 30 } });
    clear(slot, h("h2", { id: "deprecated-title" }, "Deprecated versions still called (last 30 days)"),
      found.items.length ? found.items.map((d) => {
        const notify = button("Notify callers", {
          class: "btn btn-primary", "aria-label": `Notify callers of ${d.api} ${d.version}`,
        });
        notify.addEventListener("click", async () => {
          const ok = await openDialog({
            title: `Tell the callers of ${d.api} ${d.version}?`, confirmLabel: "Send notices",
            message: `Each consumer that called it in the last 30 days gets one notice with the sunset date${d.sunset_at ? ` (${fmt.date(new Date(d.sunset_at * 1000).toISOString())})` : ""}. A consumer already told is not told again.`,
          });
          if (!ok) return;
          await busy(notify, errors, async () => {
            const sent = await api("/v1/admin/notifications/deprecation", { method: "POST", query: { api_id: d.api_id } });
            flash(`Notices for ${d.api} ${d.version}: ${sent.sent} sent, ${sent.already} already sent, ${sent.no_address} without an address, ${sent.failed} failed.`);
            await refreshOutbox();
          });
        });
        return h("div", { class: "card", "data-api": d.api_id },
          h("div", { class: "card-head" },
            h("h3", {}, `${d.api} ${d.version} `, badge("deprecated"),
              d.sunset_at ? h("span", { class: "sunset" }, " sunset ", time(new Date(d.sunset_at * 1000).toISOString())) : null),
            notify),
          table(["Consumer", "Requests"], d.callers.map((c) => h("tr", { "data-consumer": c.consumer_id },
            h("th", { scope: "row" }, h("a", { href: `#/admin/consumers?id=${encodeURIComponent(c.consumer_id)}` }, c.consumer_name || c.consumer_id)),
            h("td", { class: "num" }, fmt.n(c.requests)))),
          { caption: `Callers of ${d.api} ${d.version}` }));
      }) : h("p", { class: "empty" }, "No deprecated version was called in the last 30 days."));
  }
  await draw();
  return slot;
}

async function outboxSection() {
  const slot = h("section", { class: "insight", "aria-labelledby": "outbox-title", "data-testid": "outbox" });
  async function draw() {
    let items;
    try {
      ({ items } = await api("/v1/admin/notifications/outbox", { query: { limit: 50 } }));
    } catch (err) {
      if (err.status === 404) { clear(slot); return; } // not served here
      throw err;
    }
    clear(slot, h("h2", { id: "outbox-title" }, "Outbox"),
      h("p", { class: "hint" }, "The notices the local stack would have e-mailed, newest first. With SES or Azure Communication Services they are sent instead."),
      table(["To", "Kind", "Subject", "Text"], items.map((n) => h("tr", {},
        h("td", {}, n.recipient),
        h("td", {}, h("code", {}, n.kind)),
        h("th", { scope: "row" }, n.subject),
        h("td", {}, h("details", {}, h("summary", {}, "Read"), h("pre", { class: "prewrap" }, n.text))))),
      { caption: "Outbox", empty: "No notices yet." }));
  }
  await draw();
  return { slot, draw };
}

/** #/admin/analytics?api=&start=&end= */
export async function section(body, errors, query) {
  const today = isoDay(utcToday());
  const end = query.get("end") || today;
  const start = query.get("start") || isoDay(addDays(dayOf(end), -6));
  const apiId = query.get("api") || "";
  const apis = await fetchAll("/v1/admin/apis");
  const named = new Map(apis.map((a) => [a.id, `${a.name} ${a.version}`]));

  const select = h("select", { name: "api" }, h("option", { value: "" }, "All APIs"),
    apis.map((a) => h("option", { value: a.id, selected: a.id === apiId }, `${a.name} ${a.version} (${a.lifecycle})`)));
  const from = h("input", { type: "date", name: "start", value: start, max: today, required: true });
  const to = h("input", { type: "date", name: "end", value: end, max: today, required: true });
  const show = h("button", { type: "submit", class: "btn btn-primary" }, "Show");
  const form = h("form", { class: "filters", "aria-label": "Analytics period and API" },
    field("API", select), field("From (UTC)", from), field("To (UTC)", to, `At most ${MAX_DAYS} days.`),
    h("div", { class: "actions" }, show));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams({ start: from.value, end: to.value });
    if (select.value) q.set("api", select.value);
    location.hash = `#/admin/analytics?${q}`;
  });
  add(body, form);

  const report = h("div", { class: "insight", "aria-live": "polite" });
  add(body, report);
  await busy(null, errors, async () => {
    const q = { start, end, api_id: apiId };
    const [hours, routes, versions] = await Promise.all(["hour", "route", "api"].map((by) =>
      api("/v1/admin/analytics", { query: { ...q, by } })));
    const total = versions.rows.reduce((t, r) => ({
      requests: t.requests + r.requests, errors: t.errors + r.errors, bytes: t.bytes + r.bytes_out,
    }), { requests: 0, errors: 0, bytes: 0 });
    const label = apiId ? named.get(apiId) || apiId : "all APIs";
    const byClass = Object.fromEntries(CLASSES.map((c) => [c, hours.rows.filter((r) => r.status_class === c).reduce((n, r) => n + r.requests, 0)]));
    clear(report,
      h("dl", { class: "stats", "data-testid": "analytics-totals" },
        h("div", { class: "stat", "data-stat": "requests" }, h("dt", {}, "Requests"), h("dd", {}, fmt.n(total.requests))),
        h("div", { class: "stat", "data-stat": "errors" }, h("dt", {}, "Errors (4xx + 5xx)"), h("dd", {}, fmt.n(total.errors))),
        h("div", { class: "stat", "data-stat": "error-rate" }, h("dt", {}, "Error rate"), h("dd", {}, total.requests ? pct(total.errors / total.requests) : "—")),
        h("div", { class: "stat", "data-stat": "5xx" }, h("dt", {}, "Server errors (5xx)"), h("dd", {}, fmt.n(byClass["5xx"])))),
      h("h2", {}, `Requests per hour, ${label}`),
      hourChart(hours.rows, start, end, `Requests per hour to ${label}, ${start} to ${end} (UTC)`),
      h("h2", {}, "Latency"),
      apiId ? await latencyByDay(apiId, start, end, label)
        : h("p", { class: "hint" }, "Pick one API version above to see its p50, p95 and p99 per day. Per version, for the whole period:"),
      statsTable(versions.rows, { first: "API version", caption: "Per API version", empty: "No requests in this period." }),
      h("h2", {}, "Routes"),
      statsTable([...routes.rows].sort((a, b) => b.requests - a.requests),
        { first: "Route", caption: "Per route, busiest first", empty: "No requests in this period." }),
      h("p", { class: "hint" }, `Error rate: 4xx and 5xx answers over all answers; ${pct(HIGH_ERROR_RATE)} or more is highlighted. Percentiles are within 5 % of the exact value.`));
  });

  const outbox = await outboxSection();
  add(body, await deprecatedSection(errors, outbox.draw), outbox.slot);
}
