"""The Table Storage key codec: forbidden characters escaped, order and prefixes preserved."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from shared.adapters.azure_keys import decode, encode, prefix_end

# Keys as Tollway builds them (lots of '#', '.', '/', '$'), plus anything at all.
_TRICKY = "#/\\?$.>[~ \t\n\x7f\x9f\xa0a0Zé\ue000"
keys = st.text(alphabet=st.sampled_from(_TRICKY), max_size=12) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12
)
# What Azure refuses in PartitionKey and RowKey.
FORBIDDEN = re.compile(r"[#/\\?\x00-\x1f\x7f-\x9f]")


def test_tollway_keys_stay_readable():
    assert encode("CONSUMER#c1") == "CONSUMER$23c1"
    assert encode("PATH#/v1/orders?x") == "PATH$23.2fv1.2forders>3fx"
    assert encode("EMAIL#a.b@example.com") == "EMAIL$23a.2eb@example.2ecom"
    assert encode("plain-key_1") == "plain-key_1"


@given(keys)
@example("#")
@example("\x00")
def test_encoded_keys_contain_no_forbidden_character_and_decode_back(key):
    encoded = encode(key)
    assert not FORBIDDEN.search(encoded)
    assert decode(encoded) == key


@given(keys, keys)
@example("#", "$")
@example("\x1f", " ")
@example("a", "a#")
@example("~", "\x7f")
@example(".", "/")
def test_encoding_preserves_code_point_order(a, b):
    assert (a < b) == (encode(a) < encode(b))
    assert (a == b) == (encode(a) == encode(b))


@given(keys, keys)
def test_a_prefix_encodes_to_a_prefix_and_only_prefixes_do(prefix, rest):
    key = prefix + rest
    assert encode(key).startswith(encode(prefix))
    # ...and the range query for a prefix holds exactly the keys that start with it
    end = prefix_end(encode(prefix))
    for other in (key, rest, rest + prefix):
        in_range = encode(other) >= encode(prefix) and (end is None or encode(other) < end)
        assert in_range == other.startswith(prefix)


def test_prefix_end_skips_surrogates_and_ends_at_the_last_character():
    assert prefix_end("ab") == "ac"
    assert prefix_end("a\ud7ff") == "a\ue000"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("") is None
