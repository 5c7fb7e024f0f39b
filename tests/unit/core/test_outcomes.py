import json

from shared.core.outcomes import Outcome, is_credential_failure, problem


def test_every_denial_has_a_problem_document():
    for o in Outcome:
        if o is Outcome.OK:
            continue
        status, body = problem(o)
        doc = json.loads(body)
        assert doc["status"] == status and doc["title"] and doc["detail"] and doc["type"]


def test_all_credential_failures_share_one_byte_identical_401():
    bodies = {problem(o) for o in Outcome if o is not Outcome.OK and is_credential_failure(o)}
    assert len(bodies) == 1
    assert next(iter(bodies))[0] == 401


def test_statuses():
    assert problem(Outcome.NOT_SUBSCRIBED)[0] == 403
    assert problem(Outcome.RATE_LIMITED)[0] == 429
    assert problem(Outcome.ROUTE_NOT_FOUND)[0] == 404
    assert problem(Outcome.API_RETIRED)[0] == 410
    assert problem(Outcome.UPSTREAM_TIMEOUT)[0] == 504
    assert problem(Outcome.STORE_UNAVAILABLE)[0] == 503
