"""THE scenario table: every scenario runs on every front door (tests/parity/doors/).

Each row is a request spec (method, raw path, raw query, header pairs with repeats, body
bytes), optionally preceded by other requests, clock advances and store faults, and the
expected status of every request. Expected header values are NORMALISED values
(normalise.py): names lower-case, repeats of a name joined with ", ", generated request
ids shown as ``<generated>``. ``None`` means "must be absent".

The world (world.py): plan ``free`` (3/min) for ``con_a``; ``quota`` (2/day) for
``con_q``; ``open`` (fail-open) for ``con_open``; ``con_sus`` suspended; ``con_pend``
awaiting approval; APIs demo v0 (retired), v1 (deprecated, with a sunset), v2, billing v1,
draft v1, each with routes ``GET|POST /echo/*``, ``GET /admin/*`` (scope ``admin``) and
``* /x/*`` (the fake upstream's programmable answers: cookies, mirror, binary, hop, ...).
The clock starts at 2026-01-01T00:00:10Z.
"""

from __future__ import annotations

from typing import Any

from tests.parity.normalise import GENERATED, Run
from tests.parity.spec import Advance, Bearer, Fault, HeaderValue, Key, Request, Scenario
from tests.parity.world import APP_ORIGIN, BINARY, COOKIES, MAX_BODY, ORIGIN, T0

UNAUTHORIZED = 'Bearer realm="tollway", ApiKey realm="tollway" header="X-Api-Key"'
PROBLEM = "application/problem+json"
EXPOSED = "RateLimit, RateLimit-Policy, Retry-After, Deprecation, Sunset, X-Request-Id"
POLICY = '"per-minute";q=3;w=60'
LARGE = bytes(range(256)) * 3600  # 921,600 bytes: every byte value, 900 KB
DENIED_401 = {"content-type": PROBLEM, "www-authenticate": UNAUTHORIZED,
              "x-request-id": GENERATED, "ratelimit": None}


def req(
    path: str = "/demo/v2/echo/hi",
    *,
    key: str | None = "a",
    method: str = "GET",
    query: str = "",
    headers: tuple[tuple[str, HeaderValue], ...] = (),
    body: bytes = b"",
    expect: int = 200,
    **expect_headers: str | None,
) -> Request:
    """A request; ``key``: the world's key sent as X-Api-Key (None: no key). Keyword
    arguments are expected headers, ``_`` for ``-`` (``retry_after="50"``)."""
    h: tuple[tuple[str, HeaderValue], ...] = headers
    if key is not None:
        h = (("X-Api-Key", Key(key)), *h)
    want = {k.replace("_", "-"): v for k, v in expect_headers.items()}
    return Request(method, path, query, h, body, expect, want)


def one(id: str, request: Request, doc: str = "", check: Any = None) -> Scenario:
    return Scenario(id, (request,), doc, check)


# --- checks on what the upstream received (run on every door) ------------------------------


def forwarded_as(path: str, query: str = "") -> Any:
    def check(run: Run) -> None:
        ex = run.last
        assert len(ex.upstream) == 1, "forwarded once"
        url = ex.upstream[0].url
        assert url == "http://upstream.parity.test" + path + (f"?{query}" if query else ""), url

    return check


def never_forwarded(run: Run) -> None:
    assert all(not ex.upstream for ex in run.exchanges), "a denial reached the upstream"


def identity_asserted_by_the_gateway(run: Run) -> None:
    ex = run.last
    assert ex.upstream_header("x-tollway-consumer") == ["con_a"]
    assert ex.upstream_header("x-tollway-plan") == ["free"]
    assert ex.upstream_header("x-tollway-admin") == []
    assert ex.upstream_header("x-api-key") == []  # credentials never leave the gateway


