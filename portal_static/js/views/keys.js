// API keys: create (plaintext shown once), list (hints only), rotate with grace, revoke.

import { api, fetchAll } from "../api.js";
import { actionsCell, add, badge, button, clear, field, fmt, h, table, time } from "../dom.js";
import { busy, flash, loading, openDialog, secretPanel, showError } from "../ui.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** "2026-01-05T14" / "2026-01-05" -> [start, end) in ms. */
function periodBounds(period) {
  const hourly = period.length > 10;
  const start = Date.parse(hourly ? `${period}:00:00Z` : `${period}T00:00:00Z`);
  return [start, start + (hourly ? HOUR : DAY), hourly];
}

/**
 * The periods with calls, newest first: by hour for the last 48 hours, by day before.
 * Usage is recorded per consumer (all keys together) and API, not per key.
 */
async function callPeriods() {
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  const now = Date.now();
  const [hours, days] = await Promise.all([
    api("/v1/me/usage", { query: { granularity: "hour", start: iso(now - DAY), end: iso(now) } }),
    api("/v1/me/usage", { query: { granularity: "day", start: iso(now - 29 * DAY), end: iso(now) } }),
  ]);
  const rows = [...hours.rows, ...days.rows.filter((r) => Date.parse(`${r.period}T00:00:00Z`) < now - 2 * DAY)];
  return rows.filter((r) => r.requests > 0).map((r) => [...periodBounds(r.period), r.api_id])
    .sort((a, b) => b[0] - a[0]);
}

/** When this key could last have been used: the newest period with calls in its lifetime. */
function lastUsed(key, periods, apiNames) {
  if (key.state === "revoked") return "—";
  const born = Date.parse(key.created_at);
  const until = key.expires_at ? Date.parse(key.expires_at) : Infinity;
  const hit = periods.find(([start, end]) => end > born && start <= until);
  if (!hit) return "Not yet";
  const [start, end, hourly] = hit;
  const when = hourly
    ? `${fmt.date(new Date(start).toISOString())}, ${new Date(start).toISOString().slice(11, 16)}–${new Date(end).toISOString().slice(11, 16)} UTC`
    : fmt.date(new Date(start).toISOString());
  return h("span", { "data-testid": "last-used" }, h("time", { datetime: new Date(start).toISOString() }, when),
    h("span", { class: "hint block" }, apiNames.get(hit[3]) || hit[3]));
}

const GRACE = [
  ["0", "End it now"],
  ["3600", "1 hour"],
  ["86400", "24 hours"],
  ["604800", "7 days"],
];

