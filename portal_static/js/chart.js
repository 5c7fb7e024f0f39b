// An inline SVG stacked bar chart: one bar per period, one segment per status class.

import { fmt, h, s } from "./dom.js";

export const CLASSES = ["2xx", "3xx", "4xx", "5xx", "1xx"];
const LABELS = { "1xx": "1xx informational", "2xx": "2xx success", "3xx": "3xx redirect", "4xx": "4xx client error", "5xx": "5xx server error" };

/** A round axis maximum split into four whole, round steps: 4, 8, 20, 40, 100, 200 … */
function niceMax(x) {
  const raw = Math.max(1, x / 4);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw && Number.isInteger(s));
  return 4 * (step || 10 * p);
}

/**
 * buckets: [{key, label, short, counts: {"2xx": n, ...}}]
 * Returns a <figure> with the SVG, a legend, and an accessible description.
 */
const plural = (n, word) => `${fmt.n(n)} ${word}${n === 1 ? "" : "s"}`;

export function stackedBars(buckets, { title, unit = "request" } = {}) {
  const W = 720, H = 260, left = 48, right = 12, top = 14, bottom = 34;
  const plotW = W - left - right, plotH = H - top - bottom;
  const totals = buckets.map((b) => CLASSES.reduce((n, c) => n + (b.counts[c] || 0), 0));
  const grand = totals.reduce((a, b) => a + b, 0);
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => top + plotH - (v / max) * plotH;
  const slot = plotW / Math.max(buckets.length, 1);
  const barW = Math.max(2, Math.min(36, slot * 0.7));
  const titleId = `chart-title-${Math.random().toString(36).slice(2)}`;
  const descId = `${titleId}-desc`;

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = Math.round(max * f);
    return s("g", { class: "tick" },
      s("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: f === 0 ? "axis" : "grid" }),
      s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, fmt.n(v)));
  });

  const every = Math.max(1, Math.ceil(buckets.length / 8)); // labels counted back from the newest
  const bars = buckets.map((b, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let acc = 0;
    const segments = CLASSES.filter((c) => b.counts[c]).map((c) => {
      const v = b.counts[c];
      const rect = s("rect", { x, width: barW, y: y(acc + v), height: Math.max(1, y(acc) - y(acc + v)), class: `s${c}` });
      acc += v;
      return rect;
    });
    const tip = `${b.label}: ${plural(totals[i], unit)}` +
      CLASSES.filter((c) => b.counts[c]).map((c) => `, ${c} ${fmt.n(b.counts[c])}`).join("");
    return s("g", { class: "bar" },
      s("title", {}, tip),
      // a full-height transparent target so hovering an empty period still explains it
      s("rect", { x: left + i * slot, width: slot, y: top, height: plotH, class: "hit" }),
      segments,
      (buckets.length - 1 - i) % every === 0 ? s("text", { x: x + barW / 2, y: H - bottom + 16, "text-anchor": "middle", class: "xlabel" }, b.short) : null);
  });

  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-labelledby": `${titleId} ${descId}`, preserveAspectRatio: "xMidYMid meet",
  },
  s("title", { id: titleId }, title || "Usage"),
  s("desc", { id: descId }, grand
    ? `${plural(grand, unit)} over ${buckets.length} periods; the busiest had ${fmt.n(Math.max(...totals))}.`
    : "No requests in this period."),
  grid, bars,
  grand ? null : s("text", { x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle", class: "nodata" }, "No requests in this period yet"));

  const present = CLASSES.filter((c) => buckets.some((b) => b.counts[c]));
  const legend = h("ul", { class: "legend", "aria-label": "Legend" },
    (present.length ? present : ["2xx", "4xx", "5xx"]).map((c) =>
      h("li", {}, h("span", { class: ["swatch", `s${c}`], "aria-hidden": "true" }), LABELS[c])));

  return h("figure", { class: "chart-figure" }, h("div", { class: "chart-scroll" }, svg), legend);
}

// --- periods --------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");
export const isoDay = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function utcToday() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function addDays(d, n) {
  return new Date(d.getTime() + n * 86_400_000);
}

/** Every period between start and end (UTC days), so quiet periods show as empty bars. */
export function periods(start, end, granularity) {
  const out = [];
  const nowHour = new Date().getUTCHours();
  const today = isoDay(utcToday());
  for (let d = start; d <= end; d = addDays(d, 1)) {
    const day = isoDay(d);
    const dayLabel = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
    if (granularity === "day") {
      out.push({ key: day, label: day, short: dayLabel });
      continue;
    }
    for (let hr = 0; hr < 24; hr += 1) {
      if (day === today && hr > nowHour) break;
      out.push({ key: `${day}T${pad(hr)}`, label: `${day} ${pad(hr)}:00 UTC`, short: hr === 0 ? dayLabel : `${pad(hr)}h` });
    }
  }
  return out;
}

/** Usage rows (per period and API) summed into the buckets' counts by status class. */
export function fillBuckets(buckets, rows) {
  const byKey = new Map(buckets.map((b) => [b.key, { ...b, counts: {} }]));
  for (const row of rows) {
    const bucket = byKey.get(row.period);
    if (!bucket) continue;
    for (const [cls, n] of Object.entries(row.by_status || {})) bucket.counts[cls] = (bucket.counts[cls] || 0) + n;
  }
  return [...byKey.values()];
}

// --- lines ----------------------------------------------------------------------------------

const LINE_STYLES = ["solid", "dash", "dot"];

/**
 * A line chart: points [{label, short, values: {name: number|null}}], series [[name, label]].
 * Missing values leave a gap. Each series has its own colour and dash pattern (not colour
 * alone), a legend, and the numbers stay available as a table beside the figure.
 */
export function lineChart(points, series, { title, unit = "ms" } = {}) {
  const W = 720, H = 220, left = 56, right = 12, top = 14, bottom = 34;
  const plotW = W - left - right, plotH = H - top - bottom;
  const all = points.flatMap((p) => series.map(([k]) => p.values[k])).filter((v) => typeof v === "number");
  const max = niceMax(Math.max(1, ...all));
  const slot = plotW / Math.max(points.length, 1);
  const x = (i) => left + i * slot + slot / 2;
  const y = (v) => top + plotH - (v / max) * plotH;
  const titleId = `chart-title-${Math.random().toString(36).slice(2)}`;
  const descId = `${titleId}-desc`;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = max * f;
    return s("g", { class: "tick" },
      s("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: f === 0 ? "axis" : "grid" }),
      s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, `${fmt.n(Math.round(v))} ${unit}`));
  });
  const every = Math.max(1, Math.ceil(points.length / 8));
  const labels = points.map((p, i) => ((points.length - 1 - i) % every === 0
    ? s("text", { x: x(i), y: H - bottom + 16, "text-anchor": "middle", class: "xlabel" }, p.short) : null));
  const lines = series.map(([k, label], n) => {
    const runs = [[]];
    points.forEach((p, i) => {
      const v = p.values[k];
      if (typeof v === "number") runs[runs.length - 1].push([x(i), y(v), p, v]);
      else if (runs[runs.length - 1].length) runs.push([]);
    });
    return s("g", { class: ["line", `line-${n}`, `line-${LINE_STYLES[n % 3]}`] },
      runs.filter((r) => r.length > 1).map((r) => s("polyline", { points: r.map(([a, b]) => `${a},${b}`).join(" ") })),
      runs.flat().map(([a, b, p, v]) => s("circle", { cx: a, cy: b, r: 3 }, s("title", {}, `${p.label}: ${label} ${fmt.n(v)} ${unit}`))));
  });
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-labelledby": `${titleId} ${descId}`, preserveAspectRatio: "xMidYMid meet",
  },
  s("title", { id: titleId }, title || "Latency"),
  s("desc", { id: descId }, all.length
    ? `${series.map(([, l]) => l).join(", ")} over ${points.length} periods; the highest was ${fmt.n(Math.max(...all))} ${unit}.`
    : "No requests in this period."),
  grid, lines, labels,
  all.length ? null : s("text", { x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle", class: "nodata" }, "No requests in this period yet"));
  const legend = h("ul", { class: "legend", "aria-label": "Legend" },
    series.map(([, label], n) => h("li", {}, h("span", { class: ["swatch-line", `line-${n}`, `line-${LINE_STYLES[n % 3]}`], "aria-hidden": "true" }), label)));
  return h("figure", { class: "chart-figure" }, h("div", { class: "chart-scroll" }, svg), legend);
}
