"""Which passwords sign-up refuses beyond the length rule: the common and the predictable.

NIST SP 800-63B 5.1.1.2: check new passwords against "values known to be commonly-used,
expected, or compromised", including "repetitive or sequential characters". Refused, after
lower-casing:

- a password on the packaged list (``common_passwords.txt``: the 10,000 most common, from
  Django's BSD-licensed list; read from the package, never from the network);
- a listed password with digits or punctuation around it (``password2024!``);
- one unit repeated (``passwordpassword``, ``abcabcabcabc``);
- a run of consecutive characters, wrapping 9 -> 0 (``123456789012``, ``abcdefghijkl``).
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

_AFFIX = string.digits + string.punctuation + " "
_HEADER_LINES = 4  # the file's attribution; a password may start with "#"
_RUNS = (string.digits, string.ascii_lowercase, "qwertyuiopasdfghjklzxcvbnm")


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("shared.management").joinpath("common_passwords.txt").read_text(
        encoding="utf-8"
    )
    lines = text.splitlines()
    return frozenset(line for line in lines[_HEADER_LINES:] if line)


def _repeated(word: str) -> bool:
    n = len(word)
    return any(n % size == 0 and word[:size] * (n // size) == word for size in range(1, n // 2 + 1))


def _sequential(word: str) -> bool:
    for run in _RUNS:
        cycle = run * 3
        if word in cycle or word[::-1] in cycle:
            return True
    return False


def refusal(password: str) -> str | None:
    """Why ``password`` is too predictable, or None."""
    word = password.lower()
    listed = common_passwords()
    core = word.strip(_AFFIX)
    if word in listed or (core and core in listed):
        return "is on a list of commonly used passwords"
    if _repeated(word) or (len(core) >= 4 and _repeated(core)):
        return "repeats a short pattern"
    if _sequential(word):
        return "is a run of consecutive characters"
    if not core:
        return "is only digits and punctuation"
    return None
