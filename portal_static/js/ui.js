// Shared UI pieces: error boxes, the flash line, confirm dialogs, the shown-once key panel.

import { ApiError } from "./api.js";
import { button, clear, copyText, field, h } from "./dom.js";

/** A problem document as a readable alert: the detail, then each failing field. */
export function errorBox(err) {
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  const fields = err instanceof ApiError ? err.fields : [];
  return h("div", { class: "alert alert-error", role: "alert" },
    h("p", {}, message),
    fields.length ? h("ul", {}, fields.map((f) => h("li", {}, h("strong", {}, f.field), ": ", f.detail))) : null);
}

/** Replace `slot`'s content with an error box for `err` (or empty it when err is null). */
export function showError(slot, err) {
  if (!err) clear(slot);
  else clear(slot, errorBox(err));
  if (err) console.warn(err); // eslint-disable-line no-console
}

export function flash(message, kind = "ok") {
  const region = document.getElementById("flash");
  if (!region) return;
  clear(region, message ? h("p", { class: ["alert", `alert-${kind}`] }, message) : null);
}

let pending = null;

/** A message for the page the next navigation shows (a flash set now would be cleared). */
export function flashNext(message, kind = "ok") {
  pending = [message, kind];
}

export function takeFlash() {
  const p = pending;
  pending = null;
  return p;
}

/** Go to `hash`, re-rendering even when it is the current one. */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new Event("tollway:navigate"));
  else location.hash = hash;
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/**
 * A modal <dialog>: resolves with the form's values when confirmed, null when cancelled.
 * `content` is extra nodes (fields) inside the form.
 */
export function openDialog({ title, message, content = [], confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Date.now()}`;
    const form = h("form", { method: "dialog", class: "dialog-form" },
      h("h2", { id: titleId }, title),
      message ? h("p", {}, message) : null,
      content,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn", on: { click: () => dialog.close("cancel") } }, "Cancel"),
        h("button", { type: "submit", class: ["btn", danger ? "btn-danger" : "btn-primary"], value: "ok" }, confirmLabel)));
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
    let values = null;
    form.addEventListener("submit", (event) => {
      values = Object.fromEntries(new FormData(form).entries());
      event.preventDefault();
      dialog.close("ok");
    });
    const opener = document.activeElement;
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok" ? values || {} : null);
      if (opener && opener.focus && document.contains(opener)) opener.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Run an async action with the button disabled; errors go to `slot`. */
export async function busy(btn, slot, fn) {
  if (btn) btn.disabled = true;
  if (slot) showError(slot, null);
  try {
    return await fn();
  } catch (err) {
    if (slot) showError(slot, err);
    else flash(err.message, "error");
    return undefined;
  } finally {
    if (btn) btn.disabled = false;
  }
}

/**
 * The panel that shows a key's plaintext exactly once. It lives only in the DOM: dismissing
 * it (or leaving the page) drops the only copy the portal ever had.
 */
export function secretPanel(slot, { title, secret, note }) {
  const input = h("input", {
    type: "text", readonly: true, value: secret, class: "secret", spellcheck: "false",
    autocomplete: "off", "aria-label": "The new API key", "data-testid": "new-key",
  });
  const status = h("span", { class: "copy-status", role: "status" });
  const panel = h("section", { class: "secret-panel", "aria-labelledby": "secret-title", tabindex: "-1" },
    h("h2", { id: "secret-title" }, title),
    h("p", { class: "warning" }, "This is the only time the key is shown. Copy it now and keep it somewhere safe, such as a secret manager; the portal does not keep it."),
    note ? h("p", {}, note) : null,
    h("div", { class: "secret-row" }, input,
      button("Copy", { class: "btn btn-primary", on: { click: async () => {
        status.textContent = (await copyText(secret, input)) ? "Copied." : "Select the key and copy it by hand.";
      } } })),
    status,
    h("div", { class: "actions" },
      button("I have stored it — dismiss", { on: { click: () => { clear(slot); flash("The key is no longer shown anywhere in the portal."); } } })));
  clear(slot, panel);
  panel.focus();
  return panel;
}

export { field };
