// Quota meters: per subscription and API with a monthly quota, read from the gateway's own
// live counter (GET /v1/me/quota). Each meter is role="meter" with its sentence as text.

import { api } from "../api.js";
import { fmt, h } from "../dom.js";

/** One meter: "73 % of this month's quota used", the numbers, and when it resets. */
export function meter(q) {
  const pct = Math.max(0, q.percent);
  const label = `${pct} % of this month's quota used`;
  const labelId = `quota-${q.subscription_id}-${q.api}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const level = pct >= 100 ? "full" : pct >= 80 ? "high" : "ok";
  const fill = h("span", { class: "quota-fill" });
  fill.style.width = `${Math.min(100, pct)}%`; // CSSOM, allowed by the CSP
  return h("li", { class: ["quota", `quota-${level}`], "data-testid": "quota", "data-api": q.api },
    h("p", { class: "quota-label", id: labelId },
      h("strong", {}, label), " — ", `${q.api} on ${q.plan_name}`),
    h("div", {
      class: "quota-bar", role: "meter", "aria-labelledby": labelId,
      "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.min(100, pct)),
      "aria-valuetext": `${label}: ${fmt.n(q.used)} of ${fmt.n(q.limit)} requests`,
    }, fill),
    h("p", { class: "hint" }, `${fmt.n(q.used)} of ${fmt.n(q.limit)} units; resets `,
      h("time", { datetime: new Date(q.resets_at * 1000).toISOString() }, fmt.dateTime(new Date(q.resets_at * 1000).toISOString())),
      pct >= 100 ? ". Calls are refused (429) until then." : "."));
}

/** The "This month's quota" section, or null when no subscription has a monthly quota. */
export async function quotaSection() {
  const { items } = await api("/v1/me/quota");
  if (!items.length) return null;
  return h("section", { class: "card quotas", "aria-labelledby": "quota-title" },
    h("h2", { id: "quota-title" }, "This month's quota"),
    h("ul", { class: "plain quota-list" }, items.map(meter)),
    h("p", { class: "hint" }, "As the gateway counts it, live. Daily quotas and rate limits show in the RateLimit headers of each answer."));
}