def hop_by_hop_dropped(run: Run) -> None:
    ex = run.last
    assert ex.upstream_header("x-drop-me") == []
    assert ex.upstream_header("connection") == []
    assert ex.upstream_header("x-kept") == ["yes"]
    assert ex.upstream_header("x-forwarded-for") == ["198.51.100.7, 127.0.0.1"]


def body_reached_upstream(expected: bytes) -> Any:
    def check(run: Run) -> None:
        (up,) = run.last.upstream
        assert up.body == expected, f"upstream got {len(up.body)} bytes"

    return check


def client_id_propagated(run: Run) -> None:
    assert run.last.upstream_header("x-request-id") == ["client-req-0001"]


def generated_id_propagated(run: Run) -> None:
    (sent,) = run.last.upstream_header("x-request-id")
    assert sent != "bad id!" and run.last.observed.get("x-request-id") == sent


def cookies_reached_upstream(run: Run) -> None:
    (cookie,) = run.last.upstream_header("cookie")
    assert cookie == "a=1; b=2", cookie


def repeated_accept_reached_upstream(run: Run) -> None:
    values = run.last.upstream_header("accept")
    assert ", ".join(p.strip() for v in values for p in v.split(",")) == (
        "text/plain, application/json"
    ), values


def sunset(seconds: float) -> str:
    from email.utils import formatdate

    return formatdate(seconds, usegmt=True)


