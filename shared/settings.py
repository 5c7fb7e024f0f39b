"""Configuration, read once at cold start from the environment into a frozen object.

Every variable is validated here; a bad value raises :class:`SettingsError` naming the
variable and what it accepts, so a deployment fails at start-up rather than per request.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


class SettingsError(ValueError):
    pass


STORES = ("memory", "sqlite", "dynamodb", "azure")


@dataclass(frozen=True, slots=True)
class JwtIssuerConfig:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    secret: str = ""  # HS* shared secret
    public_key: str = ""  # PEM, for RS*/ES*/EdDSA
    jwks_url: str = ""  # fetched and cached by the JWKS adapter
    consumer_claim: str = "sub"


@dataclass(frozen=True, slots=True)
class Settings:
    store: str = "sqlite"
    sqlite_path: str = ".tollway/tollway.db"
    table_name: str = "tollway"
    dynamodb_endpoint: str = ""
    azure_connection_string: str = field(default="", repr=False)  # may hold an account key
    azure_table_endpoint: str = ""  # https://<account>.table.core.windows.net: managed identity
    azure_queue_endpoint: str = ""  # https://<account>.queue.core.windows.net: managed identity
    usage_queue: str = "usage"  # TOLLWAY_USAGE_QUEUE: the Azure gateway's usage events
    cache_ttl: float = 5.0
    max_body_bytes: int = 1024 * 1024
    key_prefix: str = "tw"
    max_keys_per_consumer: int = 10
    admin_token: str = field(default="", repr=False)
    session_keys: tuple[str, ...] = field(default=(), repr=False)  # newest first
    session_ttl: int = 3600
    cors_origins: tuple[str, ...] = ()
    default_fail_mode: str = "closed"  # for new plans that do not choose one
    jwt_issuers: tuple[JwtIssuerConfig, ...] = ()
    # Peers (CIDRs) whose X-Forwarded-For/Forwarded headers are believed: none by default,
    # so the client address is the TCP peer's (rate limits key on it).
    trusted_proxies: tuple[str, ...] = ()
    # Upstream URLs on loopback/private/link-local addresses: refused unless this is on.
    allow_private_upstreams: bool = False
    # Hosts no upstream may name whatever the allowance (the Lambda runtime API).
    forbidden_upstream_hosts: tuple[str, ...] = ()
    tracing: bool = False  # TOLLWAY_TRACING: X-Ray on AWS (the SDK is imported only then)
    authorizer_in_front: bool = False  # TOLLWAY_AUTHORIZER=on: a cloud authorizer decided
    # TOLLWAY_UPSTREAM_BUDGET: the most time (s) a gateway can give one upstream call, all
    # attempts together (AWS: the router's Lambda timeout less its margin, under the HTTP
    # API's 30 s cap). The management API refuses timeout x (retries + 1) above it; 0 = none.
    upstream_budget: float = 0.0
    # TOLLWAY_ORIGIN_SECRET (comma-separated, for rotation): the value a CDN in front adds
    # as an origin header; when set, a request without it is refused and the CDN's viewer
    # address is the client's (AWS: shared/clouds/aws/origin.py).
    origin_secrets: tuple[str, ...] = field(default=(), repr=False)
    # Usage export (docs/billing.md, "Exporting usage"): TOLLWAY_EXPORT_URL is OpenMeter's
    # base URL (empty: no export), TOLLWAY_EXPORT_TOKEN its API token (empty for a
    # self-hosted OpenMeter without auth), TOLLWAY_EXPORT_SOURCE the CloudEvents source
    # of this deployment (never change it: the target deduplicates by source + id).
    export_url: str = ""
    export_token: str = field(default="", repr=False)
    export_source: str = "tollway"
    # Notices to developers (wiring.build_notifier): TOLLWAY_NOTIFIER outbox (the store +
    # a log line; the default), ses or acs; TOLLWAY_NOTIFY_FROM the sender address.
    notifier: str = "outbox"
    notify_from: str = ""
    ses_region: str = ""  # TOLLWAY_SES_REGION: empty = the function's own region
    ses_configuration_set: str = ""  # TOLLWAY_SES_CONFIGURATION_SET (optional)
    acs_endpoint: str = ""  # TOLLWAY_ACS_ENDPOINT: https://<resource>.communication.azure.com
    acs_access_key: str = field(default="", repr=False)  # TOLLWAY_ACS_KEY (Key Vault reference)
    # TOLLWAY_PORTAL_URL: the portal origin that links in e-mails point to (verification,
    # password reset); empty = the first of TOLLWAY_CORS_ORIGINS (the portal calls the API).
    portal_url: str = ""
    # TOLLWAY_REQUIRE_VERIFIED_EMAIL: an unverified developer may not create keys or
    # subscribe. from_env: on unless set off; `tollway local`: off unless set on.
    require_verified_email: bool = False


_ALLOWED_ALGS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"}
)


def _num(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number ({lo}..{hi})") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={raw!r} is out of range ({lo}..{hi})")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in env.get(name, "").split(",") if x.strip())


def _issuers(raw: str) -> tuple[JwtIssuerConfig, ...]:
    name = "TOLLWAY_JWT_ISSUERS"
    try:
        docs = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} is not valid JSON: {exc.msg}") from None
    if not isinstance(docs, list):
        raise SettingsError(f"{name} must be a JSON list of issuer objects")
    out = []
    for i, d in enumerate(docs):
        if not isinstance(d, dict) or not d.get("issuer") or not d.get("audience"):
            raise SettingsError(f"{name}[{i}] needs 'issuer' and 'audience'")
        algs = tuple(d.get("algorithms") or ())
        if not algs or not set(algs) <= _ALLOWED_ALGS:
            raise SettingsError(
                f"{name}[{i}].algorithms must be a non-empty subset of {sorted(_ALLOWED_ALGS)}"
            )
        if not (d.get("secret") or d.get("public_key") or d.get("jwks_url")):
            raise SettingsError(f"{name}[{i}] needs one of 'secret', 'public_key', 'jwks_url'")
        if d.get("secret") and any(not a.startswith("HS") for a in algs):
            raise SettingsError(f"{name}[{i}]: a shared secret only goes with HS* algorithms")
        out.append(
            JwtIssuerConfig(
                issuer=str(d["issuer"]),
                audience=str(d["audience"]),
                algorithms=algs,
                secret=str(d.get("secret", "")),
                public_key=str(d.get("public_key", "")),
                jwks_url=str(d.get("jwks_url", "")),
                consumer_claim=str(d.get("consumer_claim", "sub")),
            )
        )
    return tuple(out)


def _azure_table_endpoint(env: Mapping[str, str], store: str) -> str:
    endpoint = env.get("TOLLWAY_AZURE_TABLE_ENDPOINT", "")
    if endpoint and not endpoint.startswith(("https://", "http://")):
        raise SettingsError(f"TOLLWAY_AZURE_TABLE_ENDPOINT={endpoint!r} is not an http(s) URL")
    if store == "azure" and not endpoint and not env.get("TOLLWAY_AZURE_CONNECTION_STRING"):
        raise SettingsError(
            "TOLLWAY_STORE=azure needs TOLLWAY_AZURE_TABLE_ENDPOINT (the storage account's table "
            "endpoint, reached with managed identity) or TOLLWAY_AZURE_CONNECTION_STRING"
        )
    return endpoint


def _azure_queue_endpoint(env: Mapping[str, str]) -> str:
    endpoint = env.get("TOLLWAY_AZURE_QUEUE_ENDPOINT", "")
    if endpoint and not endpoint.startswith(("https://", "http://")):
        raise SettingsError(f"TOLLWAY_AZURE_QUEUE_ENDPOINT={endpoint!r} is not an http(s) URL")
    return endpoint


NOTIFIERS = ("outbox", "ses", "acs")


def notifier_settings(env: Mapping[str, str]) -> dict[str, str]:
    """``TOLLWAY_NOTIFIER`` and what the chosen kind needs, checked at start-up."""
    kind = env.get("TOLLWAY_NOTIFIER", "").strip().lower() or "outbox"
    if kind not in NOTIFIERS:
        raise SettingsError(f"TOLLWAY_NOTIFIER={kind!r}: choose one of {', '.join(NOTIFIERS)}")
    sender = env.get("TOLLWAY_NOTIFY_FROM", "").strip()
    if sender and ("@" not in sender or any(c.isspace() for c in sender)):
        raise SettingsError(f"TOLLWAY_NOTIFY_FROM={sender!r} is not an e-mail address")
    if kind != "outbox" and not sender:
        raise SettingsError(f"TOLLWAY_NOTIFIER={kind} needs TOLLWAY_NOTIFY_FROM (the sender "
                            "address, verified with the e-mail service)")
    endpoint = env.get("TOLLWAY_ACS_ENDPOINT", "").strip()
    key = env.get("TOLLWAY_ACS_KEY", "").strip()
    if kind == "acs":
        if not endpoint.startswith("https://"):
            raise SettingsError("TOLLWAY_NOTIFIER=acs needs TOLLWAY_ACS_ENDPOINT "
                                "(https://<resource>.communication.azure.com)")
        try:
            valid = bool(key) and bool(base64.b64decode(key, validate=True))
        except ValueError:
            valid = False
        if not valid:
            raise SettingsError("TOLLWAY_NOTIFIER=acs needs TOLLWAY_ACS_KEY: the resource's "
                                "access key (base64), e.g. a Key Vault reference")
    return {"notifier": kind, "notify_from": sender,
            "ses_region": env.get("TOLLWAY_SES_REGION", "").strip(),
            "ses_configuration_set": env.get("TOLLWAY_SES_CONFIGURATION_SET", "").strip(),
            "acs_endpoint": endpoint, "acs_access_key": key}


def _export_url(env: Mapping[str, str]) -> str:
    url = env.get("TOLLWAY_EXPORT_URL", "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise SettingsError(f"TOLLWAY_EXPORT_URL={url!r} is not an http(s) URL (OpenMeter's "
                            "base URL, e.g. https://openmeter.cloud)")
    return url


def _export_source(env: Mapping[str, str]) -> str:
    source = env.get("TOLLWAY_EXPORT_SOURCE", "").strip() or "tollway"
    if any(c.isspace() for c in source) or len(source) > 200:
        raise SettingsError(f"TOLLWAY_EXPORT_SOURCE={source!r}: a URI reference without spaces "
                            "(e.g. tollway/production)")
    return source


def env_flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "off", "no"):
        return False
    if raw in ("1", "true", "on", "yes"):
        return True
    raise SettingsError(f"{name}={env[name]!r}: choose on or off")


def trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """``TOLLWAY_TRUSTED_PROXIES``: comma-separated CIDRs (``10.0.0.0/8, ::1/128``)."""
    import ipaddress

    out = []
    for raw in _list(env, "TOLLWAY_TRUSTED_PROXIES"):
        try:
            out.append(str(ipaddress.ip_network(raw, strict=False)))
        except ValueError:
            raise SettingsError(
                f"TOLLWAY_TRUSTED_PROXIES: {raw!r} is not an IP network (10.0.0.0/8, ::1/128)"
            ) from None
    return tuple(out)


def allow_private_upstreams(env: Mapping[str, str]) -> bool:
    raw = env.get("TOLLWAY_ALLOW_PRIVATE_UPSTREAMS", "").strip().lower()
    if raw in ("", "0", "false", "off", "no"):
        return False
    if raw in ("1", "true", "on", "yes"):
        return True
    raise SettingsError(f"TOLLWAY_ALLOW_PRIVATE_UPSTREAMS={raw!r}: choose on or off")


def forbidden_upstream_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    """The Lambda runtime API's host (``AWS_LAMBDA_RUNTIME_API`` is ``host:port``)."""
    runtime = env.get("AWS_LAMBDA_RUNTIME_API", "").strip()
    if not runtime:
        return ()
    host = runtime.rsplit(":", 1)[0] if runtime.count(":") == 1 else runtime
    return (host.strip("[]").lower(),)


