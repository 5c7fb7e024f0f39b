// A readable rendering of an OpenAPI 3.x document (JSON): operations grouped by path with
// summary, parameters, request body and responses, code samples (curl, Python, JavaScript)
// and a "try it" form per operation. Everything is text: descriptions are shown as written,
// never interpreted as Markdown or HTML.

import { field, h, nextId, table } from "../dom.js";
import { WITH_BODY, codeSamples, sendRequest } from "../gateway.js";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function resolver(doc) {
  return function resolve(node, depth = 0) {
    if (!node || typeof node !== "object" || typeof node.$ref !== "string" || depth > 8) return node;
    if (!node.$ref.startsWith("#/")) return node; // external references are shown by name
    let target = doc;
    for (const part of node.$ref.slice(2).split("/")) {
      target = target?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return target === undefined ? node : resolve(target, depth + 1);
  };
}

function refName(ref) {
  return String(ref).split("/").pop();
}

/** "string (uuid)", "array of Pet", "integer, one of 1, 2" … */
export function schemaText(schema, resolve, depth = 0) {
  if (!schema || typeof schema !== "object") return "any";
  if (schema.$ref) return refName(schema.$ref);
  if (depth > 3) return "…";
  for (const key of ["oneOf", "anyOf", "allOf"]) {
    if (Array.isArray(schema[key])) {
      const joiner = key === "allOf" ? " & " : " | ";
      return schema[key].map((x) => schemaText(x, resolve, depth + 1)).join(joiner);
    }
  }
  let text = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || (schema.properties ? "object" : "any");
  if (text === "array") text = `array of ${schemaText(schema.items, resolve, depth + 1)}`;
  if (schema.format) text += ` (${schema.format})`;
  if (Array.isArray(schema.enum)) text += `, one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  if (schema.default !== undefined) text += `, default ${JSON.stringify(schema.default)}`;
  return text;
}

function str(x) {
  return typeof x === "string" ? x : x === undefined || x === null ? "" : JSON.stringify(x);
}

function parametersTable(params, resolve) {
  if (!params.length) return null;
  return h("div", { class: "op-part" },
    h("h4", {}, "Parameters"),
    table(["Name", "In", "Type", "Required", "Description"], params.map((p) =>
      h("tr", {},
        h("td", {}, h("code", {}, str(p.name))),
        h("td", {}, str(p.in)),
        h("td", {}, schemaText(resolve(p.schema), resolve)),
        h("td", {}, p.required ? "yes" : "no"),
        h("td", {}, str(p.description)))), { caption: "Parameters" }));
}

function requestBody(body, resolve) {
  if (!body) return null;
  const b = resolve(body);
  const content = Object.entries(b.content || {});
  return h("div", { class: "op-part" },
    h("h4", {}, `Request body${b.required ? " (required)" : ""}`),
    b.description ? h("p", {}, str(b.description)) : null,
    content.length ? h("ul", { class: "plain" }, content.map(([type, media]) =>
      h("li", {}, h("code", {}, type), " — ", schemaText(resolve(media?.schema), resolve)))) : null);
}

function responses(resps, resolve) {
  const entries = Object.entries(resps || {});
  if (!entries.length) return null;
  return h("div", { class: "op-part" },
    h("h4", {}, "Responses"),
    table(["Status", "Description", "Content"], entries.map(([code, raw]) => {
      const r = resolve(raw) || {};
      const content = Object.entries(r.content || {});
      return h("tr", {},
        h("td", {}, h("span", { class: ["status", `status-${String(code)[0]}xx`] }, code)),
        h("td", {}, str(r.description)),
        h("td", {}, content.map(([type, media]) => h("div", {}, h("code", {}, type), " ", schemaText(resolve(media?.schema), resolve)))));
    }), { caption: "Responses" }));
}

/** A value to show in samples for a parameter: its example, default, or one by type. */
function sampleValue(p, resolve) {
  const schema = resolve(p.schema) || {};
  for (const v of [p.example, schema.example, schema.default, Array.isArray(schema.enum) ? schema.enum[0] : undefined]) {
    if (v !== undefined && v !== null) return String(v);
  }
  if (schema.type === "integer" || schema.type === "number") return schema.minimum !== undefined ? String(schema.minimum) : "200";
  if (schema.type === "boolean") return "true";
  return p.in === "path" ? "hello" : "";
}

function sampleBody(body, resolve) {
  if (!body) return "";
  const media = (resolve(body).content || {})["application/json"];
  const schema = resolve(media?.schema) || {};
  const example = media?.example ?? schema.example;
  if (example !== undefined) return JSON.stringify(example);
  return schema.type === "array" ? "[]" : "{\"hello\": \"world\"}";
}

/** The try-it form and code samples of one operation (params -> URL, live). */
function tryOperation(path, method, params, op, resolve, ctx) {
  const inputs = params.filter((p) => p.in === "path" || p.in === "query").map((p) => {
    const input = h("input", { type: "text", name: p.name, value: sampleValue(p, resolve), spellcheck: "false", autocomplete: "off", required: p.required ? true : null });
    return [p, input];
  });
  const hasBody = WITH_BODY.has(method.toUpperCase()) && op.requestBody;
  const body = hasBody ? h("textarea", { name: "body", rows: "3", spellcheck: "false", class: "mono" }, sampleBody(op.requestBody, resolve)) : null;
  const samples = h("div", {});
  const result = h("div", { class: "try-result", "aria-live": "polite" });

  function request() {
    let url = path.replace(/\{([^}]+)\}/g, (m, name) => {
      const found = inputs.find(([p]) => p.in === "path" && p.name === name);
      return found && found[1].value ? encodeURIComponent(found[1].value) : m;
    });
    const qs = new URLSearchParams();
    for (const [p, input] of inputs) if (p.in === "query" && input.value !== "") qs.set(p.name, input.value);
    url = `${ctx.baseUrl}${url}${qs.toString() ? `?${qs}` : ""}`;
    return { method: method.toUpperCase(), url, body: body ? body.value.trim() : "" };
  }
  function update() {
    samples.replaceChildren(codeSamples(request(), `Code samples for ${method.toUpperCase()} ${path}`));
  }
  for (const [, input] of inputs) input.addEventListener("input", update);
  if (body) body.addEventListener("input", update);

  const send = h("button", { type: "submit", class: "btn btn-primary" }, "Send request");
  const form = h("form", { class: "try-op", "aria-label": `Try ${method.toUpperCase()} ${path}` },
    inputs.length ? h("div", { class: "row" }, inputs.map(([p, input]) => field(`${p.name} (${p.in})`, input))) : null,
    body ? field("Request body (JSON)", body) : null,
    h("div", { class: "actions" }, send,
      h("span", { class: "hint" }, "Uses the API key entered above the reference.")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = ctx.keyInput ? ctx.keyInput.value.trim() : "";
    if (!key) {
      result.replaceChildren(h("p", { class: "alert alert-info", role: "alert" }, "Enter an API key above the reference first."));
      ctx.keyInput?.focus();
      return;
    }
    send.disabled = true;
    try {
      await sendRequest(result, { ...request(), key });
    } finally {
      send.disabled = false;
    }
  });
  update();
  const titleId = nextId("try");
  return h("div", { class: "op-part op-try" },
    h("h4", {}, "Code samples"), samples,
    h("section", { "aria-labelledby": titleId }, h("h4", { id: titleId }, "Try it"), form, result));
}

function operation(path, method, op, pathParams, resolve, ctx) {
  const own = (op.parameters || []).map((p) => resolve(p));
  const merged = [...pathParams.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own];
  const title = `${method.toUpperCase()} ${path}`;
  return h("details", { class: ["operation", op.deprecated ? "deprecated" : null], "data-operation": title },
    h("summary", {},
      h("span", { class: ["method", `m-${method}`] }, method.toUpperCase()),
      h("code", { class: "path" }, path),
      h("span", { class: "summary" }, str(op.summary)),
      op.deprecated ? h("span", { class: "badge badge-deprecated" }, "deprecated") : null),
    h("div", { class: "op-body" },
      op.description ? h("p", { class: "prewrap" }, str(op.description)) : null,
      op.operationId ? h("p", { class: "meta" }, "Operation id: ", h("code", {}, str(op.operationId))) : null,
      parametersTable(merged, resolve),
      requestBody(op.requestBody, resolve),
      responses(op.responses, resolve),
      ctx ? tryOperation(path, method, merged, op, resolve, ctx) : null));
}

/**
 * ctx: {baseUrl: the API's address at the gateway, keyInput: the shared key <input>} for
 * code samples and try it; without it the reference is read-only.
 */
export function renderOpenApi(doc, ctx = null) {
  const resolve = resolver(doc);
  const info = doc.info || {};
  const paths = Object.entries(doc.paths || {});
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  const groups = paths.map(([path, rawItem]) => {
    const item = resolve(rawItem) || {};
    const shared = (item.parameters || []).map((p) => resolve(p));
    const ops = METHODS.filter((m) => item[m]).map((m) => operation(path, m, item[m], shared, resolve, ctx));
    return ops.length ? h("section", { class: "path-group" }, ops) : null;
  });
  return h("div", { class: "openapi-doc" },
    h("div", { class: "doc-head" },
      h("h3", {}, str(info.title) || "Untitled API", " ", h("span", { class: "version" }, str(info.version))),
      h("p", { class: "meta" }, `OpenAPI ${str(doc.openapi)}`)),
    info.description ? h("p", { class: "prewrap" }, str(info.description)) : null,
    servers.length ? h("p", { class: "meta" }, "Servers: ", servers.map((sv, i) => [i ? ", " : "", h("code", {}, str(sv.url))])) : null,
    paths.length ? groups : h("p", { class: "empty" }, "The document lists no paths."),
    h("details", { class: "raw" }, h("summary", {}, "Show the raw JSON document"),
      h("pre", { tabindex: "0", role: "region", "aria-label": "The raw OpenAPI document" }, JSON.stringify(doc, null, 2))));
}
