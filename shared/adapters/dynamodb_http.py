"""DynamoDB's JSON protocol over keep-alive ``http.client`` connections, signed with SigV4:
the store's calls without botocore.

Why: botocore is most of a gateway function's cost. Its import, the client's service model
and endpoint rules cost a cold start ~100-300 ms, and each call goes through its event
hooks, serialiser, endpoint resolution, signer and response parser: ~2 ms of client CPU
per UpdateItem on the benchmark machine, several times the rest of a forwarded request
(docs/performance.md). The store sends six operations whose wire format is plain JSON
(``application/x-amz-json-1.0``, ``X-Amz-Target: DynamoDB_20120810.<Operation>``), so this
client sends them itself. Its methods take and return what botocore's low-level client
does (``Item``/``Attributes`` in attribute-value form; ``N`` as strings), and its errors
carry botocore's ``response`` shape, so :class:`~shared.adapters.dynamodb.DynamoStore`
reads both the same way. Management's table set-up (``create_table``) keeps botocore.

Signing is Signature Version 4 as AWS documents it; ``tests/unit/test_dynamodb_http.py``
holds every header it signs equal to botocore's ``SigV4Auth`` for the same request and
time. The signing key is derived once a day, not once a request.

Configuration, as botocore reads it (from ``environ``, by default the process environment:
the SDK's variables, which never pass through Settings): the region from ``region_name``,
``AWS_REGION`` or ``AWS_DEFAULT_REGION``; the endpoint from ``endpoint_url``,
``AWS_ENDPOINT_URL_DYNAMODB`` or ``AWS_ENDPOINT_URL``, else
``https://dynamodb.<region>.amazonaws.com`` (``.com.cn`` in China; ``dynamodb-fips`` when
``AWS_USE_FIPS_ENDPOINT=true``); credentials from the arguments, else ``AWS_ACCESS_KEY_ID``
/ ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` (what Lambda sets), else botocore's
credential chain (imported only then; its refreshing credentials are read on every request).
Not supported: ``HTTPS_PROXY`` (Lambda reaches DynamoDB directly, or through a VPC endpoint,
which needs none) and the isolated partitions' default endpoints (set
``AWS_ENDPOINT_URL_DYNAMODB`` there).

Retries: at most ``max_attempts`` tries per call, the first included, after a connection
failure, a timeout, a 5xx, a throttling error or a response whose ``x-amz-crc32`` does not
match, with full-jitter pauses of at most 25 ms, then 50 ms...: a request path waits on
a time budget, never on the SDK's up-to-seconds back-off. A retried write may have been
applied (the same as with the SDK).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import select
import time
import zlib
from collections.abc import Callable, Mapping
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

from shared.adapters.attempts import full_jitter

#: The operations the store sends (method name -> X-Amz-Target operation).
OPERATIONS = {
    "get_item": "GetItem",
    "query": "Query",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "transact_write_items": "TransactWriteItems",
}
#: Error codes worth another try (botocore's "standard" mode lists the same throttling codes).
RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_PAUSE = 0.025  # the first retry's pause ceiling, doubled per retry
_CONTENT_TYPE = "application/x-amz-json-1.0"


class DynamoError(Exception):
    """A call that failed. ``response`` has botocore's shape:
    ``{"Error": {"Code", "Message"}, ...the error's own fields (Item, CancellationReasons)}``."""

    def __init__(self, operation: str, code: str, message: str, extra: dict[str, Any]) -> None:
        super().__init__(": ".join(p for p in (operation, code, message) if p))
        self.operation = operation
        self.code = code
        self.response: dict[str, Any] = {**extra, "Error": {"Code": code, "Message": message}}


class ServiceError(DynamoError):
    """DynamoDB answered with an error (botocore's ``ClientError``)."""


class TransportError(DynamoError):
    """No usable answer: no connection, a timeout, a corrupt body, no region or credentials
    (botocore's ``BotoCoreError``)."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(operation, "", reason, {})


class Credentials:
    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.access_key, self.secret_key, self.token = access_key, secret_key, token or None


def _env_credentials(env: Mapping[str, str]) -> Credentials | None:
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret, env.get("AWS_SESSION_TOKEN"))
    return None


def _chain_credentials() -> Callable[[], Credentials]:
    """botocore's credential chain (profiles, container and instance roles), imported only
    when the environment has no keys; refreshing credentials are read per request."""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise LookupError("no AWS credentials found")

    def current() -> Credentials:
        frozen = found.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    return current


def default_endpoint(region: str, env: Mapping[str, str]) -> str:
    fips = env.get("AWS_USE_FIPS_ENDPOINT", "").lower() == "true"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://dynamodb{'-fips' * fips}.{region}.{suffix}"


def host_header(endpoint: str) -> str:
    """The Host a request to ``endpoint`` carries (and signs): no default port."""
    parts = urlsplit(endpoint)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


class Signer:
    """SigV4 for POST / with no query string, as DynamoDB's JSON protocol sends."""

    def __init__(self, region: str, service: str = "dynamodb") -> None:
        self.region, self.service = region, service
        self._keys: dict[tuple[str, str], bytes] = {}  # (secret, yyyymmdd) -> signing key

    def _key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = ("AWS4" + secret).encode()
            for part in (day, self.region, self.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            if len(self._keys) > 8:  # a day or a rotated secret later: start again
                self._keys.clear()
            self._keys[(secret, day)] = key
        return key

    def headers(
        self, creds: Credentials, host: str, target: str, body: bytes, amz_date: str
    ) -> dict[str, str]:
        """Every header of the request, ``Authorization`` included."""
        signed = {
            "content-type": _CONTENT_TYPE,
            "host": host,
            "x-amz-date": amz_date,
            "x-amz-target": target,
        }
        if creds.token:
            signed["x-amz-security-token"] = creds.token
        order = sorted(signed)
        names = ";".join(order)
        canonical = "\n".join(f"{k}:{signed[k]}" for k in order)
        request = f"POST\n/\n\n{canonical}\n\n{names}\n{hashlib.sha256(body).hexdigest()}"
        day = amz_date[:8]
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
            + hashlib.sha256(request.encode()).hexdigest()
        )
        signature = hmac.new(
            self._key(creds.secret_key, day), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        signed["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
        return signed


def _readable(sock: Any) -> bool:
    """Whether an idle connection has something to read (in practice: the server's close)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])  # pragma: no cover - no poll() here


class Connections:
    """Keep-alive connections to one endpoint, shared by threads (the cold-start prefetch
    reads on several at once): an idle one is taken (``list.pop`` and ``append`` are atomic),
    checked for a close the server sent while it waited, used and put back. The standard
    library's client rather than urllib3's pool: fewer Python calls per request."""

    def __init__(
        self, endpoint: str, connect_timeout: float, read_timeout: float, keep: int
    ) -> None:
        parts = urlsplit(endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._timeouts = (connect_timeout, read_timeout)
        self._keep = keep
        self._idle: list[HTTPConnection] = []
        self._tls: Any = None  # an ssl.SSLContext, made on the first https connection

    def take(self) -> HTTPConnection:
        while self._idle:
            try:
                conn = self._idle.pop()
            except IndexError:  # another thread took the last one
                break
            if conn.sock is not None and not _readable(conn.sock):
                return conn  # nothing to read while idle: still open
            conn.close()  # closed by the server (or it sent something unasked)
        connect, read = self._timeouts
        if self._https:
            if self._tls is None:
                import ssl

                self._tls = ssl.create_default_context()
            conn = HTTPSConnection(self._host, self._port, timeout=connect, context=self._tls)
        else:
            conn = HTTPConnection(self._host, self._port, timeout=connect)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(read)
        return conn

    def give_back(self, conn: HTTPConnection) -> None:
        if len(self._idle) < self._keep:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:
                break


class DynamoHttpClient:
    """The store's six DynamoDB operations, thread-safe (one connection pool)."""

    def __init__(
        self,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        max_attempts: int = 2,
        connect_timeout: float = 1.0,
        read_timeout: float = 1.0,
        max_pool_connections: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if environ is None:  # the SDK's own variables, read as botocore reads them
            environ = os.environ
        region = region_name or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise TransportError("", "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION")
        endpoint = (
            endpoint_url
            or environ.get("AWS_ENDPOINT_URL_DYNAMODB")
            or environ.get("AWS_ENDPOINT_URL")
            or default_endpoint(region, environ)
        )
        self.region, self.endpoint = region, endpoint.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._host = host_header(self.endpoint)
        self._signer = Signer(region)
        self._sleep = sleep
        if aws_access_key_id and aws_secret_access_key:
            given = Credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
            self._credentials: Callable[[], Credentials] = lambda: given
        elif (env := _env_credentials(environ)) is not None:
            self._credentials = lambda: env
        else:
            try:
                self._credentials = _chain_credentials()
            except Exception as e:  # any failure of the chain: no credentials
                raise TransportError("", f"no AWS credentials ({e})") from None
        self._pool = Connections(self.endpoint, connect_timeout, read_timeout, max_pool_connections)

    # The store's operations, keyword arguments as botocore's client takes them.
    def get_item(self, **kw: Any) -> dict[str, Any]:
        return self.call("GetItem", kw)

    def query(self, **kw: Any) -> dict[str, Any]:
        return self.call("Query", kw)

    def put_item(self, **kw: Any) -> dict[str, Any]:
        return self.call("PutItem", kw)

    def update_item(self, **kw: Any) -> dict[str, Any]:
        return self.call("UpdateItem", kw)

    def delete_item(self, **kw: Any) -> dict[str, Any]:
        return self.call("DeleteItem", kw)

    def transact_write_items(self, **kw: Any) -> dict[str, Any]:
        return self.call("TransactWriteItems", kw)

    def close(self) -> None:
        self._pool.close()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params, separators=(",", ":")).encode()
        target = "DynamoDB_20120810." + operation
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send(operation, target, body)
            except DynamoError as e:
                retry = isinstance(e, TransportError) or e.code in RETRYABLE
                if not retry or attempt >= self.max_attempts:
                    raise
            self._sleep(full_jitter(attempt - 1, _PAUSE))

    def _send(self, operation: str, target: str, body: bytes) -> dict[str, Any]:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers = self._signer.headers(self._credentials(), self._host, target, body, amz_date)
        conn: HTTPConnection | None = None
        try:
            conn = self._pool.take()
            conn.request("POST", "/", body, headers)
            answer = conn.getresponse()
            data = answer.read()
        except (OSError, HTTPException) as e:
            if conn is not None:
                conn.close()
            raise TransportError(operation, f"{type(e).__name__}: {e}") from e
        if answer.will_close:
            conn.close()
        else:
            self._pool.give_back(conn)
        crc = answer.getheader("x-amz-crc32")
        if crc is not None and zlib.crc32(data) != int(crc):
            raise TransportError(operation, "response body does not match its x-amz-crc32")
        try:
            parsed: dict[str, Any] = json.loads(data) if data else {}
        except ValueError:
            if answer.status >= 500:
                raise ServiceError(
                    operation, "InternalServerError", str(answer.status), {}
                ) from None
            raise TransportError(operation, f"HTTP {answer.status}, not JSON") from None
        if answer.status < 300:
            return parsed
        kind = str(parsed.pop("__type", "") or ("InternalServerError" * (answer.status >= 500)))
        code = kind.rpartition("#")[2] or f"HTTP{answer.status}"
        message = str(parsed.pop("message", "") or parsed.pop("Message", ""))
        raise ServiceError(operation, code, message, parsed)


class BotocoreClient:
    """A botocore DynamoDB client (given to the store: tests on in-process moto, tools)
    with its errors translated to this module's, so the store reads one kind."""

    def __init__(self, client: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.client = client
        self._errors = (ClientError, BotoCoreError)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.client, name)
        if name not in OPERATIONS:
            return found
        client_error, botocore_error = self._errors

        def call(**kw: Any) -> Any:
            try:
                return found(**kw)
            except client_error as e:
                response = dict(e.response)
                error = response.pop("Error", {})
                code, message = error.get("Code", ""), error.get("Message", "")
                raise ServiceError(name, code, message, response) from e
            except botocore_error as e:
                raise TransportError(name, f"{type(e).__name__}: {e}") from e

        return call
