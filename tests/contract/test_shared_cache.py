"""The shared response cache (``SharedCache``, the cache policy with ``shared: true``) on
every store backend: what one gateway instance stores, another reads, until it expires."""

from shared.gateway.cache import SHARED_MAX_BYTES, SharedCache

HEADERS = (("Content-Type", "application/json"), ("ETag", '"v1"'))


def test_an_entry_is_read_back_by_another_instance_until_it_expires(store, clock):
    now = clock.now()
    body = bytes(range(256)) * 8  # every byte value: stored as base64
    assert SharedCache(store).put("api\x00GET\x00/items/1\x00a=1&b=%20\x00*", now + 30, now,
                                  200, HEADERS, body)
    got = SharedCache(store).get("api\x00GET\x00/items/1\x00a=1&b=%20\x00*")
    assert got is not None
    expires, (stored, status, headers, read) = got
    assert (expires, stored, status, headers, read) == (now + 30, now, 200, HEADERS, body)
    assert SharedCache(store).get("api\x00GET\x00/items/2\x00\x00*") is None
    clock.advance(31)
    assert SharedCache(store).get("api\x00GET\x00/items/1\x00a=1&b=%20\x00*") is None


def test_a_large_answer_is_not_shared(store, clock):
    now = clock.now()
    cache = SharedCache(store)
    assert not cache.put("k", now + 30, now, 200, HEADERS, b"x" * SHARED_MAX_BYTES)
    assert cache.get("k") is None


def test_a_newer_answer_replaces_the_entry(store, clock):
    now = clock.now()
    cache = SharedCache(store)
    cache.put("k", now + 30, now, 200, HEADERS, b"old")
    cache.put("k", now + 60, now + 1, 404, (), b"new")
    got = cache.get("k")
    assert got is not None and got[1][1:] == (404, (), b"new")
