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
    assert result.ok and result.consumer_id == "con_1" and result.scopes == ("read", "write")


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
