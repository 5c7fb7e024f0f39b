"""The least-privilege policies in template.yaml against what the handlers really do.

The gateway roles may read only the decision partitions and write only rate-limit counters;
metering may write only dedup and usage items (``dynamodb:LeadingKeys``). Every DynamoDB
call the handlers make here is checked against those statements, so a new partition in
records.py that the template does not allow fails this test, not production.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.functional.aws.conftest import event
from tests.functional.aws.test_authorizer import behind

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CfnLoader.add_multi_constructor("!", _tag)


def statements(role: str) -> list[dict[str, Any]]:
    doc = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    policy = doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    return [s for s in policy["Statement"] if isinstance(s, dict) and "Action" in s]


def allowed(role: str, action: str, pk: str) -> bool:
    for s in statements(role):
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if f"dynamodb:{action}" not in actions:
            continue
        cond = s.get("Condition", {}).get("ForAllValues:StringLike", {})
        patterns = cond.get("dynamodb:LeadingKeys")
        if patterns is None or any(fnmatch.fnmatchcase(pk, p) for p in patterns):
            return True
    return False


def touched(op: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(IAM action, partition key) of each item a call touches."""
    if op == "TransactWriteItems":
        out = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            out += touched(
                {
                    "Put": "PutItem",
                    "Update": "UpdateItem",
                    "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem",
                }[kind],
                body,
            )
        return out
    if op == "Query":
        names = {v: k for k, v in params.get("ExpressionAttributeNames", {}).items()}
        pk = re.escape(names.get("pk", "pk"))
        ref = re.search(pk + r"\s*=\s*(:\w+)", params["KeyConditionExpression"]).group(1)
        return [(op, params["ExpressionAttributeValues"][ref]["S"])]
    key = params.get("Key") or params.get("Item")
    return [(op, key["pk"]["S"])]


@pytest.fixture
def recorded(world):
    calls: list[tuple[str, str]] = []

    def record(**kw):
        calls.extend(touched(kw["model"].name, kw["params"]))

    world.client.meta.events.register("before-parameter-build.dynamodb", record)
    return calls


def test_router_role_allows_every_call_the_router_makes(
    world, handlers, ctx, recorded, monkeypatch
):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )
    for path in ("/demo/v2/echo/a", "/billing/v1/echo/x", "/nope", "/demo/v0/x"):
        for _ in range(4):
            handlers["router"].handler(world.proxy(path, key=world.keys["a"]), ctx)
    assert {op for op, _ in recorded} == {"GetItem", "Query", "UpdateItem"}
    denied = [c for c in recorded if not allowed("RouterRole", *c)]
    assert denied == []


def test_authorizer_role_allows_every_call_the_authorizer_makes(world, handlers, ctx, recorded):
    for _ in range(4):
        auth = world.authorizer_event(key=world.keys["a"])
        answer = handlers["authorizer"].handler(auth, ctx)
        if answer["isAuthorized"]:
            handlers["router"].handler(behind(world, auth, answer), ctx)
    denied = [c for c in recorded if not allowed("AuthorizerRole", *c)]
    assert recorded and denied == []


def test_metering_role_allows_its_writes_and_nothing_of_the_catalog(world, handlers, ctx, recorded):
    handlers["metering"].handler(event("cloudwatch_logs_usage"), ctx)
    assert recorded
    assert [c for c in recorded if not allowed("MeteringRole", *c)] == []
    assert not allowed("MeteringRole", "PutItem", "KEYHASH#abc")
    assert not allowed("MeteringRole", "GetItem", "PLAN")


def test_gateway_roles_cannot_write_records(world):
    for role in ("RouterRole", "AuthorizerRole"):
        assert not allowed(role, "UpdateItem", "KEYHASH#abc")
        assert not allowed(role, "PutItem", "RL#SUB#x")
        assert not allowed(role, "GetItem", "ACCOUNT")


