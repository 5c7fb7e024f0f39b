"""Request validation against an API's OpenAPI document (the ``validate`` policy).

The document the catalog stores for an API (``PUT /v1/admin/apis/{id}/openapi``) is
compiled once: its operations become (method, path regex, parameters, JSON body schema)
with one jsonschema validator each, built when first needed and kept with the route table
(:class:`Validators` reloads a document only when the route table was refreshed and the
stored document's digest changed). A request is matched by method and path template; an
operation the document does not describe is not validated (APIM's
``unspecified-parameter-action="ignore"``).

What is wrong comes back as a list of ``{"in": "body"|"query"|"path", "pointer"|"name",
"message"}`` sorted the same way on every door; at most :data:`MAX_ERRORS`.

A document that cannot be compiled (a ``$ref`` to nowhere, a schema that is not one)
disables validation for its API with a logged warning — never a 500 — and the management
API refuses such a document when it is uploaded (:func:`problems`).

jsonschema is imported on first use only: a gateway without a ``validate`` route never
loads it (cold start).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from shared.core.outcomes import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE
from shared.core.policy import Validate

log = logging.getLogger("tollway.gateway")

MAX_ERRORS = 20
_PARAM = re.compile(r"\{([^{}/]+)\}")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Error = dict[str, str]


class DocumentError(ValueError):
    """The document cannot be compiled. ``where``: a JSON pointer into it."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(f"{where}: {message}")
        self.message, self.where = message, where


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    location: str  # path | query
    required: bool
    schema: Mapping[str, Any]
    validator: Any


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    params: tuple[_Param, ...]
    body: Any  # a validator, or None: no JSON body described
    body_required: bool


