"""Warm gateway decision CPU (key path, memory store) next to the work it cannot avoid."""

from __future__ import annotations

import hashlib

import jwt

from bench.common import cpu_per_call, paired_cpu, row
from shared.core.request import GatewayRequest
from shared.core.tokens import Issuer
from tests.functional.conftest import make_world


def run() -> list[str]:
    world = make_world(ttl=3600)
    # A plan generous enough that the benchmark never hits the limit.
    from shared.core.models import Plan
    from shared.management import records

    records.save_unaudited(
        world.store,
        [
            records.put_plan_write(
                Plan("free", "Free", apis=("demo",), rate_per_minute=10**12, quota_per_day=10**12)
            )
        ],
    )
    key = world.keys["a"]
    req = GatewayRequest(
        "GET", "/demo/v2/echo/hi", "", (("x-api-key", key), ("x-request-id", "bench-request-1"))
    )
    gw = world.gateway
    gw.decide(req)
    table = {hashlib.sha256(key.encode()).hexdigest(): object()}

    def floor() -> object:
        return table.get(hashlib.sha256(key.encode()).hexdigest())

    n = 20_000
    decide = cpu_per_call(lambda: gw.decide(req), n)
    handle = cpu_per_call(lambda: gw.handle(req), n // 2)
    sha = cpu_per_call(floor, n * 5)
    trips_before = world.store.round_trips
    for _ in range(100):
        gw.handle(req)
    trips = (world.store.round_trips - trips_before) / 100

    # JWT path vs a bare PyJWT verify with the same key.
    secret = "k" * 48
    token = jwt.encode(
        {"iss": "https://idp", "aud": "tollway", "sub": "con_a", "exp": 4_102_444_800},
        secret,
        algorithm="HS256",
    )
    gw.issuers = {"https://idp": Issuer("https://idp", "tollway", ("HS256",), lambda kid: secret)}
    jreq = GatewayRequest(
        "GET",
        "/demo/v2/echo/hi",
        "",
        (("authorization", f"Bearer {token}"), ("x-request-id", "bench-request-2")),
    )
    assert gw.decide(jreq).outcome.value == "ok"
    jwt_decide, bare = paired_cpu(
        lambda: gw.decide(jreq),
        lambda: jwt.decode(
            token, secret, algorithms=["HS256"], audience="tollway", issuer="https://idp"
        ),
        n // 8,
    )
    return [
        "Warm gateway (memory store, key path)",
        row("gateway decide() CPU per request", f"{decide * 1e6:.1f} µs"),
        row("gateway handle() CPU per request (in-process upstream)", f"{handle * 1e6:.1f} µs"),
        row("floor: SHA-256 of the key + dict lookup", f"{sha * 1e6:.2f} µs"),
        row("decide() / floor", f"{decide / sha:.1f}x"),
        row("store round trips per request (steady state)", f"{trips:.2f}"),
        row("synchronous metering writes per request", "0", "(BufferedSink queues)"),
        "JWT path",
        row("gateway decide() with a bearer JWT (HS256)", f"{jwt_decide * 1e6:.1f} µs"),
        row("bare PyJWT decode+verify, same token and key", f"{bare * 1e6:.1f} µs"),
        row("JWT decide() / bare verify (goal <= 1.5x)", f"{jwt_decide / bare:.2f}x"),
    ]