def _all_statements(node: Any, conditions: tuple[str, ...] = ()) -> list[tuple[tuple, dict]]:
    """Every statement of a policy, with the conditions (!If) it sits under."""
    if isinstance(node, dict):
        return [(conditions, node)] if "Action" in node else []
    out: list[tuple[tuple, dict]] = []
    if isinstance(node, list):
        if len(node) == 3 and isinstance(node[0], str) and not isinstance(node[1], str):
            return _all_statements(node[1], (*conditions, node[0]))  # !If [cond, yes, no]
        for s in node:
            out += _all_statements(s, conditions)
    return out


def test_only_management_and_jobs_send_email_and_only_as_the_configured_identity():
    doc = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    senders = {}
    for name, res in doc["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"]["Policies"]:
            for conds, s in _all_statements(policy["PolicyDocument"]["Statement"]):
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                if any(a.startswith("ses:") or a == "*" for a in actions):
                    senders[name] = (conds, actions, s["Resource"])
    assert set(senders) == {"ManagementRole", "JobsRole"}
    for conds, actions, resource in senders.values():
        assert conds == ("SendsEmail",)  # no sender parameter, no permission
        assert actions == ["ses:SendEmail"]
        identity, config_set = resource
        arn, names = identity
        assert arn.endswith(":identity/${Identity}") and "*" not in arn
        assert names["Identity"] == ["HasNotifyIdentity", "NotifyIdentity", "NotifySender"]
        cond, (set_arn, _), no = config_set
        assert (cond, no) == ("HasSesConfigurationSet", "AWS::NoValue")
        assert set_arn.endswith(":configuration-set/${SesConfigurationSet}")
    conditions = doc["Conditions"]
    assert conditions["SendsEmail"] == [["NotifySender", ""]]  # !Not [!Equals [...]]
    env = doc["Resources"]["JobsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TOLLWAY_NOTIFIER"] == ["SendsEmail", "ses", "outbox"]
    assert env["TOLLWAY_NOTIFY_FROM"] == "NotifySender"


def _refs(node: Any) -> set[str]:
    """Every name a value refers to (!Ref / !GetAtt / names inside !Join and !If)."""
    if isinstance(node, str):
        return {node.split(".")[0]}
    if isinstance(node, dict):
        return set().union(*(_refs(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def test_only_management_and_jobs_may_read_the_export_token_and_only_when_exporting():
    doc = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    readers = {}
    for name, res in doc["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"]["Policies"]:
            for conds, s in _all_statements(policy["PolicyDocument"]["Statement"]):
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                if not any(a.startswith("secretsmanager:") or a == "*" for a in actions):
                    continue
                assert "*" not in _refs(s["Resource"]), (name, s)  # never every secret
                if "ExportSecret" in _refs(s["Resource"]):
                    readers[name] = (conds, actions, s["Resource"])
    assert set(readers) == {"ManagementRole", "JobsRole"}
    for conds, actions, resource in readers.values():
        assert conds == ("Exports",)  # no export URL, no secret and no permission
        assert actions == ["secretsmanager:GetSecretValue"]
        assert resource == "ExportSecret"  # that one secret
    secret = doc["Resources"]["ExportSecret"]
    assert secret["Condition"] == "Exports"
    assert secret["Properties"]["KmsKeyId"] == "DataKey"
    assert doc["Conditions"]["Exports"] == [["ExportUrl", ""]]
    # Which functions are told about the secret: the same two, through TOLLWAY_SECRET_IDS.
    told = {name for name, res in doc["Resources"].items()
            if res["Type"] == "AWS::Serverless::Function"
            and "ExportSecret" in _refs(res["Properties"].get("Environment", {}))}
    assert told == {"ManagementFunction", "JobsFunction"}
    for fn in told:
        env = doc["Resources"][fn]["Properties"]["Environment"]["Variables"]
        assert env["TOLLWAY_EXPORT_URL"] == "ExportUrl"
        assert "ExportSecret" in _refs(env["TOLLWAY_SECRET_IDS"])
        assert "TOLLWAY_EXPORT_TOKEN" not in env  # never a plain environment variable
    # The jobs role decrypts secrets through Secrets Manager only when it has one to read.
    jobs = doc["Resources"]["JobsRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    kms = [(c, s) for c, s in _all_statements(jobs["Statement"])
           if s.get("Sid") == "DecryptSecretsThroughSecretsManager"]
    assert [c for c, _ in kms] == [("Exports",)]
