// API keys: create (plaintext shown once), list (hints only), rotate with grace, revoke.

import { api, fetchAll } from "../api.js";
import { actionsCell, add, badge, button, clear, field, fmt, h, table, time } from "../dom.js";
import { busy, flash, loading, openDialog, secretPanel, showError } from "../ui.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WINDOW_DAYS = 90; // how far back the API looks for a key's last use

/** The hour in which this key last made a request (from metering, exact per key). */
function lastUsed(key) {
  const cell = (...content) => h("span", { "data-testid": "last-used" }, ...content);
  if (!key.last_used_at) {
    const recent = Date.now() - Date.parse(key.created_at) < WINDOW_DAYS * DAY;
    return cell(recent ? "Not yet" : `Not in the last ${WINDOW_DAYS} days`);
  }
  const start = new Date(key.last_used_at);
  const hhmm = (d) => d.toISOString().slice(11, 16);
  return cell(h("time", { datetime: start.toISOString() },
    `${fmt.date(start.toISOString())}, ${hhmm(start)}–${hhmm(new Date(start.getTime() + HOUR))} UTC`));
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
    const keys = await fetchAll("/v1/me/keys");
    keys.sort((a, b) => b.created_at.localeCompare(a.created_at));
    clear(listSlot,
      table(["Name", "Key", "State", "Created", "Last used", "Actions"], keys.map((k) => row(k, keys)),
        { caption: "Your API keys", empty: "You have no keys yet." }),
      keys.length ? h("p", { class: "hint" }, `“Last used” is the hour (UTC) of the key’s newest call through the gateway, over the last ${WINDOW_DAYS} days. New calls appear within a few seconds.`) : null);
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

  function row(key, keys) {
    const active = key.state === "active";
    return h("tr", { class: active ? null : "inactive", "data-key": key.id },
      h("th", { scope: "row" }, key.name),
      h("td", {}, h("code", { class: "hint-code" }, key.hint)),
      h("td", {}, stateCell(key, keys)),
      h("td", {}, time(key.created_at)),
      h("td", {}, lastUsed(key)),
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
