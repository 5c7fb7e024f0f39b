"""The route table: base path + method + path template -> API version and upstream.

Only published, deprecated and retired APIs are routable; drafts are invisible (404).
Base paths match on whole segments (``/demo/v1`` does not match ``/demo/v10``); the longest
base path wins. Templates use ``{name}`` for one segment and a trailing ``/*`` for any rest.

Matching is on :func:`shared.core.paths.canonical_path` of the request path: a path with no
canonical form is a 400 (``Outcome.BAD_REQUEST``), never a guess. ``Match.rest`` is the
canonical path below the base path: forward exactly that, so the upstream sees the path
the route (and its scopes) were chosen for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate

from shared.core.models import Api, Lifecycle, Route, Upstream
from shared.core.outcomes import Outcome
from shared.core.paths import canonical_path
from shared.core.policy import merge
from shared.core.policy_rules import Compiled, compile_policies

_ROUTABLE = frozenset({Lifecycle.PUBLISHED, Lifecycle.DEPRECATED, Lifecycle.RETIRED})
_PARAM = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def compile_template(template: str) -> re.Pattern[str]:
    if template in ("/*", "*"):
        return re.compile(r"(?:/.*)?")
    tail = ""
    if template.endswith("/*"):
        template, tail = template[:-2], r"(?:/.*)?"
    parts = _PARAM.split(template)
    pattern = r"[^/]+".join(re.escape(p) for p in parts)
    return re.compile(pattern + tail)


@dataclass(frozen=True, slots=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    policy: Compiled | None = None  # the API's and the route's policies, merged once


@dataclass(frozen=True, slots=True)
class Match:
    outcome: Outcome  # OK, BAD_REQUEST, ROUTE_NOT_FOUND, METHOD_NOT_ALLOWED or API_RETIRED
    api: Api | None = None
    route: Route | None = None
    rest: str = ""  # canonical path below the base path: forward exactly this upstream
    allow: tuple[str, ...] = ()
    policy: Compiled | None = None  # None: the route has no policies (and pays for none)


_NOT_FOUND = Match(Outcome.ROUTE_NOT_FOUND)
_BAD_PATH = Match(Outcome.BAD_REQUEST)


class RouteTable:
    """Immutable; rebuilt when the catalog changes (the cache TTL bounds how often)."""

    def __init__(self, apis: Iterable[Api]) -> None:
        entries = []
        self.anonymous = False  # some route is public: a request without credentials may pass
        self._api_policies: dict[str, Compiled] = {}
        for api in apis:
            if api.lifecycle not in _ROUTABLE:
                continue
            if api.policies is not None and not api.policies.empty:
                self._api_policies[api.id] = compile_policies(api.policies, api, "* /*")
            base = api.base_path.rstrip("/")
            compiled = tuple(_CompiledRoute(r, compile_template(r.path), _policy(api, r))
                             for r in api.routes)
            self.anonymous = self.anonymous or any(
                c.policy is not None and c.policy.anonymous is not None for c in compiled)
            entries.append((base, api, compiled))
        entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._entries = tuple(entries)

    def api_policy(self, api: Api) -> Compiled | None:
        """The API's own policies (no route's), e.g. for a preflight no route answers."""
        return self._api_policies.get(api.id)

    def match(self, method: str, path: str) -> Match:
        """Match the canonical form of ``path`` (as received, percent-encoded)."""
        canonical = canonical_path(path)
        if canonical is None:
            return _BAD_PATH
        path = canonical
        for base, api, routes in self._entries:
            if path != base and not path.startswith(base + "/"):
                continue
            if api.lifecycle is Lifecycle.RETIRED:
                return Match(Outcome.API_RETIRED, api=api)
            rest = path[len(base) :]
            allowed: list[str] = []
            for cr in routes:
                if cr.pattern.fullmatch(rest or "/") is None and cr.pattern.fullmatch(rest) is None:
                    continue
                if cr.route.method in ("*", method):
                    return Match(Outcome.OK, api=api, route=cr.route, rest=rest,
                                 policy=cr.policy)
                allowed.append(cr.route.method)
            if allowed:
                return Match(Outcome.METHOD_NOT_ALLOWED, api=api, allow=tuple(sorted(allowed)))
            return _NOT_FOUND
        return _NOT_FOUND


def _policy(api: Api, route: Route) -> Compiled | None:
    merged = merge(api.policies, route.policies)
    if merged is None:
        return None
    return compile_policies(merged, api, f"{route.method} {route.path}")


def pick_upstream(upstreams: tuple[Upstream, ...], seed: int) -> Upstream:
    """Weighted choice, deterministic in ``seed`` (the request id's hash) for testability."""
    total = sum(u.weight for u in upstreams if u.weight > 0)
    if total <= 0:
        return upstreams[0]
    point = seed % total
    for u in upstreams:
        if u.weight <= 0:
            continue
        if point < u.weight:
            return u
        point -= u.weight
    return upstreams[-1]


def lifecycle_headers(api: Api) -> dict[str, str]:
    """``Deprecation`` (RFC 9745, structured date ``@epoch``) and ``Sunset`` (RFC 8594)."""
    if api.lifecycle is not Lifecycle.DEPRECATED:
        return {}
    headers = {"Deprecation": f"@{int(api.deprecated_at or 0)}"}
    if api.sunset_at is not None:
        headers["Sunset"] = formatdate(api.sunset_at, usegmt=True)
    return headers
