"""First-start demo data for the local stack: three versions of a demo API (retired,
deprecated, published), a free and a pro plan, a demo consumer with a key."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace

from shared.core import keys as keymod
from shared.core.models import (
    Api,
    Consumer,
    KeyRecord,
    Lifecycle,
    Plan,
    Route,
    Subscription,
    Upstream,
)
from shared.management import records
from shared.ports import Store, Write

DEMO_CONSUMER = "con_demo"
DAY = 86_400.0

# A per-second limit, not per-minute: the README tour's "past the limit" step sends six
# calls in one curl (a few milliseconds), so it gets its 429s whenever it runs, and running
# the tour again a second later starts afresh. A per-minute window made the step straddle
# a minute boundary now and then, and a re-run within the minute start at 429.
FREE = Plan(
    id="free",
    name="Free",
    apis=("demo",),
    rate_per_second=2,
    quota_per_day=1000,
    description="Try it out: 2 requests a second, 1,000 a day.",
)
PRO = Plan(
    id="pro",
    name="Pro",
    apis=("demo",),
    rate_per_second=50,
    rate_per_minute=1000,
    quota_per_month=1_000_000,
    monthly_fee_cents=4900,
    included_requests=1_000_000,
    overage_cents_per_1000=50,
    description="For production: 50/s, 1M requests a month included, then $0.50 per 1,000.",
)


def demo_apis(upstream_url: str, now: float) -> list[Api]:
    routes = (Route("GET", "/echo/*"), Route("POST", "/echo/*"), Route("GET", "/status/{code}"))
    v2 = Api(
        id="demo-v2",
        name="demo",
        version="v2",
        base_path="/demo/v2",
        upstreams=(Upstream(upstream_url),),
        routes=routes,
        lifecycle=Lifecycle.PUBLISHED,
        description="An echo service: it answers with what it received.",
    )
    return [
        replace(v2, id="demo-v0", version="v0", base_path="/demo/v0",
                lifecycle=Lifecycle.RETIRED, description="The first demo API. Retired."),
        replace(v2, id="demo-v1", version="v1", base_path="/demo/v1",
                lifecycle=Lifecycle.DEPRECATED, deprecated_at=now, sunset_at=now + 90 * DAY,
                description="Deprecated: move to v2 before the sunset date."),
        v2,
    ]


def demo_openapi(version: str) -> dict[str, object]:
    """The demo API's OpenAPI document, shown in the portal."""
    echo_get = {
        "summary": "Echo a GET",
        "description": "Answers with the method, path, query, headers and body it received.",
        "parameters": [
            {
                "name": "rest",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "Any path.",
            }
        ],
        "responses": {"200": {"description": "What the upstream received, as JSON."}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Demo echo API",
            "version": version,
            "description": "An echo service behind the Tollway gateway.",
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/echo/{rest}": {
                "get": echo_get,
                "post": {
                    **echo_get,
                    "summary": "Echo a POST",
                    "requestBody": {"content": {"application/json": {"schema": {}}}},
                },
            },
            "/status/{code}": {
                "get": {
                    "summary": "Answer with a chosen status",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 200, "maximum": 599},
                        }
                    ],
                    "responses": {"default": {"description": "The status asked for."}},
                }
            },
        },
    }


def is_seeded(store: Store) -> bool:
    return records.get_plan(store, FREE.id) is not None


def seed(store: Store, upstream_url: str, now: float) -> None:
    writes: list[Write] = [records.put_plan_write(FREE), records.put_plan_write(PRO)]
    writes += [records.put_api_write(a) for a in demo_apis(upstream_url, now)]
    writes.append(
        records.put_consumer_write(Consumer(DEMO_CONSUMER, "Demo consumer", created_at=now))
    )
    # With its plan and status index entries: the admin sees it, and "free" counts as in use.
    demo_sub = Subscription("sub_demo", DEMO_CONSUMER, FREE.id, created_at=now)
    writes += records.subscription_writes(demo_sub)
    for api in demo_apis(upstream_url, now):
        text = json.dumps(demo_openapi(api.version), separators=(",", ":"), sort_keys=True)
        writes += records.doc_writes(api.id, text, {"size": len(text), "updated_at": now}, 0)
    records.save_unaudited(store, writes)


def point_demo_upstream(store: Store, upstream_url: str) -> None:
    """The demo upstream's port may change between runs; keep the catalog pointing at it."""
    for api in records.list_apis(store):
        if api.name == "demo" and api.upstreams and api.upstreams[0].url != upstream_url:
            records.save_unaudited(
                store, [records.put_api_write(replace(api, upstreams=(Upstream(upstream_url),)))]
            )


def issue_demo_key(store: Store, prefix: str, now: float) -> str:
    issued = keymod.generate(prefix)
    key = KeyRecord(
        id="key_" + secrets.token_urlsafe(9),
        consumer_id=DEMO_CONSUMER,
        key_hash=issued.key_hash,
        hint=issued.hint,
        name="demo",
        created_at=now,
    )
    records.save_unaudited(store, records.key_writes(key, new=True))
    return issued.plaintext
