"""Notifier settings: what TOLLWAY_NOTIFIER accepts, what each kind needs (refused at
start-up, naming the variable), the adapter wiring builds from them, and the Bicep app
settings that feed them on Azure."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from shared.adapters.acs_notifier import AcsNotifier
from shared.adapters.memory import MemoryStore
from shared.adapters.outbox_notifier import OutboxNotifier
from shared.adapters.ses_notifier import SesNotifier
from shared.core.clock import ManualClock
from shared.settings import SettingsError, from_env
from shared.wiring import notifier_for

ROOT = Path(__file__).resolve().parents[2]
KEY = base64.b64encode(b"k" * 32).decode()
ACS = {"TOLLWAY_NOTIFIER": "acs", "TOLLWAY_NOTIFY_FROM": "DoNotReply@x.azurecomm.net",
       "TOLLWAY_ACS_ENDPOINT": "https://tw.unitedstates.communication.azure.com",
       "TOLLWAY_ACS_KEY": KEY}


def build(env):
    clock = ManualClock()
    return notifier_for(from_env(env), MemoryStore(clock), clock)


def test_the_outbox_is_the_default():
    assert from_env({}).notifier == "outbox"
    assert isinstance(build({}), OutboxNotifier)


def test_ses_with_a_sender_region_and_configuration_set(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    n = build({"TOLLWAY_NOTIFIER": "ses", "TOLLWAY_NOTIFY_FROM": "notices@example.com",
               "TOLLWAY_SES_REGION": "eu-west-1", "TOLLWAY_SES_CONFIGURATION_SET": "tollway"})
    assert isinstance(n, SesNotifier)
    assert (n.sender, n.configuration_set) == ("notices@example.com", "tollway")
    assert n.client.meta.region_name == "eu-west-1"


def test_acs_with_endpoint_key_and_sender():
    n = build(ACS)
    assert isinstance(n, AcsNotifier) and n.sender == ACS["TOLLWAY_NOTIFY_FROM"]
    assert "acs_access_key" not in repr(from_env(ACS)) and KEY not in repr(from_env(ACS))


@pytest.mark.parametrize(("env", "names"), [
    ({"TOLLWAY_NOTIFIER": "sms"}, "TOLLWAY_NOTIFIER"),
    ({"TOLLWAY_NOTIFIER": "ses"}, "TOLLWAY_NOTIFY_FROM"),
    ({"TOLLWAY_NOTIFY_FROM": "not an address"}, "TOLLWAY_NOTIFY_FROM"),
    ({**ACS, "TOLLWAY_ACS_ENDPOINT": ""}, "TOLLWAY_ACS_ENDPOINT"),
    ({**ACS, "TOLLWAY_ACS_ENDPOINT": "http://plain.example"}, "TOLLWAY_ACS_ENDPOINT"),
    # an unresolved Key Vault reference is not a key: refused at start-up, not per notice
    ({**ACS, "TOLLWAY_ACS_KEY": "@Microsoft.KeyVault(SecretUri=https://kv/secrets/x)"},
     "TOLLWAY_ACS_KEY"),
    ({**ACS, "TOLLWAY_ACS_KEY": ""}, "TOLLWAY_ACS_KEY"),
])
def test_a_bad_notifier_setting_is_refused_naming_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        from_env(env)


def _app_settings(bicep: str, var: str) -> str:
    m = re.search(rf"^var {var} = (.*?)^\]\n", bicep, re.M | re.S)
    assert m, var
    return m.group(1)


def test_bicep_gives_the_notifier_to_management_and_the_worker_only():
    bicep = (ROOT / "iac/azure/main.bicep").read_text()
    block = _app_settings(bicep, "notifierSettings")
    for name in ("TOLLWAY_NOTIFIER", "TOLLWAY_NOTIFY_FROM", "TOLLWAY_ACS_ENDPOINT",
                 "TOLLWAY_ACS_KEY"):
        assert f"name: '{name}'" in block, name
    key = block.split("name: 'TOLLWAY_ACS_KEY'")[1].split("}")[0]
    assert "@Microsoft.KeyVault(SecretUri=" in key  # never the key itself
    uses = re.findall(r"appSettings: concat\((.*?)\)", bicep)
    assert sorted("notifierSettings" in u for u in uses) == [False, True, True]
    assert "notifierSettings" not in re.search(
        r"module gateway .*?appSettings: concat\((.*?)\)", bicep, re.S).group(1)
