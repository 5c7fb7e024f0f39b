// The catalog (published and deprecated APIs) and one API with its OpenAPI document.

import { ApiError, api, config, fetchAll } from "../api.js";
import { add, badge, h, table, time } from "../dom.js";
import { errorBox } from "../ui.js";
import { renderOpenApi } from "./openapi.js";

function sortApis(apis) {
  return [...apis].sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version, "en", { numeric: true }));
}

function sunsetNote(item) {
  if (item.lifecycle !== "deprecated") return null;
  return h("p", { class: "sunset" }, "Deprecated · sunset ", time(item.sunset_at));
}

export async function list(view) {
  const apis = sortApis(await fetchAll("/v1/catalog"));
  add(view, 
    h("h1", {}, "API catalog"),
    h("p", { class: "lead" }, "Every API you can call through the Tollway gateway. Subscribe to a plan that grants an API, create a key, and call it at the gateway address."));
  if (!apis.length) {
    add(view, h("p", { class: "empty" }, "No API is published yet."));
    return;
  }
  add(view, h("ul", { class: "cards", "aria-label": "APIs" }, apis.map((item) =>
    h("li", { class: "card api-card", "data-api": item.id },
      h("div", { class: "card-head" },
        h("h2", {}, h("a", { href: `#/catalog/${encodeURIComponent(item.id)}` }, `${item.name} `, h("span", { class: "version" }, item.version))),
        badge(item.lifecycle)),
      h("p", {}, item.description || "No description."),
      h("p", { class: "meta" }, h("code", {}, item.base_path), ` · ${item.routes.length} route${item.routes.length === 1 ? "" : "s"}`),
      sunsetNote(item),
      h("a", { class: "more", href: `#/catalog/${encodeURIComponent(item.id)}`, "aria-label": `Documentation for ${item.name} ${item.version}` }, "Read the docs →")))));
}

export async function detail(view, { args }) {
  const id = args[0];
  const item = await api(`/v1/catalog/${encodeURIComponent(id)}`);
  let doc = null;
  let docError = null;
  try {
    doc = await api(`/v1/catalog/${encodeURIComponent(id)}/openapi`);
  } catch (err) {
    docError = err;
  }
  const gatewayBase = `${config.gatewayUrl.replace(/\/$/, "")}${item.base_path}`;
  add(view, 
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Catalog"), " / ", `${item.name} ${item.version}`),
    h("div", { class: "title-row" }, h("h1", {}, `${item.name} `, h("span", { class: "version" }, item.version)), badge(item.lifecycle)),
    h("p", { class: "lead" }, item.description || "No description."),
    item.lifecycle === "deprecated"
      ? h("div", { class: "alert alert-warn", role: "note" },
        h("p", {}, "This version is deprecated. It stops working on ", time(item.sunset_at, true),
          ". Responses carry Deprecation and Sunset headers; move to a newer version before then."))
      : null,
    h("dl", { class: "facts" },
      h("dt", {}, "Gateway address"), h("dd", {}, h("code", {}, gatewayBase)),
      h("dt", {}, "Lifecycle"), h("dd", {}, item.lifecycle),
      item.deprecated_at ? [h("dt", {}, "Deprecated"), h("dd", {}, time(item.deprecated_at, true))] : null,
      item.sunset_at ? [h("dt", {}, "Sunset"), h("dd", {}, time(item.sunset_at, true))] : null,
      h("dt", {}, "Authentication"), h("dd", {}, "Send your key in the ", h("code", {}, "X-Api-Key"), " header.")),
    h("section", { "aria-labelledby": "routes-title" },
      h("h2", { id: "routes-title" }, "Routes at the gateway"),
      table(["Method", "Path"], item.routes.map((r) =>
        h("tr", {}, h("td", {}, h("span", { class: ["method", `m-${r.method.toLowerCase()}`] }, r.method === "*" ? "ANY" : r.method)),
          h("td", {}, h("code", {}, `${item.base_path}${r.path}`)))), { caption: "Routes" })),
    h("section", { "aria-labelledby": "doc-title", class: "openapi" },
      h("h2", { id: "doc-title" }, "API reference"),
      doc ? renderOpenApi(doc)
        : docError instanceof ApiError && docError.status === 404
          ? h("p", { class: "empty" }, "This API has no OpenAPI document yet. The routes above are what the gateway serves.")
          : errorBox(docError)));
}
