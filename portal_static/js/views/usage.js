// My usage: a stacked bar chart by day or hour and status class, totals, and the numbers.

import { api, fetchAll } from "../api.js";
import { add, clear, fmt, h, table } from "../dom.js";
import { CLASSES, addDays, fillBuckets, isoDay, periods, stackedBars, utcToday } from "../chart.js";
import { busy, errorBox, loading, showError } from "../ui.js";
import { quotaSection } from "./quota.js";

export const WINDOWS = {
  day: { days: 30, label: "By day, last 30 days" },
  hour: { days: 2, label: "By hour, last 48 hours" },
};

/** Fetch a usage report for a window and draw it into `slot`. `path` is the usage route. */
export async function drawUsage(slot, { path, query = {}, granularity, title }) {
  const end = utcToday();
  const start = addDays(end, -(WINDOWS[granularity].days - 1));
  const report = await api(path, {
    query: { ...query, granularity, start: isoDay(start), end: isoDay(end) },
  });
  const buckets = fillBuckets(periods(start, end, granularity), report.rows);
  const t = report.total;
  const busiest = buckets.filter((b) => CLASSES.some((c) => b.counts[c]));
  clear(slot,
    h("dl", { class: "stats", "data-testid": "usage-totals" },
      stat("Requests", fmt.n(t.requests), "requests"),
      stat("Errors (4xx + 5xx)", fmt.n(t.errors), "errors"),
      stat("Average latency", `${fmt.n(Math.round(t.avg_latency_ms))} ms`, "latency"),
      stat("Billable units", fmt.n(t.cost), "cost"),
      stat("Data out", bytes(t.bytes_out), "bytes-out")),
    stackedBars(buckets, { title: `${title} — ${WINDOWS[granularity].label}` }),
    h("details", { class: "data-table" },
      h("summary", {}, "Show the numbers"),
      table(["Period", ...CLASSES.filter((c) => t.by_status[c] !== undefined), "Total"],
        busiest.map((b) => h("tr", {},
          h("th", { scope: "row" }, b.label),
          CLASSES.filter((c) => t.by_status[c] !== undefined).map((c) => h("td", {}, fmt.n(b.counts[c] || 0))),
          h("td", {}, fmt.n(CLASSES.reduce((n, c) => n + (b.counts[c] || 0), 0))))),
        { caption: "Requests per period and status class", empty: "No requests in this period." })));
  return report;
}

function stat(label, value, id) {
  return h("div", { class: "stat", "data-stat": id }, h("dt", {}, label), h("dd", {}, value));
}

function bytes(n) {
  if (n < 1024) return `${fmt.n(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Radio buttons for day/hour and a refresh button; calls `draw()` on change. */
export function controls(state, draw, extra = []) {
  const refresh = h("button", { type: "button", class: "btn" }, "Refresh");
  refresh.addEventListener("click", () => draw(refresh));
  const group = h("fieldset", { class: "segmented" },
    h("legend", { class: "visually-hidden" }, "Granularity"),
    Object.entries(WINDOWS).map(([value, w]) => {
      const radio = h("input", { type: "radio", name: "granularity", value, id: `gran-${value}`, checked: state.granularity === value });
      radio.addEventListener("change", () => { state.granularity = value; draw(); });
      return h("span", {}, radio, h("label", { for: `gran-${value}` }, w.label));
    }));
  return h("div", { class: "toolbar" }, group, extra, refresh);
}

/** My own latency per API version over the window: requests, errors, p50/p95/p99. */
async function drawLatency(slot, { granularity, apiId }) {
  const end = utcToday();
  const start = addDays(end, -(WINDOWS[granularity].days - 1));
  const report = await api("/v1/me/analytics", {
    query: { granularity, api_id: apiId, start: isoDay(start), end: isoDay(end) },
  });
  const ms = (x) => (x === null ? "—" : `${fmt.n(x < 10 ? Math.round(x * 10) / 10 : Math.round(x))} ms`);
  clear(slot,
    h("h2", { id: "latency-title" }, "Your latency per API"),
    h("p", { class: "hint" }, `${WINDOWS[granularity].label}: time through the gateway for your own calls (50 %, 95 % and 99 % of them took at most this long; within 5 %).`),
    table(["API", "Requests", "Errors", "p50", "p95", "p99"],
      report.apis.map((r) => h("tr", { "data-api": r.api_id },
        h("th", { scope: "row" }, r.api ? `${r.api} ${r.version}` : r.api_id),
        h("td", {}, fmt.n(r.requests)),
        h("td", {}, fmt.n(r.errors)),
        [r.p50_ms, r.p95_ms, r.p99_ms].map((x) => h("td", {}, ms(x))))),
      { caption: "Your latency percentiles per API", empty: "No calls in this period." }));
}

export async function view(root) {
  const [catalog, quotas] = await Promise.all([
    fetchAll("/v1/catalog").catch(() => []),
    quotaSection().catch((err) => h("div", {}, errorBox(err))),
  ]);
  const state = { granularity: "day", apiId: "" };
  const errors = h("div", { "aria-live": "assertive" });
  const slot = h("div", { class: "usage", "aria-live": "polite" }, loading());
  const latency = h("section", { "aria-labelledby": "latency-title", "data-testid": "my-latency" });
  const apiSelect = h("select", { id: "usage-api" },
    h("option", { value: "" }, "All APIs"),
    catalog.map((a) => h("option", { value: a.id }, `${a.name} ${a.version}`)));
  apiSelect.addEventListener("change", () => { state.apiId = apiSelect.value; draw(); });

  async function draw(btn) {
    await busy(btn, errors, () => drawUsage(slot, {
      path: "/v1/me/usage", query: { api_id: state.apiId }, granularity: state.granularity,
      title: state.apiId ? `Requests to ${apiSelect.selectedOptions[0].textContent}` : "Requests to all APIs",
    }).then(() => drawLatency(latency, state)));
  }

  add(root, 
    h("h1", {}, "Usage"),
    h("p", { class: "lead" }, "Calls through the gateway with your keys, by status class (times in UTC). New calls appear within a few seconds."),
    quotas,
    controls(state, draw, [h("span", { class: "field inline" }, h("label", { for: "usage-api" }, "API"), apiSelect)]),
    errors, slot, latency);
  await draw();
}
