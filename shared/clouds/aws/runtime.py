"""What every AWS handler shares: settings (with secrets), the Logger, optional tracing.

Kept off the cold path on purpose: the X-Ray SDK is imported only when tracing is on
(``TOLLWAY_TRACING=true``; even a disabled Powertools ``Tracer`` imports it), and secrets
are fetched only by functions given ``TOLLWAY_SECRET_IDS``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from shared.settings import Settings, SettingsError, env_flag, from_env

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger

F = TypeVar("F", bound=Callable[..., Any])

#: The only variables a secret may set: whatever else it holds is ignored.
SECRET_VARIABLES = frozenset(
    {"TOLLWAY_ADMIN_TOKEN", "TOLLWAY_SESSION_KEYS", "TOLLWAY_JWT_ISSUERS", "TOLLWAY_ORIGIN_SECRET",
     "TOLLWAY_EXPORT_TOKEN"}
)


def platform_env() -> Mapping[str, str]:
    """The process environment, for what Lambda sets per process or invocation (log level,
    metrics switch, the X-Ray trace id): read by ``telemetry`` at write time."""
    return os.environ


def service_name(function: str) -> str:
    """``tollway-<stage>-<function>``: the ``service`` field of every log line."""
    return os.environ.get("POWERTOOLS_SERVICE_NAME", "tollway") + "-" + function


def logger(service: str) -> Logger:
    """Powertools' Logger (management and metering; the gateway functions use
    ``telemetry.JsonLogger``, which writes the same fields, to keep cold start short)."""
    from aws_lambda_powertools.logging import Logger

    return Logger(service=service_name(service))


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Read at import, before secrets are fetched: parsed by Settings' own rule."""
    return env_flag(env, "TOLLWAY_TRACING")


def traced(handler: F) -> F:
    """Wrap ``handler`` in an X-Ray segment when tracing is on; otherwise return it as is."""
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools.tracing import Tracer

    tracer = Tracer()  # patches botocore: DynamoDB calls become subsegments
    return cast(F, tracer.capture_lambda_handler(handler, capture_response=False))


def with_secrets(env: Mapping[str, str], client: Any = None) -> dict[str, str]:
    """``env`` plus the variables held by the Secrets Manager secrets named (ARN or name,
    comma-separated) in ``TOLLWAY_SECRET_IDS``. Each secret is a JSON object of variable
    name -> value; only :data:`SECRET_VARIABLES` are taken. Read once, at cold start."""
    out = dict(env)
    ids = [s.strip() for s in env.get("TOLLWAY_SECRET_IDS", "").split(",") if s.strip()]
    if not ids:
        return out
    if client is None:
        import botocore.session

        client = botocore.session.get_session().create_client("secretsmanager")
    for secret_id in ids:
        raw = client.get_secret_value(SecretId=secret_id)["SecretString"]
        try:
            doc = json.loads(raw)
        except ValueError:
            raise SettingsError(f"secret {secret_id!r} is not a JSON object") from None
        if not isinstance(doc, dict):
            raise SettingsError(f"secret {secret_id!r} is not a JSON object")
        out.update({k: str(v) for k, v in doc.items() if k in SECRET_VARIABLES})
    return out


def settings(env: Mapping[str, str] = os.environ) -> Settings:
    return from_env(with_secrets(env))
