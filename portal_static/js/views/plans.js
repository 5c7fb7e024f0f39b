// Plans on offer: limits and price, with subscribe / cancel for a logged-in developer.

import { api, fetchAll, isDeveloper } from "../api.js";
import { actionsCell, add, badge, button, fmt, h, table, time } from "../dom.js";
import { busy, flashNext, navigate, openDialog, showError } from "../ui.js";

/** ["5 per minute", "1,000 per day"] — or ["No rate or quota limits"]. */
export function limitLines(plan) {
  const lines = [
    [plan.rate_per_second, "per second"], [plan.rate_per_minute, "per minute"],
    [plan.quota_per_day, "per day"], [plan.quota_per_month, "per month"],
  ].filter(([n]) => n !== null && n !== undefined).map(([n, unit]) => `${fmt.n(n)} requests ${unit}`);
  return lines.length ? lines : ["No rate or quota limits"];
}

export function priceLines(plan) {
  const fee = plan.monthly_fee_cents ? `${fmt.cents(plan.monthly_fee_cents)} / month` : "No charge";
  const lines = [];
  if (plan.included_requests) lines.push(`${fmt.n(plan.included_requests)} requests a month included`);
  const tiers = plan.overage_tiers || [];
  if (tiers.length) {
    // graduated: each request above the included ones priced at the tier it falls in
    let from = 0;
    for (const t of tiers) {
      const span = t.up_to == null ? `beyond ${fmt.n(from)} over` : `${fmt.n(from + 1)}–${fmt.n(t.up_to)} over`;
      lines.push(`then ${fmt.cents(t.cents_per_1000)} per 1,000 requests (${span})`);
      from = t.up_to ?? from;
    }
  } else if (plan.overage_cents_per_1000) {
    lines.push(`then ${fmt.cents(plan.overage_cents_per_1000)} per 1,000 requests`);
  }
  return { fee, lines };
}

export function apisText(apis) {
  if (!apis.length) return "No APIs";
  return apis.includes("*") ? "Every API" : apis.join(", ");
}

/** Cheapest first: by monthly fee, then requests included, then name. */
export function sortPlans(plans) {
  return [...plans].sort((a, b) => (a.monthly_fee_cents || 0) - (b.monthly_fee_cents || 0)
    || (a.included_requests || 0) - (b.included_requests || 0)
    || a.name.localeCompare(b.name));
}

/** Do two plans grant an API in common? ("*" grants every API.) */
export function overlap(a, b) {
  if (!a.apis.length || !b.apis.length) return false;
  return a.apis.includes("*") || b.apis.includes("*") || a.apis.some((x) => b.apis.includes(x));
}

function subscriptionState(sub, replaces) {
  if (!sub) return null;
  if (sub.status === "pending") {
    return h("p", { class: "sub-state" }, badge("pending approval", "pending"),
      replaces ? ` An administrator must approve the switch; until then your ${replaces.name} plan keeps working.`
        : " An administrator must approve this subscription before your keys work with it.");
  }
  return h("p", { class: "sub-state" }, badge("subscribed", "active"), " Your keys can call the APIs this plan grants.");
}

