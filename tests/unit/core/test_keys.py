import hashlib

from hypothesis import given
from hypothesis import strategies as st

from shared.core import keys


def test_generated_key_has_prefix_random_part_and_checksum():
    issued = keys.generate("tw")
    prefix, rest = issued.plaintext.split("_", 1)
    assert prefix == "tw"
    assert len(rest) == keys.RANDOM_LEN + keys.CHECK_LEN
    assert keys.RANDOM_LEN * 5.95 >= 128  # >= 128 bits of base62 randomness
    assert keys.well_formed(issued.plaintext)


def test_only_the_sha256_and_a_hint_are_derived_for_storage():
    issued = keys.generate("tw")
    assert issued.key_hash == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert issued.plaintext not in issued.hint
    assert issued.hint == f"tw_…{issued.plaintext[-4:]}"


def test_keys_are_unique():
    assert len({keys.generate("tw").plaintext for _ in range(1000)}) == 1000


def test_a_single_changed_character_fails_the_checksum():
    key = keys.generate("tw").plaintext
    i = 5
    swapped = key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1 :]
    assert not keys.well_formed(swapped)


def test_malformed_candidates_are_rejected_without_io():
    key = keys.generate("tw").plaintext
    for bad in [
        "",
        "tw_",
        key + "x",
        key[:-1],
        "TW" + key[2:],
        key.replace("_", "-"),
        "tw_" + "a" * 200,
        " " + key,
        key + "\x00",
    ]:
        assert not keys.well_formed(bad), bad


def test_prefix_must_be_lowercase_alnum():
    for bad in ["", "x", "Tw", "t-w", "averyveryverylongprefix"]:
        try:
            keys.generate(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


@given(st.text(max_size=100))
def test_well_formed_never_raises(candidate):
    assert keys.well_formed(candidate) in (True, False)
