import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.core.tokens import Issuer, verify

NOW = 1_767_225_600
SECRET = "s" * 40


@pytest.fixture(scope="module")
def rsa_keys():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public_pem


def hs_issuer(**kw):
    return {"https://idp": Issuer("https://idp", "tollway", ("HS256",), lambda kid: SECRET, **kw)}


def claims(**over):
    base = {"iss": "https://idp", "aud": "tollway", "sub": "con_1", "exp": NOW + 60}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_valid_token_yields_consumer_and_scopes():
    token = jwt.encode(claims(scope="read write"), SECRET, algorithm="HS256")
    result = verify(token, hs_issuer(), NOW)
    assert result.ok and result.consumer_id == "con_1"
    assert result.scopes == frozenset({"read", "write"})


@pytest.mark.parametrize("missing", ["iss", "aud", "exp"])
def test_required_claims(missing):
    token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
    assert not verify(token, hs_issuer(), NOW).ok


def test_expiry_uses_injected_clock_with_leeway():
    token = jwt.encode(claims(exp=NOW - 10), SECRET, algorithm="HS256")
    assert verify(token, hs_issuer(), NOW).ok  # within 30 s leeway
    assert not verify(token, hs_issuer(), NOW + 60).ok


def test_not_before_in_future_is_rejected():
    token = jwt.encode(claims(nbf=NOW + 600), SECRET, algorithm="HS256")
    assert verify(token, hs_issuer(), NOW).reason == "not yet valid"


def test_wrong_audience_and_unknown_issuer_are_rejected():
    assert not verify(
        jwt.encode(claims(aud="other"), SECRET, algorithm="HS256"), hs_issuer(), NOW
    ).ok
    assert (
        verify(
            jwt.encode(claims(iss="https://evil"), SECRET, algorithm="HS256"), hs_issuer(), NOW
        ).reason
        == "unknown issuer"
    )


def test_alg_none_is_rejected():
    token = jwt.encode(claims(), None, algorithm="none")
    assert verify(token, hs_issuer(), NOW).reason == "algorithm not allowed"


def test_algorithm_confusion_hs256_signed_with_rsa_public_key_is_rejected(rsa_keys):
    private, public_pem = rsa_keys
    issuers = {"https://idp": Issuer("https://idp", "tollway", ("RS256",), lambda kid: public_pem)}
    good = jwt.encode(claims(), private, algorithm="RS256")
    assert verify(good, issuers, NOW).ok
    # An attacker signs HS256 using the public key bytes as the HMAC secret.
    import base64
    import hashlib
    import hmac
    import json

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    sig = b64(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest())
    forged = (header + b"." + payload + b"." + sig).decode()
    assert verify(forged, issuers, NOW).reason == "algorithm not allowed"


def test_bad_signature_and_garbage():
    token = jwt.encode(claims(), "x" * 40, algorithm="HS256")
    assert verify(token, hs_issuer(), NOW).reason == "invalid"
    for garbage in ["", "a.b", "a.b.c", "x" * 9000, "\x00.\x00.\x00"]:
        assert not verify(garbage, hs_issuer(), NOW).ok


def test_consumer_claim_is_configurable_and_required():
    token = jwt.encode(claims(sub=None, cid="con_9"), SECRET, algorithm="HS256")
    assert not verify(token, hs_issuer(), NOW).ok
    assert verify(token, hs_issuer(consumer_claim="cid"), NOW).consumer_id == "con_9"


# --- strict claim types and crit (issue 9) ------------------------------------------------


def sign_raw(payload_json: str, header_json: str = '{"alg":"HS256","typ":"JWT"}') -> str:
    """A token over exactly these JSON texts (json.dumps cannot write ``1e400``)."""
    import base64
    import hashlib
    import hmac

    def b64(b: bytes) -> bytes:
        return base64.urlsafe_b64encode(b).rstrip(b"=")

    signing = b64(header_json.encode()) + b"." + b64(payload_json.encode())
    sig = b64(hmac.new(SECRET.encode(), signing, hashlib.sha256).digest())
    return (signing + b"." + sig).decode()


BASE = '"iss":"https://idp","aud":"tollway","sub":"con_1"'


def test_sign_raw_makes_valid_tokens():
    assert verify(sign_raw("{" + BASE + f',"exp":{NOW + 60}' + "}"), hs_issuer(), NOW).ok


@pytest.mark.parametrize("exp", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400,
                                 f'"{NOW + 60}"', "true", "null", "[1]", "{}"])
def test_exp_must_be_a_finite_number(exp):
    token = sign_raw("{" + BASE + f',"exp":{exp}' + "}")
    assert verify(token, hs_issuer(), NOW).reason == "no expiry"
    # ...also far in the future, where a NaN would otherwise never expire
    assert not verify(token, hs_issuer(), NOW + 10**9).ok


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400", f'"{NOW + 600}"', "false",
                                   "null"])
def test_nbf_and_iat_when_present_must_be_finite_numbers(claim, value):
    token = sign_raw("{" + BASE + f',"exp":{NOW + 60},"{claim}":{value}' + "}")
    assert verify(token, hs_issuer(), NOW).reason == f"invalid {claim}"


def test_numeric_nbf_and_iat_pass():
    token = sign_raw("{" + BASE + f',"exp":{NOW + 60},"nbf":{NOW - 5},"iat":{NOW - 5.5}' + "}")
    assert verify(token, hs_issuer(), NOW).ok


@pytest.mark.parametrize("crit", ['["exp"]', '["b64"]', '["x-custom"]', "[]", '"b64"'])
def test_any_crit_header_is_refused(crit):
    header = '{"alg":"HS256","typ":"JWT","crit":' + crit + ',"x-custom":1,"b64":true}'
    token = sign_raw("{" + BASE + f',"exp":{NOW + 60}' + "}", header)
    assert verify(token, hs_issuer(), NOW).reason == "unsupported critical header"


@pytest.mark.parametrize(
    ("extra", "granted"),
    [
        ("", frozenset()),
        (',"scope":""', frozenset()),
        (',"scope":"read  admin"', frozenset({"read", "admin"})),
        (',"scope":["read","admin"]', frozenset({"read", "admin"})),
        (',"scp":["read"]', frozenset({"read"})),
        (',"scp":"write read"', frozenset({"read", "write"})),
        (',"scope":"a","scp":["b"]', frozenset({"a", "b"})),
        (',"scp":[1,null,"x y","ok"]', frozenset({"ok"})),
    ],
)
def test_scopes_are_the_union_of_scope_and_scp(extra, granted):
    token = sign_raw("{" + BASE + f',"exp":{NOW + 60}' + extra + "}")
    assert verify(token, hs_issuer(), NOW).scopes == granted