def _portal_url(env: Mapping[str, str]) -> str:
    url = env.get("TOLLWAY_PORTAL_URL", "").strip().rstrip("/")
    if url and not url.startswith(("https://", "http://")):
        raise SettingsError(f"TOLLWAY_PORTAL_URL={url!r} is not an http(s) URL")
    return url


def from_env(env: Mapping[str, str] = os.environ, *, local: bool = False) -> Settings:
    """``local``: the local stack's defaults where they differ from a deployment's (e-mail
    verification is not required unless TOLLWAY_REQUIRE_VERIFIED_EMAIL turns it on)."""
    store = env.get("TOLLWAY_STORE", "sqlite")
    if store not in STORES:
        raise SettingsError(f"TOLLWAY_STORE={store!r}: choose one of {', '.join(STORES)}")
    prefix = env.get("TOLLWAY_KEY_PREFIX", "tw")
    from shared.core.keys import PREFIX_RE

    if not PREFIX_RE.match(prefix):
        raise SettingsError("TOLLWAY_KEY_PREFIX must be 2-12 lowercase letters/digits")
    session_keys = _list(env, "TOLLWAY_SESSION_KEYS")
    if any(len(k) < 32 for k in session_keys):
        raise SettingsError("TOLLWAY_SESSION_KEYS: each key must be at least 32 characters")
    admin = env.get("TOLLWAY_ADMIN_TOKEN", "")
    if admin and len(admin) < 24:
        raise SettingsError("TOLLWAY_ADMIN_TOKEN must be at least 24 characters")
    origin_secrets = _list(env, "TOLLWAY_ORIGIN_SECRET")
    if any(len(k) < 32 for k in origin_secrets):
        raise SettingsError("TOLLWAY_ORIGIN_SECRET: each value must be at least 32 characters")
    fail_mode = env.get("TOLLWAY_DEFAULT_FAIL_MODE", "closed")
    if fail_mode not in ("closed", "open"):
        raise SettingsError(f"TOLLWAY_DEFAULT_FAIL_MODE={fail_mode!r}: choose closed or open")
    notify = notifier_settings(env)
    return Settings(
        store=store,
        default_fail_mode=fail_mode,
        sqlite_path=env.get("TOLLWAY_SQLITE_PATH", ".tollway/tollway.db"),
        table_name=env.get("TOLLWAY_TABLE", "tollway"),
        dynamodb_endpoint=env.get("TOLLWAY_DYNAMODB_ENDPOINT", ""),
        azure_connection_string=env.get("TOLLWAY_AZURE_CONNECTION_STRING", ""),
        azure_table_endpoint=_azure_table_endpoint(env, store),
        azure_queue_endpoint=_azure_queue_endpoint(env),
        usage_queue=env.get("TOLLWAY_USAGE_QUEUE", "usage") or "usage",
        cache_ttl=_num(env, "TOLLWAY_CACHE_TTL", 5.0, 0.0, 300.0),
        max_body_bytes=int(_num(env, "TOLLWAY_MAX_BODY_BYTES", 1024 * 1024, 0, 6 * 1024 * 1024)),
        key_prefix=prefix,
        max_keys_per_consumer=int(_num(env, "TOLLWAY_MAX_KEYS_PER_CONSUMER", 10, 1, 1000)),
        admin_token=admin,
        session_keys=session_keys,
        session_ttl=int(_num(env, "TOLLWAY_SESSION_TTL", 3600, 60, 86_400)),
        cors_origins=_list(env, "TOLLWAY_CORS_ORIGINS"),
        jwt_issuers=_issuers(env["TOLLWAY_JWT_ISSUERS"]) if env.get("TOLLWAY_JWT_ISSUERS") else (),
        trusted_proxies=trusted_proxies(env),
        allow_private_upstreams=allow_private_upstreams(env),
        forbidden_upstream_hosts=forbidden_upstream_hosts(env),
        tracing=env_flag(env, "TOLLWAY_TRACING"),
        authorizer_in_front=env_flag(env, "TOLLWAY_AUTHORIZER"),
        upstream_budget=_num(env, "TOLLWAY_UPSTREAM_BUDGET", 0.0, 0.0, 3600.0),
        origin_secrets=origin_secrets,
        export_url=_export_url(env),
        export_token=env.get("TOLLWAY_EXPORT_TOKEN", ""),
        export_source=_export_source(env),
        notifier=notify["notifier"],
        notify_from=notify["notify_from"],
        ses_region=notify["ses_region"],
        ses_configuration_set=notify["ses_configuration_set"],
        acs_endpoint=notify["acs_endpoint"],
        acs_access_key=notify["acs_access_key"],
        portal_url=_portal_url(env),
        require_verified_email=(env_flag(env, "TOLLWAY_REQUIRE_VERIFIED_EMAIL")
                                if env.get("TOLLWAY_REQUIRE_VERIFIED_EMAIL", "").strip()
                                else not local),
    )