# --- the table ------------------------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    # 200 and what crosses ----------------------------------------------------------------
    one("200-key", req(query="lang=en&page=2", content_type="application/json",
                       ratelimit_policy=POLICY, ratelimit='"per-minute";r=2;t=50',
                       x_request_id=GENERATED, deprecation=None),
        "API key, forwarded with the query as sent", forwarded_as("/echo/hi", "lang=en&page=2")),
    one("200-raw-query", req(query="q=a%20b&x=%2F&empty=&dup=1&dup=2"),
        "the raw query reaches the upstream byte for byte",
        forwarded_as("/echo/hi", "q=a%20b&x=%2F&empty=&dup=1&dup=2")),
    one("200-canonical-path", req("/demo/v2/echo/%7Euser"),
        "percent-encoded unreserved characters are decoded before routing and forwarding",
        forwarded_as("/echo/~user")),
    one("200-post-json", req(method="POST", body=b'{"a":1}',
                             headers=(("Content-Type", "application/json"),)),
        "a small text body", body_reached_upstream(b'{"a":1}')),
    one("200-identity-headers-stripped",
        req(headers=(("X-Tollway-Consumer", "con_admin"), ("X-Tollway-Admin", "1"))),
        "client-sent X-Tollway-* never reach the upstream; the gateway asserts its own",
        identity_asserted_by_the_gateway),
    one("200-client-hop-by-hop",
        req(headers=(("Connection", "x-drop-me"), ("X-Drop-Me", "1"), ("X-Kept", "yes"),
                     ("X-Forwarded-For", "198.51.100.7"))),
        "headers named by Connection are dropped; X-Forwarded-For is appended to",
        hop_by_hop_dropped),
    one("200-client-cookies", req(headers=(("Cookie", "a=1; b=2"),)),
        "the client's cookies reach the upstream as one Cookie header", cookies_reached_upstream),
    one("200-repeated-request-header",
        req(headers=(("Accept", "text/plain"), ("Accept", "application/json"))),
        "a repeated request header reaches the upstream (AWS joins it)",
        repeated_accept_reached_upstream),
    # request ids ---------------------------------------------------------------------------
    one("request-id-echoed", req(headers=(("X-Request-Id", "client-req-0001"),),
                                 x_request_id="client-req-0001"),
        "a well-formed client X-Request-Id is echoed and propagated", client_id_propagated),
    one("request-id-invalid-replaced", req(headers=(("X-Request-Id", "bad id!"),),
                                           x_request_id=GENERATED),
        "a malformed one is replaced by the gateway's own", generated_id_propagated),
    one("request-id-on-denial", req(key=None, headers=(("X-Request-Id", "client-req-0002"),),
                                    expect=401, x_request_id="client-req-0002"),
        "denials echo the caller's id too", never_forwarded),
    # 401 -------------------------------------------------------------------------------------
    one("401-missing-key", req(key=None, expect=401, **DENIED_401), check=never_forwarded),
    one("401-malformed-key", req(key=None, headers=(("X-Api-Key", "tw_nope"),), expect=401,
                                 **DENIED_401), check=never_forwarded),
    one("401-unknown-key", req(key="unknown", expect=401, **DENIED_401), check=never_forwarded),
    one("401-revoked-key", req(key="revoked", expect=401, **DENIED_401), check=never_forwarded),
    one("401-expired-key", req(key="expired", expect=401, **DENIED_401), check=never_forwarded),
    one("401-bad-bearer", req(key=None, headers=(("Authorization", "Bearer a.b.c"),),
                              expect=401, **DENIED_401), check=never_forwarded),
    one("401-basic-scheme", req(key=None, headers=(("Authorization", "Basic Zm9vOmJhcg=="),),
                                expect=401, **DENIED_401), check=never_forwarded),
    one("401-forged-jwt", req(key=None, headers=(("Authorization",
                                                  Bearer(secret="x" * 64)),), expect=401)),
    one("401-expired-jwt", req(key=None, headers=(("Authorization", Bearer(exp_in=-3600)),),
                               expect=401)),
    one("401-jwt-unknown-consumer",
        req(key=None, headers=(("Authorization", Bearer(sub="con_ghost")),), expect=401)),
    one("401-before-routing", req("/no/such/api", key=None, expect=401),
        "without a credential an unknown path is a 401: the catalog cannot be probed"),
    # 400 -------------------------------------------------------------------------------------
    one("400-two-api-keys", req(headers=(("X-Api-Key", Key("admin")),), expect=400,
                                content_type=PROBLEM),
        "two X-Api-Key headers (AWS joins them with a comma; the router splits them back)",
        never_forwarded),
    one("400-key-and-bearer", req(headers=(("Authorization", Bearer()),), expect=400),
        check=never_forwarded),
    one("400-dot-segments", req("/demo/v2/echo/../admin/x", key=None, expect=400),
        "refused before credentials are read", never_forwarded),
    one("400-encoded-dot-segments", req("/demo/v2/echo/%2e%2e/admin/x", expect=400),
        check=never_forwarded),
    one("400-encoded-slash", req("/demo/v2/echo/a%2Fb", expect=400), check=never_forwarded),
    one("400-bad-header-bytes", req(headers=(("X-Name", b"caf\xc3\xa9"),), expect=400,
                                    content_type=PROBLEM),
        "a header value with bytes outside printable ASCII", never_forwarded),
    one("400-control-in-query", req(query="a=%00&b=\x7f", expect=400), check=never_forwarded),
    # 403 -------------------------------------------------------------------------------------
    one("403-not-subscribed", req("/billing/v1/echo/x", expect=403, ratelimit=None),
        check=never_forwarded),
    one("403-suspended", req(key="sus", expect=403), check=never_forwarded),
    one("403-pending", req(key="pend", expect=403), check=never_forwarded),
    one("403-key-without-scope", req("/demo/v2/admin/x", expect=403), check=never_forwarded),
    one("403-jwt-without-scope", req("/demo/v2/admin/x", key=None,
                                     headers=(("Authorization", Bearer()),), expect=403),
        check=never_forwarded),
    one("200-key-with-scope", req("/demo/v2/admin/x", key="admin"),
        check=forwarded_as("/admin/x")),
    one("200-jwt-with-scope", req("/demo/v2/admin/x", key=None,
                                  headers=(("Authorization", Bearer(scope="read admin")),)),
        check=forwarded_as("/admin/x")),
    one("200-jwt-no-scope-unscoped-route",
        req(key=None, headers=(("Authorization", Bearer()),), ratelimit_policy=POLICY),
        check=forwarded_as("/echo/hi")),
    # routing ---------------------------------------------------------------------------------
    one("404-unknown-route", req("/nope/v1/x", expect=404), check=never_forwarded),
    one("404-draft-api", req("/draft/v1/echo/x", expect=404), check=never_forwarded),
    one("405-allow", req(method="DELETE", expect=405, allow="GET, POST"),
        check=never_forwarded),
    one("410-retired", req("/demo/v0/echo/x", expect=410), check=never_forwarded),
    one("200-deprecated-sunset",
        req("/demo/v1/echo/x", deprecation=f"@{int(T0 - 100)}",
            sunset=sunset(T0 + 86_400 * 30)),
        "Deprecation (RFC 9745) and Sunset (RFC 8594) on a deprecated version"),
    # sizes -----------------------------------------------------------------------------------
    one("413-body-too-large", req(method="POST", body=b"x" * (MAX_BODY + 1), expect=413,
                                  content_type=PROBLEM, x_request_id=GENERATED),
        check=never_forwarded),
    one("413-from-allowed-origin",
        req(method="POST", body=b"x" * (MAX_BODY + 1), headers=(("Origin", ORIGIN),),
            expect=413, access_control_allow_origin=ORIGIN,
            access_control_expose_headers=EXPOSED, vary="Origin"),
        "a browser page reading a 413 needs the CORS headers like any other answer",
        never_forwarded),
    one("431-headers-too-large",
        req(headers=tuple((f"X-Filler-{i}", "f" * 4000) for i in range(5)), expect=431),
        "over 16 KiB of headers (API Gateway's own 10 KB quota answers first in the cloud)",
        never_forwarded),
    one("200-large-body-both-ways",
        req("/demo/v2/x/mirror", method="POST", body=LARGE,
            headers=(("Content-Type", "application/octet-stream"),),
            content_type="application/octet-stream"),
        "900 KB of every byte value to the upstream and back", body_reached_upstream(LARGE)),
    # bodies ----------------------------------------------------------------------------------
    one("200-binary-both-ways",
        req("/demo/v2/x/mirror", method="POST", body=BINARY,
            headers=(("Content-Type", "application/octet-stream"),)),
        "all 256 byte values up and down", body_reached_upstream(BINARY)),
    one("200-binary-response", req("/demo/v2/x/binary", content_type="application/octet-stream")),
    one("200-binary-undeclared", req("/demo/v2/x/undeclared", content_type=None),
        "binary with no Content-Type"),
    one("200-text-not-utf8", req("/demo/v2/x/not-utf8", content_type="text/plain"),
        "labelled text/plain but not UTF-8 (AWS must fall back to base64)"),
    one("200-unicode-both-ways",
        req("/demo/v2/x/mirror", method="PUT", body="héllo ✓ 世界".encode(),
            headers=(("Content-Type", "text/plain; charset=utf-8"),)),
        "UTF-8 text up and down (AWS carries it as a string, not base64)",
        body_reached_upstream("héllo ✓ 世界".encode())),
    one("200-unicode-response", req("/demo/v2/x/unicode")),
    one("200-binary-text-typed-upstream",
        req("/demo/v2/x/mirror", method="POST", body=b"\xff\x00\xfe",
            headers=(("Content-Type", "text/plain"),)),
        "text/plain bytes that are not UTF-8, up and down", body_reached_upstream(b"\xff\x00\xfe")),
    # upstream headers ------------------------------------------------------------------------
    one("200-set-cookies-and-vary",
        req("/demo/v2/x/cookies", cache_control="no-store",
            vary="Accept-Encoding, Accept-Language"),
        "three Set-Cookie (one with a comma in Expires) and two Vary lines from the upstream",
        lambda run: _cookies(run)),
    one("200-upstream-hop-by-hop",
        req("/demo/v2/x/hop", x_internal=None, keep_alive=None, transfer_encoding=None,
            connection=None, x_upstream="kept", x_request_id=GENERATED,
            ratelimit='"per-minute";r=2;t=50'),
        "hop-by-hop and Connection-named headers from the upstream are dropped; its "
        "X-Request-Id and RateLimit are replaced by the gateway's"),
    one("upstream-own-503", req("/demo/v2/x/status503", expect=503, retry_after="120",
                                content_type="text/plain"),
        "an upstream's own error passes through untouched (not the gateway's 503)"),
    one("upstream-204-empty", req("/demo/v2/x/empty", expect=204)),
    one("502-upstream-failure", req("/demo/v2/x/fail", expect=502, content_type=PROBLEM)),
    one("504-upstream-timeout", req("/demo/v2/x/timeout", expect=504, content_type=PROBLEM)),
    # CORS ------------------------------------------------------------------------------------
    one("cors-preflight-allowed",
        req(method="OPTIONS", key=None, expect=204,
            headers=(("Origin", ORIGIN), ("Access-Control-Request-Method", "GET"),
                     ("Access-Control-Request-Headers", "x-api-key")),
            access_control_allow_origin=ORIGIN, vary="Origin",
            access_control_allow_methods="GET, POST, PUT, PATCH, DELETE, HEAD",
            access_control_allow_headers="X-Api-Key, Authorization, Content-Type, X-Request-Id",
            access_control_max_age="600"),
        "answered before credentials", never_forwarded),
    one("cors-preflight-disallowed-origin",
        req(method="OPTIONS", key=None, expect=401,
            headers=(("Origin", "https://evil.test"), ("Access-Control-Request-Method", "GET")),
            access_control_allow_origin=None, access_control_expose_headers=None),
        check=never_forwarded),
    one("cors-allowed-origin-200",
        req("/demo/v2/x/cookies", headers=(("Origin", ORIGIN),),
            access_control_allow_origin=ORIGIN, access_control_expose_headers=EXPOSED,
            vary="Accept-Encoding, Accept-Language, Origin"),
        "the upstream's Vary lines plus the gateway's Vary: Origin"),
    one("cors-allowed-origin-401",
        req(key=None, headers=(("Origin", ORIGIN),), expect=401,
            access_control_allow_origin=ORIGIN, access_control_expose_headers=EXPOSED),
        "the page can read why it was refused"),
    # limits ----------------------------------------------------------------------------------
    Scenario("429-rate-limited", (
        req(), req(), req(ratelimit='"per-minute";r=0;t=50'),
        req(expect=429, retry_after="50", ratelimit='"per-minute";r=0;t=50',
            ratelimit_policy=POLICY, content_type=PROBLEM),
    ), "the fourth request in the minute", None),
    Scenario("429-then-recovery", (
        req(), req(), req(), req(expect=429, retry_after="50"),
        Advance(49), req(expect=429, retry_after="1"),
        Advance(1), req(ratelimit='"per-minute";r=2;t=60'),
    ), "one second early is still refused; at the window's end it is admitted", None),
    Scenario("429-quota-exceeded", (
        req(key="q"), req(key="q"),
        req(key="q", expect=429, retry_after="86390"),
        Advance(86_390), req(key="q"),
    ), "two per day; the quota resets at midnight UTC", None),
    Scenario("429-limits-per-consumer-not-per-key", (
        req(), req(key="admin"), req(), req(key="admin", expect=429),
    ), "every key of a consumer shares its limits", None),
    # store -----------------------------------------------------------------------------------
    Scenario("503-store-fail-closed", (
        Fault.of("limiter"), req(expect=503, retry_after="1", ratelimit=None),
        Fault(), req(),
    ), "the limiter's store is down and the plan fails closed; then it is back", None),
    Scenario("200-store-fail-open", (
        Fault.of("limiter"), req(key="open", ratelimit=None, ratelimit_policy=None),
    ), "the plan fails open: admitted without RateLimit headers", None),
    Scenario("503-lookup-failure-always-denies", (
        Fault.of("lookup"), req(key="open", expect=503, retry_after="1"),
    ), "a key that cannot be looked up is never admitted, whatever the plan",
        never_forwarded),
]


