// The management API client and the session.
//
// The session (a short-lived JWT from /v1/auth/*, or the admin token) lives in
// sessionStorage: it survives a reload but not the tab, is never sent automatically the way
// a cookie is (so no CSRF), and is never written to localStorage. API keys are never stored.

const SESSION = "tollway.session";

export const config = window.TOLLWAY || null;

/** An RFC 9457 problem (or a network failure) turned into a readable message. */
export class ApiError extends Error {
  constructor(status, message, { fields = [], problem = null } = {}) {
    super(message);
    this.status = status;
    this.fields = fields; // [{field, detail}]
    this.problem = problem;
  }
}

// --- session ------------------------------------------------------------------------------

export function getSession() {
  let session = null;
  try {
    session = JSON.parse(sessionStorage.getItem(SESSION) || "null");
  } catch {
    session = null;
  }
  if (!session || !session.token) return null;
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) {
    clearSession();
    return null;
  }
  return session;
}

export function setSession(session) {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  window.dispatchEvent(new Event("tollway:session"));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION);
  window.dispatchEvent(new Event("tollway:session"));
}

export const isAdmin = (s = getSession()) => Boolean(s && s.role === "admin");
export const isDeveloper = (s = getSession()) => Boolean(s && s.kind === "developer");

// --- requests -----------------------------------------------------------------------------

function fieldName(path) {
  // "body.password" -> "password", "query.start" -> "start"
  return String(path || "").replace(/^(body|query|path|header)\.?/, "") || "request";
}

function toError(resp, data) {
  const isProblem = data && typeof data === "object" && (data.detail || data.title);
  let message = isProblem ? (data.detail || data.title) : `The management API answered ${resp.status} ${resp.statusText}.`;
  const fields = Array.isArray(data?.errors)
    ? data.errors.map((e) => ({ field: fieldName(e.field), detail: String(e.detail || e.type || "invalid") }))
    : [];
  const retry = resp.headers.get("Retry-After");
  if (retry && /^\d+$/.test(retry)) message += ` Try again in ${retry} s.`;
  return new ApiError(resp.status, message, { fields, problem: isProblem ? data : null });
}

/**
 * Call the management API: api("/v1/me/keys", {method: "POST", body: {...}}).
 * Resolves with the JSON body (null for 204), or the text with `raw: true` (a CSV);
 * rejects with ApiError.
 */
export async function api(path, { method = "GET", body, query, auth = true, token, raw = false } = {}) {
  if (!config) throw new ApiError(0, "config.js did not load: the portal does not know where the management API is.");
  const url = new URL(config.managementUrl.replace(/\/$/, "") + path);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const headers = { Accept: "application/json, application/problem+json" };
  const session = getSession();
  const bearer = token || (auth && session ? session.token : null);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store",
    });
  } catch {
    throw new ApiError(0, `The management API at ${config.managementUrl} is not reachable. Check that it is running, then retry.`);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  if (raw && resp.ok) return text;
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && bearer && !token && session) {
      clearSession();
      window.dispatchEvent(new CustomEvent("tollway:expired"));
    }
    throw toError(resp, data);
  }
  return data;
}

/** Every item of a paged list (bounded: at most `pages` pages). */
export async function fetchAll(path, query = {}, pages = 20) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < pages; i += 1) {
    const page = await api(path, { query: { ...query, limit: 100, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}