export async function view(root) {
  const subs = await fetchAll("/v1/me/subscriptions");
  const errors = h("div", { "aria-live": "assertive" });
  const secretSlot = h("div", { class: "secret-slot" });
  const listSlot = h("div", {}, loading());

  async function refresh() {
    const [keys, periods, catalog] = await Promise.all([
      fetchAll("/v1/me/keys"),
      callPeriods().catch(() => []),
      fetchAll("/v1/catalog").catch(() => []),
    ]);
    const apiNames = new Map(catalog.map((a) => [a.id, `${a.name} ${a.version}`]));
    keys.sort((a, b) => b.created_at.localeCompare(a.created_at));
    clear(listSlot,
      table(["Name", "Key", "State", "Created", "Last used", "Actions"], keys.map((k) => row(k, keys, periods, apiNames)),
        { caption: "Your API keys", empty: "You have no keys yet." }),
      keys.length ? h("p", { class: "hint" }, "Usage is recorded for your account, not per key: “Last used” is the newest hour (by day after 48 hours) in which your keys called an API while this key existed.") : null);
  }

  async function rotate(key, btn) {
    const select = h("select", { name: "grace" }, GRACE.map(([v, label]) => h("option", { value: v, selected: v === "86400" }, label)));
    const values = await openDialog({
      title: `Rotate “${key.name}”?`,
      message: `A new key replaces ${key.hint}. The old one keeps working during the grace period, so you can deploy the new one first.`,
      content: [field("Grace period for the old key", select)],
      confirmLabel: "Rotate key",
    });
    if (!values) return;
    await busy(btn, errors, async () => {
      const rotated = await api(`/v1/me/keys/${encodeURIComponent(key.id)}/rotate`, {
        method: "POST", body: { grace_seconds: Number(values.grace) },
      });
      const ends = rotated.previous.expires_at;
      secretPanel(secretSlot, {
        title: `New key for “${rotated.name}”`, secret: rotated.key,
        note: values.grace === "0"
          ? `The previous key (${rotated.previous.hint}) no longer works.`
          : `The previous key (${rotated.previous.hint}) keeps working until ${fmt.dateTime(ends)}.`,
      });
      await refresh();
    });
  }

  async function revoke(key, btn) {
    const ok = await openDialog({
      title: `Revoke “${key.name}”?`, danger: true, confirmLabel: "Revoke key",
      message: `Calls with ${key.hint} are refused within a few seconds. This cannot be undone.`,
    });
    if (!ok) return;
    await busy(btn, errors, async () => {
      await api(`/v1/me/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
      flash(`The key “${key.name}” (${key.hint}) is revoked.`);
      await refresh();
    });
  }

  /** Active keys that expire: the old half of a rotation (a newer active key of the same name) says so. */
  function stateCell(key, keys) {
    if (key.state !== "active" || !key.expires_at) return badge(key.state);
    const rotated = keys.some((k) => k.id !== key.id && k.name === key.name && k.state === "active" && k.created_at > key.created_at);
    return h("div", { class: "key-state" },
      rotated ? badge("old key", "pending") : badge(key.state),
      h("span", { class: "expires", "data-testid": "expires" }, "expires ", time(key.expires_at, true)),
      rotated ? h("span", { class: "hint block" }, "Replaced by a rotation") : null);
  }

  function row(key, keys, periods, apiNames) {
    const active = key.state === "active";
    return h("tr", { class: active ? null : "inactive", "data-key": key.id },
      h("th", { scope: "row" }, key.name),
      h("td", {}, h("code", { class: "hint-code" }, key.hint)),
      h("td", {}, stateCell(key, keys)),
      h("td", {}, time(key.created_at)),
      h("td", {}, lastUsed(key, periods, apiNames)),
      actionsCell(active ? [
        button("Rotate", { "aria-label": `Rotate ${key.name} (${key.hint})`, on: { click: (e) => rotate(key, e.currentTarget) } }),
        button("Revoke", { class: "btn btn-danger", "aria-label": `Revoke ${key.name} (${key.hint})`, on: { click: (e) => revoke(key, e.currentTarget) } }),
      ] : null));
  }

  const name = h("input", { type: "text", name: "name", required: true, maxlength: "100", placeholder: "e.g. production server" });
  const expiry = h("select", { name: "expires" },
    h("option", { value: "" }, "Never"),
    [30, 90, 365].map((d) => h("option", { value: String(d) }, `In ${d} days`)));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create key");
  const form = h("form", { class: "card form inline-form", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "Create a key"),
    h("div", { class: "row" }, field("Name", name, "For you to recognise it later."), field("Expires", expiry)),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      const body = { name: name.value.trim() };
      if (expiry.value) body.expires_in_days = Number(expiry.value);
      const created = await api("/v1/me/keys", { method: "POST", body });
      form.reset();
      secretPanel(secretSlot, { title: `Your new key “${created.name}”`, secret: created.key });
      await refresh();
    });
  });

  const active = subs.filter((s) => s.status === "active");
  add(root, 
    h("h1", {}, "API keys"),
    h("p", { class: "lead" }, "Send a key in the X-Api-Key header. The portal shows a key once, when it is made; afterwards only its hint (prefix and last four characters)."),
    active.length ? null : h("div", { class: "alert alert-info", role: "note" },
      h("p", {}, "You have no active subscription, so keys are refused by the gateway (403). ", h("a", { href: "#/plans" }, "Pick a plan"), " first.")),
    secretSlot, errors, form,
    h("section", { "aria-labelledby": "keys-title" }, h("h2", { id: "keys-title" }, "Your keys"), listSlot));
  await refresh().catch((err) => showError(listSlot, err));
}
