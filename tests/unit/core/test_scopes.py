"""The scope rule: a route's scopes are all required; no scopes grant none."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core.scopes import allows, scopes_of

names = st.text(alphabet="abcdefgh:._-", min_size=1, max_size=6)


@pytest.mark.parametrize(
    ("required", "granted", "ok"),
    [
        ((), frozenset(), True),  # an open route admits a credential without scopes
        ((), frozenset({"read"}), True),
        (("admin",), frozenset(), False),  # "no scopes" is not "every scope"
        (("admin",), frozenset({"read"}), False),
        (("admin",), frozenset({"admin", "read"}), True),
        (("read", "write"), frozenset({"read"}), False),
        (("read", "write"), frozenset({"write", "read"}), True),
    ],
)
def test_allows(required, granted, ok):
    assert allows(required, granted) is ok


def test_allows_takes_a_key_records_tuple_too():
    assert allows(("read",), ("read", "x")) and not allows(("read",), ())


@given(st.lists(names, max_size=4), st.frozensets(names, max_size=4))
def test_allows_is_subset(required, granted):
    assert allows(tuple(required), granted) == set(required).issubset(granted)


@pytest.mark.parametrize(
    ("claims", "granted"),
    [
        ({}, set()),
        ({"scope": "read write"}, {"read", "write"}),
        ({"scope": ["read", "write"]}, {"read", "write"}),
        ({"scp": ["read"]}, {"read"}),
        ({"scp": "a b"}, {"a", "b"}),
        ({"scope": "a", "scp": ["b"]}, {"a", "b"}),
        ({"scope": 7, "scp": {"admin": True}}, set()),
        ({"scp": ["admin read"]}, set()),  # not split: it is not a scope name
    ],
)
def test_scopes_of_reads_scope_and_scp(claims, granted):
    assert scopes_of(claims) == frozenset(granted)
