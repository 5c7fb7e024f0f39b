"""One canonical form of a request path, so that what is matched is what is forwarded.

Routes are matched, scopes checked and the upstream called on :func:`canonical_path`'s
result, never on the raw path: otherwise ``/v2/%61dmin`` would match a ``read`` route and
reach an upstream that decodes it to ``/v2/admin``. Anything an upstream could read as a
different path than ours is refused rather than guessed at: encoded slashes and
backslashes, dot segments (literal or encoded), ``;`` path parameters (``..;`` is a
classic Java-server bypass), empty segments, control characters and non-ASCII.
"""

from __future__ import annotations

import re

_HEX = "0123456789ABCDEFabcdef"
#: RFC 3986 unreserved: decoded wherever they appear percent-encoded (%61 -> a).
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: Literal characters a canonical segment keeps as they are: unreserved, the sub-delims but
#: ``;``, and ``:`` ``@`` (RFC 3986 pchar).
_KEEP = _UNRESERVED | frozenset("!$&'()*+,=:@")
#: The common case, answered without the slow path: non-empty segments of plain characters
#: that are not dot segments, an optional trailing slash.
_PLAIN = re.compile(r"(?:/(?!\.\.?(?:/|\Z))[A-Za-z0-9._~!$&'()*+,=:@-]+)+/?|/")


def _segment(raw: str) -> str | None:
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "%":
            hexa = raw[i + 1 : i + 3]
            if len(hexa) != 2 or hexa[0] not in _HEX or hexa[1] not in _HEX:
                return None  # a stray '%': no canonical reading
            byte = int(hexa, 16)
            ch = chr(byte)
            if ch in _UNRESERVED:
                out.append(ch)
            elif ch in "/\\" or byte < 0x20 or byte == 0x7F:
                return None  # an encoded separator or control character
            else:
                out.append("%" + hexa.upper())
            i += 3
            continue
        if c in _KEEP:
            out.append(c)
        elif c == ";" or c == "\\" or not (0x20 < ord(c) < 0x7F):
            return None  # path parameters, backslashes, space, controls, non-ASCII
        else:
            out.append(f"%{ord(c):02X}")  # printable but not pchar ("<", "|", "{"): encode
        i += 1
    segment = "".join(out)
    return None if segment in (".", "..") else segment


def canonical_path(raw_path: str) -> str | None:
    """The canonical form of ``raw_path`` (as the client sent it, still percent-encoded),
    or None when the path must be refused (a 400).

    Canonical: percent-encoded unreserved characters decoded, other percent-encodings kept
    with uppercase hex, other printable characters that are not allowed literally in a path
    percent-encoded. Refused: not starting with ``/``; ``%2F``/``%5C``; dot segments, literal
    or encoded (``.``, ``..``, ``%2e``, ``.%2E``); ``;`` anywhere; empty segments (``//x``)
    except one trailing slash; backslashes; control characters, encoded or not; non-ASCII.
    The result is a fixed point: ``canonical_path(canonical_path(p)) == canonical_path(p)``.
    """
    if _PLAIN.fullmatch(raw_path):
        return raw_path
    if not raw_path.startswith("/"):
        return None
    parts = raw_path[1:].split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        if part == "":
            if index == len(parts) - 1:  # one trailing slash: "/items/" is its own path
                out.append("")
                continue
            return None
        segment = _segment(part)
        if segment is None:
            return None
        out.append(segment)
    return "/" + "/".join(out)
