"""The only place that picks adapters from settings. Imports adapters lazily so that a
function pays at cold start only for the backend it uses (the gateway never imports
FastAPI)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.core.clock import Clock, SystemClock
from shared.core.request import GatewayResponse
from shared.core.tokens import Issuer
from shared.gateway.directory import Directory
from shared.gateway.service import Gateway
from shared.gateway.throttle import Limiter
from shared.ports import Metrics, Notifier, Store, Upstream, UsageSink
from shared.settings import JwtIssuerConfig, Settings, SettingsError

if TYPE_CHECKING:  # the gateway functions import this module: no exporter code at cold start
    from shared.core.usage_export import UsageExporter
    from shared.management.jobs import Job


def build_store(settings: Settings, clock: Clock | None = None) -> Store:
    clock = clock or SystemClock()
    if settings.store == "memory":
        from shared.adapters.memory import MemoryStore

        return MemoryStore(clock)
    if settings.store == "sqlite":
        from shared.adapters.sqlite import SqliteStore

        return SqliteStore(settings.sqlite_path, clock)
    if settings.store == "dynamodb":
        from shared.adapters.dynamodb import DynamoStore

        # Its own client: short timeouts, a small retry budget (no minute-long SDK retries
        # per request), built on first use.
        return DynamoStore(
            settings.table_name, None, clock, endpoint_url=settings.dynamodb_endpoint or None
        )
    if settings.store == "azure":
        return _azure_store(settings, clock)
    raise ValueError(f"store {settings.store!r} is not available in this build")


def _azure_store(settings: Settings, clock: Clock) -> Store:
    from shared.adapters.azure_tables import AzureTableStore

    # Short timeouts and one retry (the SDK's defaults wait ~5 s on a dead endpoint); the
    # client is built on first use.
    if settings.azure_connection_string:
        conn = settings.azure_connection_string
        return AzureTableStore(settings.table_name, clock, connection_string=conn)
    if not settings.azure_table_endpoint:
        raise SettingsError(
            "store 'azure' needs TOLLWAY_AZURE_TABLE_ENDPOINT or TOLLWAY_AZURE_CONNECTION_STRING"
        )
    try:  # managed identity: only imported (and required) when used
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise SettingsError(
            "TOLLWAY_AZURE_TABLE_ENDPOINT authenticates with managed identity, which needs the "
            "azure-identity package (pip install azure-identity), or set "
            "TOLLWAY_AZURE_CONNECTION_STRING instead"
        ) from None
    return AzureTableStore(
        settings.table_name,
        clock,
        endpoint=settings.azure_table_endpoint,
        credential=DefaultAzureCredential(),
    )


def buffered_usage(store: Store) -> UsageSink:
    """The local stack's usage transport: a queue drained into metering by a thread."""
    from functools import partial

    from shared.adapters.buffered_usage import BufferedSink
    from shared.metering.analytics import record_all

    return BufferedSink(partial(record_all, store))


def _issuer(cfg: JwtIssuerConfig) -> Issuer:
    key_for: Callable[[str | None], Any]
    if cfg.jwks_url:
        from shared.adapters.jwks import JwksKeys, pyjwt_fetch

        # At most one JWKS fetch per minute per instance, however many unknown kids arrive.
        key_for = JwksKeys(pyjwt_fetch(cfg.jwks_url))
    else:
        material: Any = cfg.secret or cfg.public_key

        def static_key(kid: str | None) -> Any:
            return material

        key_for = static_key

    return Issuer(
        cfg.issuer, cfg.audience, cfg.algorithms, key_for, consumer_claim=cfg.consumer_claim
    )


def issuers(settings: Settings) -> Mapping[str, Issuer]:
    return {c.issuer: _issuer(c) for c in settings.jwt_issuers}


def build_gateway(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    upstream: Upstream | None = None,
    usage: UsageSink | None = None,
    metrics: Metrics | None = None,
    fits: Callable[[GatewayResponse], bool] | None = None,
) -> Gateway:
    """The one gateway every front door calls (``Gateway.handle``); a front door passes
    only what is its own: the usage transport, metrics, and its response size check."""
    clock = clock or SystemClock()
    store = store or build_store(settings, clock)
    if upstream is None:
        from shared.adapters.http_upstream import HttpUpstream

        upstream = HttpUpstream()
    return Gateway(
        Directory(store, clock, settings.cache_ttl),
        Limiter(store, clock),
        clock,
        upstream=upstream,
        usage=usage,
        issuers=issuers(settings),
        metrics=metrics,
        max_body=settings.max_body_bytes,
        cors_origins=frozenset(settings.cors_origins),
        fits=fits,
    )


def build_notifier(kind: str, store: Store, clock: Clock | None = None,
                   **config: str) -> Notifier:
    """``outbox`` (local: the store and the log), ``ses`` (config: sender, region,
    configuration_set) or ``acs`` (config: endpoint, access_key, sender)."""
    clock = clock or SystemClock()
    if kind == "outbox":
        from shared.adapters.outbox_notifier import OutboxNotifier

        return OutboxNotifier(store, clock)
    if kind == "ses":
        import botocore.session

        from shared.adapters.ses_notifier import SesNotifier

        client = botocore.session.get_session().create_client(
            "sesv2", region_name=config.get("region") or None)
        return SesNotifier(client, config["sender"], config.get("configuration_set", ""))
    if kind == "acs":
        from shared.adapters.acs_notifier import AcsNotifier

        return AcsNotifier(config["endpoint"], config["access_key"], config["sender"], clock)
    raise ValueError(f"notifier {kind!r} is not available (outbox, ses, acs)")


def notifier_for(settings: Settings, store: Store, clock: Clock | None = None) -> Notifier:
    """The notifier the settings name (``TOLLWAY_NOTIFIER`` and its companions): what the
    management API and the scheduled jobs use on every cloud."""
    if settings.notifier == "ses":
        return build_notifier("ses", store, clock, sender=settings.notify_from,
                              region=settings.ses_region,
                              configuration_set=settings.ses_configuration_set)
    if settings.notifier == "acs":
        return build_notifier("acs", store, clock, endpoint=settings.acs_endpoint,
                              access_key=settings.acs_access_key, sender=settings.notify_from)
    return build_notifier(settings.notifier, store, clock)


def build_exporter(settings: Settings) -> UsageExporter | None:
    """The usage exporter of ``TOLLWAY_EXPORT_URL`` (OpenMeter's ingest API), or None when
    no export is configured (docs/billing.md, "Exporting usage")."""
    if not settings.export_url:
        return None
    from shared.adapters.openmeter_exporter import OpenMeterExporter

    return OpenMeterExporter(settings.export_url, settings.export_token)


def scheduled_jobs(settings: Settings) -> tuple[Job, ...]:
    """The scheduled jobs of this deployment: ``jobs.JOBS``, plus the hourly usage export
    when ``TOLLWAY_EXPORT_URL`` is set. Every host that runs jobs (the AWS jobs function,
    the Azure worker's timers, the local stack) takes them from here."""
    from shared.management import jobs

    return jobs.with_export(build_exporter(settings), settings.export_source)
