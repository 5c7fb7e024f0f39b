"""The catalog: API versions, their lifecycle and their OpenAPI documents.

Each (name, version) is one :class:`Api` with its own base path, so v1 and v2 run side
by side. Lifecycle moves only along ``models.TRANSITIONS``; deprecating needs a sunset
date. The gateway reads the catalog through its TTL cache, so a published change reaches
every warm gateway within ``TOLLWAY_CACHE_TTL`` seconds, without a restart.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from shared.core.clock import Clock
from shared.core.models import TRANSITIONS, Api, Lifecycle, Route, Upstream, to_dict
from shared.core.policy import PolicyError, check_route, merge, parse
from shared.management import audit, records
from shared.management.changes import Change, settle
from shared.management.entities import Actor, new_id
from shared.management.errors import Conflict, Invalid, NotFound, commit
from shared.management.upstreams import STRICT, UpstreamPolicy
from shared.management.upstreams import check as check_upstreams
from shared.ports import Delete, Store

NOT_FOUND = "No API with this id."
PUBLIC = frozenset({Lifecycle.PUBLISHED, Lifecycle.DEPRECATED})
MAX_DOC_BYTES = 512 * 1024
MAX_SUNSET = 10 * 366 * 86_400.0
TAKEN = "Another API already uses this name and version, or this base path."


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "upstreams" in out:
        out["upstreams"] = tuple(Upstream(**u) for u in out["upstreams"])
    try:
        if "routes" in out:
            out["routes"] = tuple(
                Route(r["method"], r["path"], tuple(r.get("scopes", ())),
                      parse(r.get("policies"), f"routes[{i}].policies"))
                for i, r in enumerate(out["routes"])
            )
            for i, r in enumerate(out["routes"]):
                check_route(r.policies, r.method, f"routes[{i}].policies")
        if "policies" in out:  # {} clears them
            out["policies"] = parse(out["policies"])
    except PolicyError as e:  # the schema validated each one; this is what needs the route
        raise Invalid(e.message, field=f"body.{e.field}") from None
    return out


def get(store: Store, api_id: str, *, public: bool = False) -> Api:
    api = records.get_api(store, api_id)
    if api is None or (public and api.lifecycle not in PUBLIC):
        raise NotFound(NOT_FOUND)
    return api


def list_page(
    store: Store, *, states: frozenset[Lifecycle] | None, name: str | None, limit: int,
    after: str | None,
) -> tuple[list[Api], str | None]:
    def keep(item: Any) -> bool:
        return (states is None or item.data.get("lifecycle") in states) and (
            name is None or item.data.get("name") == name
        )

    items, nxt = records.page(store, records.API, limit=limit, after=after, keep=keep)
    return records.load_all(Api, items), nxt


def _check_unique(store: Store, api: Api) -> None:
    """The index entries make this race-free; the scan also catches APIs written without
    them (seed data written straight to the store)."""
    for other in records.list_apis(store):
        if other.id != api.id and (
            (other.name, other.version) == (api.name, api.version)
            or other.base_path == api.base_path
        ):
            raise Conflict(TAKEN)


def _check_upstreams(fields: dict[str, Any], policy: UpstreamPolicy) -> None:
    if fields.get("upstreams") is not None:
        check_upstreams([u["url"] for u in fields["upstreams"]], policy)


def _check_budget(api: Api, budget: float) -> None:
    """Every attempt together must fit what the gateway can give one call (``budget``
    seconds, 0 = no limit): a catalog that promises more than the cloud honours would end
    in a killed invocation, not in the 504 the gateway renders."""
    total = api.timeout_seconds * (api.retries + 1)
    for route in api.routes:  # a route's own timeout and retries (traffic policy)
        t = merge(api.policies, route.policies)
        if t is not None and t.traffic is not None:
            own = ((t.traffic.timeout_seconds or api.timeout_seconds)
                   * ((api.retries if t.traffic.retries is None else t.traffic.retries) + 1))
            total = max(total, own)
    if budget and total > budget + 1e-9:
        raise Invalid(
            f"timeout_seconds x (retries + 1) is {total:g} s, but this deployment's gateway "
            f"can give an upstream at most {budget:g} s in all (on AWS: the router's Lambda "
            "timeout less its margin; HTTP APIs cap an integration at 30 s). Lower the "
            "timeout or the retries.",
            field="body.timeout_seconds",
        )


def create(store: Store, clock: Clock, actor: Actor, fields: dict[str, Any],
           policy: UpstreamPolicy = STRICT, *, budget: float = 0.0) -> Api:
    """``policy``: which upstream hosts are allowed (``upstreams.py``; strict by default);
    ``budget``: the most seconds all attempts of one call may take (``_check_budget``)."""
    _check_upstreams(fields, policy)
    api = Api(id=new_id("api"), **_typed(fields))
    _check_budget(api, budget)
    settle(store, records.API)  # an interrupted delete releases its claims first
    _check_unique(store, api)
    # The uniqueness claims decide; the API (what the gateway routes by) follows.
    commit(store, clock, Change(
        records.api_claim_writes(api),
        [audit.write(clock, actor, "api.create", audit.Target("api", api.id), after=to_dict(api)),
         records.put_api_write(api, if_absent=True)],
    ), TAKEN)
    return api


def _save(store: Store, clock: Clock, actor: Actor, action: str, before: Api, after: Api,
          version: int) -> Api:
    if after == before:
        return before
    entry = audit.write(clock, actor, action, audit.Target("api", after.id),
                        before=to_dict(before), after=to_dict(after))
    if after.base_path == before.base_path:
        commit(store, clock, Change([records.put_api_write(after, if_version=version)], [entry]))
        return after
    # A draft moving its base path: claim the new path first; the API follows under the
    # version read (a concurrent edit wins, and the path claim stays with the API's id).
    commit(store, clock, Change(
        records.api_path_move_writes(after, before),
        [records.put_api_write(after, if_version=version), entry],
    ), TAKEN)
    return after


def _versioned(store: Store, api_id: str) -> tuple[Api, int]:
    found = records.get_versioned(store, Api, records.API, api_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def update(store: Store, clock: Clock, actor: Actor, api_id: str,
           changes: dict[str, Any], policy: UpstreamPolicy = STRICT, *,
           budget: float = 0.0) -> Api:
    _check_upstreams(changes, policy)
    before, version = _versioned(store, api_id)
    if before.lifecycle is Lifecycle.RETIRED:
        raise Conflict("A retired API cannot change.")
    after = dataclasses.replace(before, **_typed(changes))
    if {"timeout_seconds", "retries", "policies", "routes"} & changes.keys():
        _check_budget(after, budget)
    if after.base_path != before.base_path and before.lifecycle is not Lifecycle.DRAFT:
        raise Conflict("The base path can change only while the API is a draft: clients "
                       "depend on it. Publish a new version with the new base path instead.")
    if after.base_path != before.base_path:
        _check_unique(store, after)
    return _save(store, clock, actor, "api.update", before, after, version)


def transition(store: Store, clock: Clock, actor: Actor, api_id: str, state: Lifecycle,
               sunset_at: float | None) -> Api:
    before, version = _versioned(store, api_id)
    allowed = TRANSITIONS[before.lifecycle]
    if state not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "nothing (it is final)"
        raise Conflict(f"An API that is {before.lifecycle.value} can move to {options}, "
                       f"not to {state.value}.")
    now = clock.now()
    changes: dict[str, Any] = {"lifecycle": state}
    if state is Lifecycle.DEPRECATED:
        if sunset_at is None or not now < sunset_at <= now + MAX_SUNSET:
            raise Invalid("Deprecating needs a sunset_at date in the future (at most ten "
                          "years ahead).", field="body.sunset_at")
        changes.update(deprecated_at=now, sunset_at=sunset_at)
    elif sunset_at is not None:
        raise Invalid("sunset_at is set only when deprecating.", field="body.sunset_at")
    after = dataclasses.replace(before, **changes)
    return _save(store, clock, actor, f"api.{state.value}", before, after, version)


def delete(store: Store, clock: Clock, actor: Actor, api_id: str) -> None:
    api, version = _versioned(store, api_id)
    if api.lifecycle is not Lifecycle.DRAFT:
        raise Conflict("Only a draft API can be deleted; deprecate and retire this one.")
    meta = records.doc_meta(store, api_id)
    # The API goes first (the gateway stops routing to it), its claims and document after.
    commit(store, clock, Change(
        [Delete(records.API, api_id, if_version=version)],
        [Delete(records.APIINDEX, records.api_name_sk(api.name, api.version)),
         Delete(records.APIINDEX, records.api_path_sk(api.base_path)),
         *(records.doc_delete_writes(api_id, int(meta["parts"])) if meta else []),
         audit.write(clock, actor, "api.delete", audit.Target("api", api_id),
                     before=to_dict(api))],
    ))


def put_document(store: Store, clock: Clock, actor: Actor, api_id: str,
                 document: dict[str, Any]) -> dict[str, Any]:
    api = get(store, api_id)
    if api.lifecycle is Lifecycle.RETIRED:
        raise Conflict("A retired API cannot change.")
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)  # ASCII: 1 char = 1 byte
    if len(text) > MAX_DOC_BYTES:
        raise Invalid(f"The document is {len(text)} bytes; at most {MAX_DOC_BYTES} are stored.",
                      field="body")
    old = records.doc_meta(store, api_id)
    meta = {"size": len(text), "updated_at": clock.now()}
    digest = hashlib.sha256(text.encode()).hexdigest()
    before = None if old is None else {"size": old["size"], "sha256": old["sha256"]}
    commit(store, clock, Change(
        records.doc_writes(api_id, text, meta, int(old["parts"]) if old else 0),
        [audit.write(clock, actor, "api.openapi", audit.Target("api", api_id),
                     before=before, after={**meta, "sha256": digest})],
    ))
    return meta


def get_document(store: Store, api_id: str, *, public: bool) -> dict[str, Any]:
    get(store, api_id, public=public)
    text = records.read_doc(store, api_id)
    if text is None:
        raise NotFound("This API has no OpenAPI document yet.")
    doc: dict[str, Any] = json.loads(text)
    return doc
