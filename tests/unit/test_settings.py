import json

import pytest

from shared.settings import SettingsError, from_env


def test_defaults():
    s = from_env({})
    assert s.store == "sqlite" and s.cache_ttl == 5.0 and s.key_prefix == "tw"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"TOLLWAY_STORE": "redis"}, "TOLLWAY_STORE"),
        ({"TOLLWAY_CACHE_TTL": "soon"}, "TOLLWAY_CACHE_TTL"),
        ({"TOLLWAY_CACHE_TTL": "-1"}, "out of range"),
        ({"TOLLWAY_KEY_PREFIX": "Bad_Prefix"}, "TOLLWAY_KEY_PREFIX"),
        ({"TOLLWAY_SESSION_KEYS": "short"}, "at least 32"),
        ({"TOLLWAY_ADMIN_TOKEN": "short"}, "at least 24"),
        ({"TOLLWAY_JWT_ISSUERS": "{"}, "not valid JSON"),
        ({"TOLLWAY_JWT_ISSUERS": json.dumps([{"issuer": "x"}])}, "audience"),
        (
            {
                "TOLLWAY_JWT_ISSUERS": json.dumps(
                    [{"issuer": "x", "audience": "a", "algorithms": ["none"], "secret": "s"}]
                )
            },
            "algorithms",
        ),
        (
            {
                "TOLLWAY_JWT_ISSUERS": json.dumps(
                    [{"issuer": "x", "audience": "a", "algorithms": ["RS256"], "secret": "s"}]
                )
            },
            "shared secret",
        ),
        (
            {
                "TOLLWAY_JWT_ISSUERS": json.dumps(
                    [{"issuer": "x", "audience": "a", "algorithms": ["RS256"]}]
                )
            },
            "needs one of",
        ),
    ],
)
def test_bad_configuration_names_the_variable(env, needle):
    with pytest.raises(SettingsError, match=needle):
        from_env(env)


def test_issuers_parse():
    s = from_env(
        {
            "TOLLWAY_JWT_ISSUERS": json.dumps(
                [
                    {
                        "issuer": "https://idp",
                        "audience": "api",
                        "algorithms": ["RS256"],
                        "jwks_url": "https://idp/jwks",
                    }
                ]
            )
        }
    )
    assert s.jwt_issuers[0].algorithms == ("RS256",)


def test_default_fail_mode():
    assert from_env({}).default_fail_mode == "closed"
    assert from_env({"TOLLWAY_DEFAULT_FAIL_MODE": "open"}).default_fail_mode == "open"
    with pytest.raises(SettingsError, match="TOLLWAY_DEFAULT_FAIL_MODE"):
        from_env({"TOLLWAY_DEFAULT_FAIL_MODE": "maybe"})


def test_trusted_proxies_are_cidrs_and_none_by_default():

    assert from_env({}).trusted_proxies == ()
    got = from_env({"TOLLWAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7, ::1"}).trusted_proxies
    assert got == ("10.0.0.0/8", "192.168.1.7/32", "::1/128")
    with pytest.raises(SettingsError, match="TOLLWAY_TRUSTED_PROXIES"):
        from_env({"TOLLWAY_TRUSTED_PROXIES": "everyone"})


def test_private_upstreams_are_off_unless_switched_on():

    assert from_env({}).allow_private_upstreams is False
    assert from_env({"TOLLWAY_ALLOW_PRIVATE_UPSTREAMS": "on"}).allow_private_upstreams is True
    with pytest.raises(SettingsError, match="TOLLWAY_ALLOW_PRIVATE_UPSTREAMS"):
        from_env({"TOLLWAY_ALLOW_PRIVATE_UPSTREAMS": "maybe"})
