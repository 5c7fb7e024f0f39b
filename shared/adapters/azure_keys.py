"""Tollway keys as Azure Table Storage PartitionKey/RowKey values, order preserved.

Table Storage refuses ``#``, ``/``, ``\\``, ``?`` and the control characters U+0000-U+001F
and U+007F-U+009F in keys, and Tollway keys use ``#`` everywhere (``CONSUMER#c1``,
``KEY#k1``). Each forbidden character is written as an *escape character* followed by two
lowercase hex digits of its code point. The escape character of a forbidden run is an
allowed character right next to it, and it escapes itself the same way:

=================  ======  ===========================================
forbidden          escape  examples
=================  ======  ===========================================
U+0000-U+001F      space   ``"\\t"`` -> ``" 09"``, ``" "`` -> ``" 20"``
``#`` (U+0023)     ``$``   ``"#"`` -> ``"$23"``, ``"$"`` -> ``"$24"``
``/`` (U+002F)     ``.``   ``"/"`` -> ``".2f"``, ``"."`` -> ``".2e"``
``?`` (U+003F)     ``>``   ``"?"`` -> ``">3f"``, ``">"`` -> ``">3e"``
``\\`` (U+005C)     ``[``   ``"\\\\"`` -> ``"[5c"``, ``"["`` -> ``"[5b"``
U+007F-U+009F      ``~``   ``"\\x7f"`` -> ``"~7f"``, ``"~"`` -> ``"~7e"``
=================  ======  ===========================================

Every other character stands for itself: ``CONSUMER#c1`` is stored as ``CONSUMER$23c1``.

Why this preserves order. Each escape character and the run it serves are contiguous code
points (the *group*), and the hex digits are fixed-width, so within a group the codes sort
like the characters; a character below a group sorts below its escape character and one
above it sorts above. No code is a prefix of another (single characters are never escape
characters; escaped codes are all three characters), so comparing two encoded strings
compares the first differing characters' codes, exactly as comparing the originals does.
Hence ``a < b  <=>  encode(a) < encode(b)`` by code point, and a prefix of a key encodes
to a prefix of its encoding: the prefix query ``RowKey ge encode(p) and RowKey lt
prefix_end(encode(p))`` returns exactly the keys that start with ``p``. Both properties
are property-tested (``tests/unit/test_azure_keys.py``).

One caveat: Azure (and Azurite) compare keys as UTF-16 code units, which differs from code
point order only between U+E000-U+FFFF and characters above U+FFFF. Tollway's keys are
ASCII plus ids and e-mail addresses, where this does not arise.
"""

from __future__ import annotations

import re

# (escape character, first and last code point of the forbidden run it serves)
_RUNS = (
    (" ", 0x00, 0x1F),
    ("$", 0x23, 0x23),
    (".", 0x2F, 0x2F),
    (">", 0x3F, 0x3F),
    ("[", 0x5C, 0x5C),
    ("~", 0x7F, 0x9F),
)
_ESCAPED = frozenset(
    [chr(c) for _, lo, hi in _RUNS for c in range(lo, hi + 1)] + [e for e, _, _ in _RUNS]
)
_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(sorted(_ESCAPED))) + "]")
_ESCAPE_CODE = re.compile("[" + re.escape("".join(e for e, _, _ in _RUNS)) + "]([0-9a-f]{2})")
MAX_KEY_CHARS = 1024  # Table Storage: a key holds at most 1 KiB


def encode(key: str) -> str:
    """``key`` as a PartitionKey/RowKey value (see the module docstring)."""
    out = _NEEDS_ESCAPE.sub(lambda m: _escape_of(m.group()) + f"{ord(m.group()):02x}", key)
    if len(out) > MAX_KEY_CHARS:
        raise ValueError(f"key too long for Table Storage ({len(out)} > {MAX_KEY_CHARS})")
    return out


def decode(value: str) -> str:
    """The inverse of :func:`encode`."""
    return _ESCAPE_CODE.sub(lambda m: chr(int(m.group(1), 16)), value)


def prefix_end(encoded_prefix: str) -> str | None:
    """The smallest string above every string that starts with ``encoded_prefix``; None
    when there is none (the prefix is empty or all U+10FFFF)."""
    chars = list(encoded_prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code <= 0x10FFFF:
            # Skip the surrogate block: it cannot be sent, and U+E000 is the next character.
            return "".join(chars) + chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)
    return None


def _escape_of(char: str) -> str:
    code = ord(char)
    for escape, lo, hi in _RUNS:
        if lo <= code <= hi or char == escape:
            return escape
    raise AssertionError(char)  # pragma: no cover - _NEEDS_ESCAPE only matches _ESCAPED
