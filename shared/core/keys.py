"""API keys: ``<prefix>_<22 base62 random chars><6-char checksum>``.

22 base62 characters carry 131 bits of randomness. The checksum (CRC-32 of
``prefix_random``, base62, 6 chars) lets the gateway reject typos and garbage before any
store lookup. Only the SHA-256 of the whole key is stored; the plaintext exists once, in
the response that creates it. A display hint (prefix + last 4) is kept for humans.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LEN = 22
CHECK_LEN = 6
MAX_KEY_LEN = 64
_PREFIX = r"[a-z][a-z0-9]{1,11}"
PREFIX_RE = re.compile(rf"^{_PREFIX}$")
_KEY_RE = re.compile(rf"^({_PREFIX})_([0-9A-Za-z]{{{RANDOM_LEN}}})([0-9A-Za-z]{{{CHECK_LEN}}})$")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    plaintext: str
    key_hash: str
    hint: str


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(BASE62[r])
    return "".join(reversed(out))


def checksum(prefix: str, random_part: str) -> str:
    return _base62(zlib.crc32(f"{prefix}_{random_part}".encode()), CHECK_LEN)


def hash_key(plaintext: str) -> str:
    """SHA-256 hex digest: the only form of a key that is ever stored."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def hint(plaintext: str) -> str:
    prefix = plaintext.split("_", 1)[0]
    return f"{prefix}_…{plaintext[-4:]}"


def generate(prefix: str) -> IssuedKey:
    if not PREFIX_RE.match(prefix):
        raise ValueError("key prefix must be 2-12 lowercase letters/digits, starting with a letter")
    random_part = "".join(secrets.choice(BASE62) for _ in range(RANDOM_LEN))
    plaintext = f"{prefix}_{random_part}{checksum(prefix, random_part)}"
    return IssuedKey(plaintext=plaintext, key_hash=hash_key(plaintext), hint=hint(plaintext))


def well_formed(candidate: str) -> bool:
    """True when the candidate has the key shape and a correct checksum. No I/O."""
    if len(candidate) > MAX_KEY_LEN:
        return False
    m = _KEY_RE.match(candidate)
    if m is None:
        return False
    prefix, random_part, check = m.groups()
    return secrets.compare_digest(checksum(prefix, random_part), check)
