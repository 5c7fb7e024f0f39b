"""Plans: tiers with limits, quotas, a price and the APIs they grant.

A plan that any live (active or pending) subscription uses cannot be deleted, only
retired: a retired plan keeps serving its subscribers but takes no new ones. Deletion
is conditional on the plan item's version, and every subscription write rewrites that
item under its version too, so "not in use" cannot race with a new subscription.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from shared.core import billing as core
from shared.core.clock import Clock
from shared.core.models import Algorithm, FailMode, OverageTier, Plan, to_dict
from shared.core.policy import SCOPED, PolicyError, parse
from shared.management import audit, records
from shared.management.billing import price_of
from shared.management.changes import Change
from shared.management.entities import Actor, new_id
from shared.management.errors import Conflict, Invalid, NotFound, commit
from shared.ports import Delete, Store

NOT_FOUND = "No plan with this id."
_ENUM_FIELDS = {"algorithm": Algorithm, "fail_mode": FailMode}


def monthly_charge_cents(plan: Plan, requests: int) -> int:
    """A whole month on ``plan`` with ``requests`` units: the statement's own math (fee,
    allowance, overage priced per tier, exact and rounded half up once; docs/billing.md)."""
    month = 30 * 86_400  # any length: a whole period prorates nothing
    c = core.charge(price_of(plan), month, requests, month)
    return c.total_cents


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name, enum in _ENUM_FIELDS.items():
        if name in out:
            out[name] = enum(out[name])
    if "apis" in out:
        out["apis"] = tuple(dict.fromkeys(out["apis"]))
    if "overage_tiers" in out:  # [] clears them (back to overage_cents_per_1000)
        out["overage_tiers"] = _tiers(out["overage_tiers"])
    if "policies" in out:  # IP lists and limits for its subscribers; {} clears them
        try:
            out["policies"] = parse(out["policies"], kinds=SCOPED)
        except PolicyError as e:
            raise Invalid(e.message, field=f"body.{e.field}") from None
    return out


#: More tiers than this is a price list no developer reads.
MAX_TIERS = 10


def _tiers(raw: list[dict[str, Any]]) -> tuple[OverageTier, ...]:
    """Graduated overage tiers: bounds strictly increasing, only the last one unbounded
    (so every overage unit has a price)."""
    tiers = tuple(OverageTier(t.get("up_to"), int(t["cents_per_1000"])) for t in raw)
    if len(tiers) > MAX_TIERS:
        raise Invalid(f"At most {MAX_TIERS} overage tiers.", field="body.overage_tiers")
    previous = 0
    for i, tier in enumerate(tiers):
        last = i == len(tiers) - 1
        if tier.up_to is None and not last:
            raise Invalid("Only the last overage tier may have no up_to (no upper bound).",
                          field=f"body.overage_tiers.{i}.up_to")
        if tier.up_to is not None and tier.up_to <= previous:
            raise Invalid(f"Each tier's up_to must be above the one before it ({previous}).",
                          field=f"body.overage_tiers.{i}.up_to")
        if last and tier.up_to is not None:
            raise Invalid("The last overage tier must have no up_to, so that every unit "
                          "above the included requests has a price.",
                          field=f"body.overage_tiers.{i}.up_to")
        previous = tier.up_to or previous
    return tiers


def _check_apis(store: Store, apis: tuple[str, ...]) -> None:
    unknown = sorted(set(apis) - records.api_names(store) - {"*"})
    if unknown:
        raise Invalid(
            f"No API is named {', '.join(unknown)}. Create the API first, or use '*' for all.",
            field="body.apis",
        )


def get(store: Store, plan_id: str) -> Plan:
    plan = records.get_plan(store, plan_id)
    if plan is None:
        raise NotFound(NOT_FOUND)
    return plan


def list_page(
    store: Store, *, include_retired: bool, limit: int, after: str | None
) -> tuple[list[Plan], str | None]:
    items, nxt = records.page(
        store, records.PLAN, limit=limit, after=after,
        keep=None if include_retired else (lambda i: not i.data.get("retired", False)),
    )
    return records.load_all(Plan, items), nxt


def _check_shards(plan: Plan) -> None:
    if plan.counter_shards > 1 and plan.algorithm is Algorithm.SLIDING:
        raise Invalid(
            "counter_shards above 1 needs the fixed-window algorithm (a sliding window's "
            "ceiling depends on the previous window's total, which shards do not know)"
        )


def create(store: Store, clock: Clock, actor: Actor, fields: dict[str, Any]) -> Plan:
    plan = Plan(id=new_id("pln"), **_typed(fields))
    _check_apis(store, plan.apis)
    _check_shards(plan)
    commit(store, clock, Change(
        [records.put_plan_write(plan, if_absent=True)],
        [audit.write(clock, actor, "plan.create", audit.Target("plan", plan.id),
                     after=to_dict(plan))],
    ))
    return plan


def _change(
    store: Store, clock: Clock, actor: Actor, plan_id: str, action: str, changes: dict[str, Any]
) -> Plan:
    found = records.get_versioned(store, Plan, records.PLAN, plan_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    before, version = found
    after = dataclasses.replace(before, **_typed(changes))
    if after.apis != before.apis:
        _check_apis(store, after.apis)
    _check_shards(after)
    if after == before:
        return before
    commit(store, clock, Change(
        [records.put_plan_write(after, if_version=version)],
        [audit.write(clock, actor, action, audit.Target("plan", plan_id),
                     before=to_dict(before), after=to_dict(after))],
    ))
    return after


def update(
    store: Store, clock: Clock, actor: Actor, plan_id: str, changes: dict[str, Any]
) -> Plan:
    return _change(store, clock, actor, plan_id, "plan.update", changes)


def retire(store: Store, clock: Clock, actor: Actor, plan_id: str) -> Plan:
    return _change(store, clock, actor, plan_id, "plan.retire", {"retired": True})


def delete(store: Store, clock: Clock, actor: Actor, plan_id: str) -> None:
    found = records.get_versioned(store, Plan, records.PLAN, plan_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    plan, version = found
    if records.plan_in_use(store, plan_id):
        raise Conflict("This plan has subscribers, so it cannot be deleted. Retire it instead: "
                       "it keeps serving them and takes no new subscriptions.")
    commit(store, clock, Change(
        [Delete(records.PLAN, plan_id, if_version=version)],
        [audit.write(clock, actor, "plan.delete", audit.Target("plan", plan_id),
                     before=to_dict(plan))],
    ))
