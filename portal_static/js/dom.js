// DOM helpers. Every string becomes a text node: nothing here parses HTML, so data from
// the server can never become markup (no innerHTML anywhere in the portal).

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function apply(node, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (name === "text") node.textContent = String(value);
    else if (name === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "value" && "value" in node) node.value = String(value);
    else if (name === "checked" || name === "selected" || name === "disabled") node[name] = Boolean(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  return node;
}

/** h("p", {class: "x"}, "text", child) — an element; strings are text, never HTML. */
export function h(tag, props, ...children) {
  const node = apply(document.createElement(tag), props);
  append(node, children);
  return node;
}

/** The same for SVG elements. */
export function s(tag, props, ...children) {
  const node = apply(document.createElementNS(SVG_NS, tag), props);
  append(node, children);
  return node;
}

/** node.append that skips null/false (native append would print "null"). */
export function add(node, ...children) {
  append(node, children);
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: <div class="field"><label for>…</label><input id>…<p hint></div>. */
export function field(label, control, hint) {
  const id = control.id || nextId(control.name || "f");
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field" }, parts);
}

export function button(label, props = {}) {
  return h("button", { type: "button", class: "btn", ...props }, label);
}

/** A table cell holding a row's buttons (flex on an inner div: a flex <td> breaks the row). */
export function actionsCell(...children) {
  return h("td", { class: "actions-cell" }, h("div", { class: "row-actions" }, children));
}

export function table(headers, rows, { caption, empty = "Nothing here yet." } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "Table" },
    h("table", {},
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
}

// --- formatting ---------------------------------------------------------------------------

const number = new Intl.NumberFormat("en-US");
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export const fmt = {
  n: (x) => number.format(x),
  // The API has no currency field; the seed data and docs price plans in US dollars.
  cents: (c) => money.format((c || 0) / 100),
  date(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleDateString("en-US", { dateStyle: "medium", timeZone: "UTC" });
  },
  dateTime(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString("en-US", {
      dateStyle: "medium", timeStyle: "short", timeZone: "UTC",
    }) + " UTC";
  },
};

/** <time datetime=…>human text</time> */
export function time(iso, withTime = false) {
  if (!iso) return "—";
  return h("time", { datetime: iso }, withTime ? fmt.dateTime(iso) : fmt.date(iso));
}

export function badge(text, kind) {
  return h("span", { class: ["badge", `badge-${kind || text}`] }, text);
}

/** Copy text to the clipboard; fall back to selecting it for a manual copy. */
export async function copyText(text, fallbackNode) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackNode && fallbackNode.select) {
      fallbackNode.focus();
      fallbackNode.select();
    }
    return false;
  }
}