# --- gateway policies (API pol v1, world.py; docs/policies.md) ------------------------------

POL_EXPOSED = (EXPOSED + ", Age, X-Cache, X-Tollway-Shadow, X-Trace")


def transformed(run: Run) -> None:
    (up,) = run.last.upstream
    assert up.url == "http://upstream.parity.test/v2/items?a=1&src=gw", up.url
    names = dict(up.headers)
    assert names["x-env"] == "parity" and names["x-new"] == "o", names
    assert "x-debug" not in names and "x-old" not in names and "x-api-key" not in names
    assert names["x-tollway-consumer"] == "con_a"


def anonymous_forwarded(run: Run) -> None:
    assert [len(ex.upstream) for ex in run.exchanges] == [1, 1, 0, 0]
    assert run.exchanges[0].upstream_header("x-tollway-consumer") == [""]


def upstream_called(*counts: int) -> Any:
    def check(run: Run) -> None:
        assert [len(ex.upstream) for ex in run.exchanges] == list(counts)

    return check


def _pol(path: str, **kw: Any) -> Request:
    return req("/pol/v1" + path, **kw)


POLICY_SCENARIOS: list[Scenario] = [
    one("policy-transform",
        _pol("/t/items", query="a=1&debug=yes", x_served_by="tollway",
             headers=(("X-Debug", "1"), ("X-Old", "o"), ("X-Env", "dev")),
             ratelimit='"per-minute";r=2;t=50'),
        "headers set/removed/renamed, path prefix rewritten, query stripped and injected; "
        "credentials still stripped", transformed),
    one("policy-403-ip-denied", _pol("/denied/x", expect=403, content_type=PROBLEM,
                                     ratelimit=None),
        "the client's address is in the route's deny list: refused before any limit",
        never_forwarded),
    one("policy-200-ip-allowed", _pol("/allowed/x"), "the client's address is allowed"),
    Scenario("policy-413-route-body-size", (
        _pol("/small/x", method="POST", body=b"12345678"),
        _pol("/small/x", method="POST", body=b"123456789", expect=413, content_type=PROBLEM),
    ), "the route accepts at most 8 bytes", upstream_called(1, 0)),
    Scenario("policy-anonymous-per-ip", (
        _pol("/public/x", key=None, ratelimit='"per-minute";r=1;t=50'),
        _pol("/public/x", key=None),
        _pol("/public/x", key=None, expect=429, retry_after="50"),
        _pol("/t/x", key=None, expect=401, **DENIED_401),
    ), "a public route needs no key; its own per-IP limit; other routes still need one",
        anonymous_forwarded),
    Scenario("policy-shadow-limit", (
        _pol("/shadow/x", x_tollway_shadow=None),
        _pol("/shadow/x", x_tollway_shadow="would-throttle"),
    ), "a shadow limit of 1 a minute only reports", upstream_called(1, 1)),
    Scenario("policy-limit-by-header", (
        _pol("/tenant/x", headers=(("X-Tenant", "t1"),)),
        _pol("/tenant/x", headers=(("X-Tenant", "t1"),), expect=429, retry_after="50"),
        _pol("/tenant/x", headers=(("X-Tenant", "t2"),)),
    ), "counted per X-Tenant value", upstream_called(1, 0, 1)),
    Scenario("policy-route-cost", (
        _pol("/cost/x", ratelimit='"per-minute";r=0;t=50'),
        _pol("/cost/x", expect=429),
    ), "a route that counts 3 units spends the plan's minute at once", None),
    Scenario("policy-cache", (
        _pol("/cached/a", x_cache="MISS", age=None),
        _pol("/cached/a", x_cache="HIT", age="0"),
        Advance(5),
        _pol("/cached/a", x_cache="HIT", age="5"),
    ), "the second and third answers come from the gateway's cache", upstream_called(1, 0, 0)),
    Scenario("policy-503-circuit-open", (
        _pol("/x/fail", expect=502), _pol("/x/fail", expect=502),
        _pol("/x/fail", expect=503, retry_after="30", content_type=PROBLEM),
    ), "two failures of two open the breaker: the third is refused without calling",
        upstream_called(1, 1, 0)),
    one("policy-cors-preflight",
        _pol("/t/x", method="OPTIONS", key=None, expect=204,
             headers=(("Origin", APP_ORIGIN), ("Access-Control-Request-Method", "POST")),
             access_control_allow_origin=APP_ORIGIN, vary="Origin",
             access_control_allow_methods="GET, POST",
             access_control_allow_headers="X-Api-Key, Content-Type",
             access_control_max_age="300", access_control_allow_credentials="true"),
        "the API's own CORS policy answers its origin's preflight before credentials",
        never_forwarded),
    one("policy-cors-answer",
        _pol("/t/x", headers=(("Origin", APP_ORIGIN),), access_control_allow_origin=APP_ORIGIN,
             access_control_allow_credentials="true",
             access_control_expose_headers=POL_EXPOSED, vary="Origin")),
    one("policy-403-plan-ip-deny",
        req(key="fenced", expect=403, content_type=PROBLEM, ratelimit=None),
        "the subscriber's plan denies the client's address: refused before any limit",
        never_forwarded),
    Scenario("policy-consumer-ip-allow", (
        req("/billing/v1/echo/hi", key="inside"),
        req("/billing/v1/echo/hi", key="outside", expect=403, content_type=PROBLEM,
            ratelimit=None),
    ), "a consumer's own allow list: the address inside it passes, outside it is refused",
        upstream_called(1, 0)),
    Scenario("policy-plan-limit-by-header", (
        req(key="tenant", headers=(("X-Tenant", "t1"),)),
        req(key="tenant", headers=(("X-Tenant", "t1"),), expect=429, retry_after="50"),
        req(key="tenant", headers=(("X-Tenant", "t2"),)),
    ), "the plan's own limit, counted per X-Tenant value", upstream_called(1, 0, 1)),
    Scenario("policy-shared-cache", (
        _pol("/shared/a", x_cache="HIT", age="10", content_type="application/json"),
        _pol("/shared/a", x_cache="HIT", age="10"),
    ), "an answer another gateway instance stored in the shared cache (the store) 10 s ago "
       "is served without calling the upstream", upstream_called(0, 0)),
    one("policy-validate-200",
        _pol("/items/3", method="POST", query="dry=true",
             headers=(("Content-Type", "application/json"),), body=b'{"name":"a","qty":2}'),
        "a request its API's OpenAPI document accepts is forwarded", upstream_called(1)),
    one("policy-validate-400",
        _pol("/items/0", method="POST", query="dry=maybe", expect=400, content_type=PROBLEM,
             headers=(("Content-Type", "application/json"),), body=b'{"qty":"two","x":1}'),
        "the same list of errors (body, path, query) on every door; never forwarded",
        never_forwarded),
    one("policy-cors-other-origin",
        _pol("/t/x", headers=(("Origin", "https://evil.test"),),
             access_control_allow_origin=None, access_control_allow_credentials=None)),
]
SCENARIOS += POLICY_SCENARIOS


def _cookies(run: Run) -> None:
    assert run.last.observed.status == 200
    got = run.last.observed.get_all("set-cookie")
    assert got == list(COOKIES), got


assert len({s.id for s in SCENARIOS}) == len(SCENARIOS), "scenario ids must be unique"
