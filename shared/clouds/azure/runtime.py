"""What every Azure function app shares: settings at cold start and log levels.

Secrets need no code here: the platform resolves Key Vault references
(``@Microsoft.KeyVault(SecretUri=…)``) into ordinary app settings before the worker starts,
so :func:`settings` is ``from_env`` of the process environment. The Python worker installs
its own logging handler that ships records to the host (and Application Insights); this
module only sets the ``tollway`` loggers' level, and imports no telemetry SDK.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from shared.settings import Settings, from_env


def logger(name: str) -> logging.Logger:
    out = logging.getLogger(f"tollway.{name}")
    logging.getLogger("tollway").setLevel(logging.INFO)
    # The SDKs log every HTTP call at INFO; the host ships what the worker logs as the
    # function's "User" category, which host.json keeps at Information for our own lines.
    logging.getLogger("azure").setLevel(logging.WARNING)
    return out


def settings(env: Mapping[str, str] = os.environ) -> Settings:
    return from_env(env)