def _pointer(parts: list[Any] | tuple[Any, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class Document:
    """One compiled OpenAPI 3.x document."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        import jsonschema  # on first use only (cold start)
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4, DRAFT202012

        version = str(doc.get("openapi", ""))
        spec = DRAFT202012 if version.startswith("3.1") else DRAFT4  # 3.0: a Draft 4 subset
        cls = (jsonschema.Draft202012Validator if spec is DRAFT202012
               else jsonschema.Draft4Validator)
        self._doc = doc
        self.seen: dict[tuple[object, ...], list[Error]] = {}
        resource: Any = Resource(contents=dict(doc), specification=spec)  # type: ignore[call-arg]
        registry: Any = Registry().with_resource("urn:tollway:doc", resource)

        def validator(schema: Any, where: str) -> Any:
            if not isinstance(schema, Mapping | bool):
                raise DocumentError("a schema is an object", where)
            try:
                cls.check_schema(schema)
                if _has_ref(schema):  # resolved against the whole document
                    v = cls({"$ref": "urn:tollway:doc#" + quote(where, safe="/~")},
                            registry=registry)
                else:  # self-contained: ~15x faster per call than through the registry
                    v = cls(schema)
                v.is_valid(None)  # resolves every $ref on the way: a dangling one fails here
            except jsonschema.SchemaError as e:
                raise DocumentError(f"not a valid schema: {e.message}", where) from None
            except Exception as e:  # referencing's Unresolvable and friends
                raise DocumentError(f"cannot be resolved ({type(e).__name__}: {e})",
                                    where) from None
            return v

        self._validator: Callable[[Any, str], Any] = validator
        self._check_refs(doc, "")
        self.operations = tuple(self._operations())

    def _check_refs(self, node: Any, where: str) -> None:
        """Every local ``$ref`` in the document points somewhere (so none fails later, on a
        request that happens to reach it)."""
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                self._resolve({"$ref": ref if ref != "#" else "#/"}, where)
            for k, v in node.items():
                self._check_refs(v, f"{where}/{_pointer([k])[1:]}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._check_refs(v, f"{where}/{i}")

    def _resolve(self, obj: Any, where: str) -> tuple[Any, str]:
        """Follow a local ``$ref`` (parameters, request bodies): (object, its pointer)."""
        for _ in range(10):
            if not (isinstance(obj, Mapping) and isinstance(obj.get("$ref"), str)):
                return obj, where
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise DocumentError(f"only local references are followed, not {ref!r}", where)
            where, obj = ref[1:], self._doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(obj, Mapping) or part not in obj:
                    raise DocumentError(f"{ref!r} points nowhere", where)
                obj = obj[part]
        raise DocumentError("too many references in a row", where)

    def _operations(self) -> list[Operation]:
        paths = self._doc.get("paths") or {}
        if not isinstance(paths, Mapping):
            raise DocumentError("paths is an object", "/paths")
        ops: list[Operation] = []
        for template, item in paths.items():
            base = _pointer(["paths", template])
            item, base = self._resolve(item, base)
            if not isinstance(item, Mapping) or not str(template).startswith("/"):
                raise DocumentError("a path item object under a path starting with /", base)
            common = self._params(item.get("parameters") or [], base + "/parameters")
            for method in _METHODS:
                op = item.get(method)
                if op is None:
                    continue
                where = base + "/" + method
                if not isinstance(op, Mapping):
                    raise DocumentError("an operation object", where)
                own = self._params(op.get("parameters") or [], where + "/parameters")
                params = {(p.location, p.name): p for p in (*common, *own)}  # op overrides
                body, required = self._body(op.get("requestBody"), where + "/requestBody")
                ops.append(Operation(method.upper(), str(template), _regex(str(template)),
                                     tuple(params.values()), body, required))
        # A literal segment beats a parameter: /items/mine before /items/{id}.
        ops.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
        return ops

    def _params(self, raw: Any, where: str) -> list[_Param]:
        if not isinstance(raw, list):
            raise DocumentError("a list of parameters", where)
        out = []
        for i, p in enumerate(raw):
            p, at = self._resolve(p, f"{where}/{i}")
            if not isinstance(p, Mapping) or not isinstance(p.get("name"), str):
                raise DocumentError("a parameter object with a name", at)
            loc = p.get("in")
            if loc not in ("path", "query"):
                continue  # headers and cookies: not validated here
            schema = p.get("schema", {})
            out.append(_Param(p["name"], str(loc), bool(p.get("required", loc == "path")),
                              schema if isinstance(schema, Mapping) else {},
                              self._validator(schema, at + "/schema")))
        return out

    def _body(self, raw: Any, where: str) -> tuple[Any, bool]:
        if raw is None:
            return None, False
        rb, at = self._resolve(raw, where)
        if not isinstance(rb, Mapping):
            raise DocumentError("a request body object", at)
        content = rb.get("content") or {}
        for media, obj in content.items() if isinstance(content, Mapping) else ():
            m = str(media).split(";")[0].strip().lower()
            json_media = m == "application/json" or m.endswith("+json")
            if json_media and isinstance(obj, Mapping) and "schema" in obj:
                at_schema = at + "/content/" + _pointer([media])[1:] + "/schema"
                return self._validator(obj["schema"], at_schema), bool(rb.get("required"))
        return None, False

    def operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self.operations:
            if op.method != method:
                continue
            m = op.pattern.fullmatch(path)
            if m is not None:
                return op, m.groupdict()
        return None


def _has_ref(node: Any) -> bool:
    if isinstance(node, Mapping):
        return "$ref" in node or any(_has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_ref(v) for v in node)
    return False


def _regex(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for i, m in enumerate(_PARAM.finditer(template)):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<p{i}>[^/]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out) + "/?")


def _coerce(raw: list[str], schema: Mapping[str, Any]) -> Any:
    """Query and path values are strings: read them as the schema's type says."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "array":
        found = schema.get("items")
        items: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        values = [v for r in raw for v in r.split(",")] if len(raw) == 1 else raw
        return [_scalar(v, items) for v in values]
    return _scalar(raw[-1], schema)


def _scalar(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value  # the schema then says what is wrong
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def check(doc: Document, which: Validate, method: str, rest: str, query: str,
          content_type: str | None, body: bytes) -> list[Error]:
    """What is wrong with the request, as the document describes its operation. Verdicts
    on requests without a body are remembered per document (bounded, like IP verdicts):
    the same path and query are validated once."""
    if body:
        return _check(doc, which, method, rest, query, content_type, body)
    memo = doc.seen
    k = (which.body, which.query, which.path, method, rest, query, content_type)
    got = memo.get(k)
    if got is None:
        got = _check(doc, which, method, rest, query, content_type, body)
        if len(memo) >= 4096:
            memo.clear()
        memo[k] = got
    return list(got)


def _check(doc: Document, which: Validate, method: str, rest: str, query: str,
           content_type: str | None, body: bytes) -> list[Error]:
    found = doc.operation(method, rest or "/")
    if found is None:
        return []
    op, groups = found
    errors: list[Error] = []
    names = _PARAM.findall(op.template)
    path_values = {names[int(k[1:])]: v for k, v in groups.items()} if names else {}
    query_values: dict[str, list[str]] = {}
    if which.query:
        for k, v in parse_qsl(query, keep_blank_values=True):
            query_values.setdefault(k, []).append(v)
    for p in op.params:
        if p.location == "path" and which.path and p.name in path_values:
            value = _coerce([unquote(path_values[p.name])], p.schema)
            errors += [{"in": "path", "name": p.name, "message": e.message}
                       for e in p.validator.iter_errors(value)]
        elif p.location == "query" and which.query:
            got = query_values.get(p.name)
            if got is None:
                if p.required:
                    errors.append({"in": "query", "name": p.name,
                                   "message": "required parameter missing"})
                continue
            value = _coerce(got, p.schema)
            errors += [{"in": "query", "name": p.name, "message": e.message}
                       for e in p.validator.iter_errors(value)]
    if which.body and op.body is not None:
        errors += _body_errors(op, content_type, body)
    errors.sort(key=lambda e: (e["in"], e.get("name", e.get("pointer", "")), e["message"]))
    return errors[:MAX_ERRORS]


def _body_errors(op: Operation, content_type: str | None, body: bytes) -> list[Error]:
    if not body:
        return ([{"in": "body", "pointer": "", "message": "a JSON request body is required"}]
                if op.body_required else [])
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return [{"in": "body", "pointer": "",
                 "message": "send the body as JSON (Content-Type: application/json)"}]
    try:
        instance = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [{"in": "body", "pointer": "", "message": "the body is not valid JSON"}]
    return [{"in": "body", "pointer": _pointer(list(e.absolute_path)), "message": e.message}
            for e in op.body.iter_errors(instance)]


def problem_body(errors: list[Error]) -> bytes:
    listed = ", ".join(sorted({e["in"] for e in errors}))
    doc = {
        "type": PROBLEM_TYPE_BASE + "request-invalid",
        "title": "Bad Request",
        "status": 400,
        "detail": f"The request does not match the API's description ({listed}). "
                  "See 'errors'.",
        "errors": errors,
    }
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


CONTENT_TYPE = PROBLEM_CONTENT_TYPE


def problems(doc: Mapping[str, Any]) -> DocumentError | None:
    """For the management API: why a document cannot be used for validation, or None."""
    try:
        Document(doc)
    except DocumentError as e:
        return e
    return None


class Validators:
    """Compiled documents per API, kept with the route table: reloaded when the route
    table was refreshed (``TOLLWAY_CACHE_TTL``), recompiled only when the stored document's
    digest changed. ``None``: no usable document (validation off for that API)."""

    def __init__(self) -> None:
        self._by_api: dict[str, tuple[object, str, Document | None]] = {}
        self._lock = threading.Lock()

    def get(self, api_id: str, table: object,
            load_meta: Callable[[], Mapping[str, Any] | None],
            load_text: Callable[[], str | None]) -> Document | None:
        entry = self._by_api.get(api_id)
        if entry is not None and entry[0] is table:
            return entry[2]
        meta = load_meta()
        digest = "" if meta is None else str(meta.get("sha256", ""))
        if entry is not None and entry[1] == digest:
            compiled = entry[2]
        elif meta is None:
            compiled = None
        else:
            compiled = self._compile(api_id, load_text())
        with self._lock:
            self._by_api[api_id] = (table, digest, compiled)
        return compiled

    @staticmethod
    def _compile(api_id: str, text: str | None) -> Document | None:
        if text is None:
            return None
        try:
            return Document(json.loads(text))
        except (DocumentError, ValueError) as e:
            log.warning("validation is off for API %s: its OpenAPI document cannot be "
                        "compiled (%s)", api_id, e)
            return None
