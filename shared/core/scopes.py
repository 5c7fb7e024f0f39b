"""Scopes: what a credential grants, and whether that covers what a route requires.

One rule for every credential: a route's scopes are all required, and a credential grants
exactly the scopes it carries. A credential without scopes grants none, so it passes only
routes that require none ("no scopes" never means "every scope"). API keys carry their
``scopes`` list; JWTs carry ``scope`` (RFC 8693/9068: a space-separated string) and/or
``scp`` (a list, as several identity providers send it, or a space-separated string).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def _tokens(value: Any) -> set[str]:
    """Scope names in one claim. Anything malformed grants nothing (never more)."""
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list):
        # A list item is one scope name; an item with whitespace inside is not a scope name
        # and is ignored rather than split (splitting could grant what was never meant).
        return {v for v in value if isinstance(v, str) and v and not any(c.isspace() for c in v)}
    return set()


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes a token's claims grant: the union of ``scope`` and ``scp``."""
    return frozenset(_tokens(claims.get("scope")) | _tokens(claims.get("scp")))


def allows(required: Collection[str], granted: Collection[str]) -> bool:
    """True when every scope in ``required`` is in ``granted``. A route that requires no
    scope allows every credential; a credential with no scopes passes only such routes."""
    if not required:
        return True
    have = granted if isinstance(granted, frozenset | set) else frozenset(granted)
    return all(s in have for s in required)
