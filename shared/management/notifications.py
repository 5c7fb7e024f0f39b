"""Notices to developers, each sent once: deprecation notices to the consumers that called
a deprecated version in the last 30 days, quota alerts at 80 % and 100 % of a monthly
quota, and the result of a subscription awaiting approval.

Once: a claim ``NOTICE#<digest of dedup key> / SENT`` is written ``if_absent`` before the
notifier is called; a refused send deletes the claim (so a later run retries), a crash
between claim and send loses that one notice (at most once: a developer is never spammed;
the claim records "sending" so an operator can find it).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from shared.core import billing as core
from shared.core.clock import Clock
from shared.core.models import Lifecycle
from shared.management import analytics as reading
from shared.management import records
from shared.management.errors import Conflict, NotFound
from shared.metering import analytics
from shared.ports import ConditionFailed, Delete, Item, Notice, Notifier, NotifyFailed, Put, Store

THRESHOLDS = (80, 100)
DEPRECATION_DAYS = 30
_RESULTS = {"subscription.approve": "approved", "subscription.reject": "rejected"}


@dataclass(slots=True)
class Sent:
    sent: int = 0
    already: int = 0  # sent before (dedup)
    no_address: int = 0  # consumers without a developer account (admin-created)
    failed: int = 0


def _claim_pk(key: str) -> str:
    return "NOTICE#" + hashlib.sha256(key.encode()).hexdigest()[:32]


def send_once(store: Store, clock: Clock, notifier: Notifier, notice: Notice) -> bool:
    """Send ``notice`` unless its dedup key was sent before. False: sent before.
    Raises NotifyFailed (claim released, retry later is safe)."""
    pk = _claim_pk(notice.dedup_key)
    claim = {"key": notice.dedup_key, "kind": notice.kind, "state": "sending", "at": clock.now()}
    try:
        store.transact([Put(Item(pk, "SENT", claim), if_absent=True)])
    except ConditionFailed:
        return False
    try:
        message_id = notifier.send(notice)
    except NotifyFailed:
        store.transact([Delete(pk, "SENT")])
        raise
    store.transact([Put(Item(pk, "SENT", {**claim, "state": "sent", "message_id": message_id}))])
    return True


def recipient(store: Store, consumer_id: str) -> str | None:
    consumer = records.get_consumer(store, consumer_id)
    if consumer is None or not consumer.owner:
        return None
    account = records.get_account(store, consumer.owner)
    return None if account is None else account.email


def _deliver(store: Store, clock: Clock, notifier: Notifier, out: Sent, consumer_id: str,
             kind: str, key: str, subject: str, text: str, data: dict[str, Any]) -> None:
    to = recipient(store, consumer_id)
    if to is None:
        out.no_address += 1
        return
    try:
        done = send_once(store, clock, notifier, Notice(to, kind, subject, text, key, data))
    except NotifyFailed:
        out.failed += 1
        return
    if done:
        out.sent += 1
    else:
        out.already += 1


def deprecation(store: Store, clock: Clock, notifier: Notifier, api_id: str) -> Sent:
    """To exactly the consumers that called this deprecated version in the last 30 days."""
    api = records.get_api(store, api_id)
    if api is None:
        raise NotFound("No API with this id.")
    if api.lifecycle is not Lifecycle.DEPRECATED:
        raise Conflict("This API version is not deprecated; deprecate it first.")
    first_day = analytics.day_of(clock.now() - (DEPRECATION_DAYS - 1) * 86_400)
    sunset = (time.strftime("%Y-%m-%d", time.gmtime(api.sunset_at)) if api.sunset_at
              else "a date to be announced")
    out = Sent()
    for consumer_id in sorted(analytics.callers(store, api_id, first_day)):
        _deliver(store, clock, notifier, out, consumer_id, "deprecation",
                 f"deprecation:{api_id}:{consumer_id}",
                 f"{api.name} {api.version} is deprecated",
                 f"You called {api.name} {api.version} ({api.base_path}) in the last "
                 f"{DEPRECATION_DAYS} days. It is deprecated and will be retired on "
                 f"{sunset}. Move to a newer version before then.",
                 {"api_id": api_id, "sunset_at": api.sunset_at})
    return out


def quota_alerts(store: Store, clock: Clock, notifier: Notifier) -> Sent:
    """For every consumer and monthly quota: one alert at 80 % and one at 100 % per month."""
    out = Sent()
    month = core.month_of(clock.now())
    for consumer in records.list_consumers(store):
        for q in reading.quota(store, clock, consumer.id):
            reached = [t for t in THRESHOLDS if q.percent >= t]
            if not reached:
                continue
            t = reached[-1]
            _deliver(store, clock, notifier, out, consumer.id, "quota",
                     f"quota:{consumer.id}:{q.api}:{month}:{t}",
                     f"{q.percent} % of this month's {q.api} quota used",
                     f"Your plan {q.plan_name} allows {q.limit} requests to {q.api} per month; "
                     f"{q.used} are used ({q.percent} %). "
                     + ("Further requests are refused until the month ends."
                        if t == 100 else "Consider a larger plan."),
                     {"api": q.api, "used": q.used, "limit": q.limit, "threshold": t})
    return out


def subscription_results(store: Store, clock: Clock, notifier: Notifier,
                         days: int = 7) -> Sent:
    """The result of every approval decision of the last ``days`` days, from the audit log."""
    out = Sent()
    bound = f"{clock.now() - days * 86_400:020.6f}"
    after: str | None = None
    while True:
        page = store.query(records.AUDIT, limit=500, after=after, descending=True)
        for item in page:
            if item.sk < bound:
                return out
            d = item.data
            result = _RESULTS.get(str(d.get("action")))
            if result is None:
                continue
            plan_id = str((d.get("after") or {}).get("plan_id", ""))
            plan = records.get_plan(store, plan_id)
            name = plan.name if plan else plan_id
            _deliver(store, clock, notifier, out, str(d["consumer_id"]), "subscription",
                     f"subscription:{d['id']}", f"Your subscription to {name} was {result}",
                     f"An administrator {result} your subscription to the plan {name}.",
                     {"subscription_id": d["target_id"], "result": result})
        if len(page) < 500:
            return out
        after = page[-1].sk


def outbox(store: Store, limit: int) -> list[dict[str, Any]]:
    """The local notifier's outbox (``adapters/outbox_notifier.py``), newest first."""
    return [dict(i.data) for i in store.query("OUTBOX", limit=limit, descending=True)]
