"""The latency sketch: quantiles within the stated relative accuracy of the exact ones,
and merging sketches equals sketching everything at once."""

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core import sketch

latencies = st.lists(st.floats(0.1, 100_000, allow_nan=False), min_size=1, max_size=300)


def exact(values, q):
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


@settings(max_examples=200, deadline=None)
@given(values=latencies, q=st.sampled_from([0.5, 0.95, 0.99]))
def test_quantiles_are_within_the_relative_accuracy(values, q):
    got = sketch.quantile(sketch.merge(sketch.counts(values)), q)
    want = exact(values, q)
    assert abs(got - want) <= sketch.ACCURACY * want * 1.0001


@given(a=latencies, b=latencies)
def test_merging_is_adding(a, b):
    assert sketch.merge(sketch.counts(a), sketch.counts(b)) == sketch.merge(sketch.counts(a + b))


def test_bucket_count_fits_an_azure_entity_and_values_are_clamped():
    assert sketch.bucket(sketch.MAX_MS) < 200 and sketch.bucket(0) == 0
    assert sketch.bucket(10**9) == sketch.bucket(sketch.MAX_MS)
    assert sketch.quantile({}, 0.5) is None