export async function list(view) {
  const developer = isDeveloper();
  const [unsorted, subs] = await Promise.all([
    fetchAll("/v1/plans"),
    developer ? fetchAll("/v1/me/subscriptions") : Promise.resolve([]),
  ]);
  const plans = sortPlans(unsorted);
  const byId = new Map(plans.map((p) => [p.id, p]));
  const live = new Map(subs.filter((s) => s.status !== "cancelled").map((s) => [s.plan_id, s]));
  // One plan per API: the active subscription another plan would replace.
  const activeFor = (plan) => [...live.values()].find((s) => s.status === "active" && s.plan_id !== plan.id
    && byId.has(s.plan_id) && overlap(byId.get(s.plan_id), plan));
  const errors = h("div", { "aria-live": "assertive" });
  add(view, 
    h("h1", {}, "Plans"),
    h("p", { class: "lead" }, "A plan decides which APIs your keys may call, how fast, and what it costs. Limits apply to all your keys together. You hold one plan per API: switching moves your subscription."),
    errors);
  if (!plans.length) {
    add(view, h("p", { class: "empty" }, "No plan is open for subscription."));
    return;
  }
  add(view, h("ul", { class: "cards plans", "aria-label": "Plans" }, plans.map((plan) => {
    const sub = live.get(plan.id);
    const price = priceLines(plan);
    let action;
    if (!developer) {
      action = h("a", { class: "btn btn-primary", href: "#/login?next=/plans" }, "Log in to subscribe");
    } else if (!sub && activeFor(plan)) {
      const current = activeFor(plan);
      const from = byId.get(current.plan_id);
      const label = plan.requires_approval ? `Request a switch to ${plan.name}` : `Switch to ${plan.name}`;
      action = button(label, {
        class: "btn btn-primary",
        on: { click: async (e) => {
          const btn = e.currentTarget;
          const ok = await openDialog({
            title: `Switch from ${from.name} to ${plan.name}?`, confirmLabel: label,
            message: plan.requires_approval
              ? `${plan.name} needs an administrator's approval. Your ${from.name} plan keeps working until then; approval replaces it.`
              : `Your subscription moves from ${from.name} to ${plan.name} now: the new limits and price apply within a few seconds.`,
          });
          if (ok) await busy(btn, errors, async () => {
            const changed = await api(`/v1/me/subscriptions/${encodeURIComponent(current.id)}/change-plan`, { method: "POST", body: { plan_id: plan.id } });
            flashNext(changed.status === "pending"
              ? `Your switch to ${plan.name} is pending approval; ${from.name} keeps working until then.`
              : `You switched from ${from.name} to ${plan.name}.`);
            navigate("#/plans");
          });
        } },
      });
    } else if (!sub) {
      action = button(plan.requires_approval ? `Request ${plan.name}` : `Subscribe to ${plan.name}`, {
        class: "btn btn-primary",
        on: { click: (e) => busy(e.currentTarget, errors, async () => {
          const created = await api("/v1/me/subscriptions", { method: "POST", body: { plan_id: plan.id } });
          flashNext(created.status === "pending"
            ? `Your subscription to ${plan.name} is pending approval by an administrator.`
            : `You are subscribed to ${plan.name}. Create a key to start calling.`);
          navigate("#/plans");
        }) },
      });
    } else {
      action = button(sub.status === "pending" ? "Withdraw request" : "Cancel subscription", {
        on: { click: async (e) => {
          const btn = e.currentTarget;
          const ok = await openDialog({
            title: `Cancel ${plan.name}?`, danger: true, confirmLabel: "Cancel subscription",
            message: "Your keys stop working for the APIs only this plan grants, within a few seconds.",
          });
          if (ok) await busy(btn, errors, async () => {
            await api(`/v1/me/subscriptions/${encodeURIComponent(sub.id)}`, { method: "DELETE" });
            flashNext(`Your subscription to ${plan.name} is cancelled.`);
            navigate("#/plans");
          });
        } },
      });
    }
    return h("li", { class: ["card", "plan-card", sub ? "current" : null], "data-plan": plan.id },
      h("div", { class: "card-head" }, h("h2", {}, plan.name), plan.requires_approval ? badge("approval required", "pending") : null),
      h("p", { class: "price" }, price.fee),
      price.lines.length ? h("p", { class: "price-detail" }, price.lines.join(", ")) : null,
      h("p", {}, plan.description || ""),
      h("h3", { class: "small" }, "Limits"),
      h("ul", { class: "plain" }, limitLines(plan).map((l) => h("li", {}, l))),
      h("h3", { class: "small" }, "APIs"),
      h("p", {}, apisText(plan.apis)),
      subscriptionState(sub, sub && sub.status === "pending" && activeFor(plan) ? byId.get(activeFor(plan).plan_id) : null),
      h("div", { class: "actions" }, action));
  })));

  // Subscriptions to plans no longer open (retired): /v1/plans does not list them.
  const open = new Set(plans.map((p) => p.id));
  const others = [...live.values()].filter((s) => !open.has(s.plan_id));
  if (others.length) {
    add(view, h("section", { "aria-labelledby": "other-subs" },
      h("h2", { id: "other-subs" }, "Your subscriptions to retired plans"),
      h("p", { class: "hint" }, "These plans take no new subscribers; yours keep working until you cancel them."),
      table(["Plan", "Status", "Since", "Actions"], others.map((s) => h("tr", {},
        h("th", { scope: "row" }, h("code", {}, s.plan_id)),
        h("td", {}, badge(s.status === "pending" ? "pending approval" : "subscribed", s.status)),
        h("td", {}, time(s.created_at)),
        actionsCell(button("Cancel", { "aria-label": `Cancel the subscription to ${s.plan_id}`, on: { click: (e) => busy(e.currentTarget, errors, async () => {
          await api(`/v1/me/subscriptions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
          flashNext("Subscription cancelled.");
          navigate("#/plans");
        }) } })))), { caption: "Subscriptions to retired plans" })));
  }
  showError(errors, null);
}
