"""canonical_path: one canonical form, or a refusal; never a dot segment, never a guess."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core.paths import canonical_path


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/", "/"),
        ("/demo/v2/echo/hi", "/demo/v2/echo/hi"),
        ("/demo/v2/echo/", "/demo/v2/echo/"),  # one trailing slash is kept
        ("/demo/v2/%61dmin/x", "/demo/v2/admin/x"),  # unreserved characters are decoded
        ("/%7Euser/%2d%5F%2E%7e", "/~user/-_.~"),
        ("/a%2eb", "/a.b"),
        ("/files/a%20b", "/files/a%20b"),  # reserved/other encodings kept ...
        ("/files/a%3bb/%3f%25", "/files/a%3Bb/%3F%25"),  # ... with uppercase hex
        ("/q/a|b{c}", "/q/a%7Cb%7Bc%7D"),  # printable but not pchar: encoded
        ("/ok/:@!$&'()*+,=", "/ok/:@!$&'()*+,="),
        ("/...", "/..."),  # not a dot segment
        ("/.well-known/x", "/.well-known/x"),
    ],
)
def test_canonical_forms(raw, canonical):
    assert canonical_path(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "", "admin", "demo/v2",  # not absolute
        "//admin", "/demo//admin", "/demo/v2//",  # empty segments
        "/demo/v2/admin;x=1", "/demo/v2/x/..;/admin", "/;", "/a;b",  # path parameters
        "/x/../admin", "/x/./admin", "/.", "/..", "/x/..",  # literal dot segments
        "/x/%2e%2e/admin", "/x/%2E%2E/admin", "/x/.%2e/admin", "/x/%2e./admin",
        "/x/%2e/admin", "/%2e%2e",  # encoded dot segments
        "/x%2F..%2Fadmin", "/x%2fadmin", "/x%5cadmin", "/x%5C..%5Cadmin",  # encoded separators
        "/x\\admin", "/x\\..\\admin",  # backslashes
        "/x%00", "/x\x00", "/x%0a", "/x\n", "/x%7f", "/x\t", "/a b",  # controls and space
        "/x%", "/x%2", "/x%zz", "/x%%32%65",  # stray percent signs
        "/caf\u00e9", "/\u2025",  # non-ASCII
    ],
)
def test_refused(raw):
    assert canonical_path(raw) is None


_ALPHABET = st.sampled_from([
    *"aAz09-._~!$&'()*+,=:@/;\\%|{} \x00\n\u00e9",
    "%2e", "%2E", "%2f", "%5c", "%61", "%3b", "%00", "%25", "..", ".",
])
paths = st.lists(_ALPHABET, max_size=24).map(lambda parts: "/" + "".join(parts))


@given(paths)
def test_idempotent(raw):
    once = canonical_path(raw)
    if once is not None:
        assert canonical_path(once) == once


@given(paths)
def test_never_a_dot_segment_empty_segment_or_separator_trick(raw):
    once = canonical_path(raw)
    if once is None:
        return
    segments = once.split("/")[1:]
    assert all(s not in (".", "..") for s in segments)
    assert "" not in segments[:-1]  # only a trailing slash may be empty
    assert ";" not in once and "\\" not in once
    lowered = once.lower()
    assert not any(e in lowered for e in ("%2f", "%5c", "%2e", "%00"))
    assert once.isascii() and once.isprintable() and " " not in once


@given(paths)
def test_decoding_the_canonical_form_gives_no_new_separators_or_dot_segments(raw):
    """What an upstream that percent-decodes sees has the same segments as what we matched."""
    from urllib.parse import unquote

    once = canonical_path(raw)
    if once is None:
        return
    decoded = unquote(once)
    assert decoded.count("/") == once.count("/")
    assert all(s not in (".", "..") for s in decoded.split("/"))


@given(st.from_regex(r"(/[a-z0-9._~-]{1,8}){1,6}", fullmatch=True))
def test_plain_paths_are_their_own_canonical_form(raw):
    segments = raw.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        assert canonical_path(raw) is None
    else:
        assert canonical_path(raw) == raw
