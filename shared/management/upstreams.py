"""Which upstream URLs an admin may point an API at (server-side request forgery).

The gateway calls upstreams from inside the deployment, so an upstream URL is a request
the attacker-who-is-an-admin (or who stole an admin session) makes from our network. By
default an upstream host may not be a loopback, private, link-local (169.254.169.254 is the
cloud metadata service), unspecified, multicast or otherwise non-global address, nor
``localhost``, nor the Lambda runtime API. ``TOLLWAY_ALLOW_PRIVATE_UPSTREAMS=on`` admits
loopback and private ranges (the local stack's demo upstream lives on 127.0.0.1); it never
admits link-local, unspecified addresses or the runtime API.

Only literal addresses are judged: no DNS lookup happens at write time (a name could
resolve differently when the gateway calls it, so a lookup here would prove nothing).
Names that must not be trusted to stay public belong behind an egress control.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.management.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class UpstreamPolicy:
    allow_private: bool = False
    forbidden_hosts: tuple[str, ...] = ()


STRICT = UpstreamPolicy()


def _literal(host: str) -> IPAddress | None:
    """The address a literal host denotes, including the legacy IPv4 spellings that
    resolvers accept (``2130706433``, ``0x7f.1``, ``127.1``)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        if not host or any(c not in "0123456789abcdefx." for c in host):
            return None
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def refusal(url: str, policy: UpstreamPolicy) -> str | None:
    """Why ``url`` may not be an upstream, or None when it may."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "it is not a valid URL"
    if not host:
        return "it names no host"
    host = host.rstrip(".").lower()
    if host in policy.forbidden_hosts:
        return "it is the serverless runtime's own API"
    ip = _literal(host)
    if ip is None:
        if host == "localhost" or host.endswith(".localhost"):
            return None if policy.allow_private else "it is a loopback name"
        return None  # a name: not resolved here (see the module docstring)
    if ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return "it is a link-local, unspecified or multicast address (e.g. cloud metadata)"
    if ip.is_global:
        return None
    if policy.allow_private and (ip.is_loopback or ip.is_private):
        return None
    return "it is a loopback or private address"


def check(urls: list[str], policy: UpstreamPolicy) -> None:
    """Raise :class:`Invalid` (422) for the first upstream URL the policy refuses."""
    for i, url in enumerate(urls):
        why = refusal(url, policy)
        if why is not None:
            raise Invalid(
                f"Upstream URL {i} is refused: {why}. Point upstreams at public addresses; "
                "an operator may allow loopback and private ranges with "
                "TOLLWAY_ALLOW_PRIVATE_UPSTREAMS=on.",
                field=f"body.upstreams.{i}.url",
            )
