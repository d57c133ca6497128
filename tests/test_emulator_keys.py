"""Asymmetric keys, key versions and rotation: every new action and its documented errors, through
the unmodified classic SDK and the Tea SDK over loopback, plus the state file's schema upgrade."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from helpers.emulator import Emulator, crypto, errors, models
from helpers.emulator.backend import KmsBackend
from helpers.emulator.models import Scope
from helpers.emulator.store import APPLICATION_ID, SCHEMA_VERSION, Store
from tests.conftest import emulator_call_with, emulator_client_for

Call = Callable[..., dict[str, Any]]
SCOPE = Scope("1234567890123456", "cn-hangzhou")
DIGEST = hashlib.sha256(b"sign me").digest()
DIGEST64 = base64.b64encode(DIGEST).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- one in-memory emulator for the module, two real clients ---------------------------------
@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def _tea_call(emu: Emulator) -> Call:
    from alibabacloud_kms20160120 import models as tea_models
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi.models import Config

    port = emu.endpoint.rsplit(":", 1)[1]
    client = Client(Config(access_key_id="testid", access_key_secret="testsecret", endpoint=f"127.0.0.1:{port}",
                           protocol="http", region_id="cn-hangzhou"))  # fmt: skip

    def call(action: str, **params: Any) -> dict[str, Any]:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
        fields = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in params.items()}
        for name in [f for f in fields if f.endswith("encryption_context")]:
            fields[name] = json.loads(fields[name])  # Tea models type contexts as dicts
        request = getattr(tea_models, f"{action}Request")(**fields)
        return dict(getattr(client, snake)(request).body.to_map())

    return call


@pytest.fixture(scope="module")
def clients(emu: Emulator) -> dict[str, Call]:
    return {"classic": emulator_call_with(emulator_client_for(emu)), "tea": _tea_call(emu)}


@pytest.fixture(params=["classic", "tea"])
def call(request: pytest.FixtureRequest, clients: dict[str, Call]) -> Call:
    sdk: Call = clients[request.param]
    return sdk


def expect(call: Call, code: str, status: int, action: str, **params: Any) -> None:
    """The call fails with exactly this code and HTTP status, whichever SDK raised it."""
    with pytest.raises(Exception) as info:
        call(action, **params)
    exc: Any = info.value
    if isinstance(exc, ServerException):
        got = (exc.get_error_code(), exc.get_http_status())
    else:  # Tea: ClientException with the body in .data
        got = (exc.code, exc.data.get("HttpStatus"))
    assert got == (code, status), exc


_keys: dict[tuple[str, str], tuple[str, str]] = {}


@pytest.fixture
def pair(clients: dict[str, Call]) -> Callable[[str, str], tuple[str, str]]:
    """(key id, version id) of a module-wide asymmetric key per spec and usage (RSA keys take time)."""

    def get(spec: str, usage: str = "SIGN/VERIFY") -> tuple[str, str]:
        if (spec, usage) not in _keys:
            key_id = clients["classic"]("CreateKey", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
            versions = clients["classic"]("ListKeyVersions", KeyId=key_id)["KeyVersions"]["KeyVersion"]
            _keys[(spec, usage)] = (key_id, versions[0]["KeyVersionId"])
        return _keys[(spec, usage)]

    return get


def public(call: Call, key_id: str, version_id: str) -> Any:
    pem = call("GetPublicKey", KeyId=key_id, KeyVersionId=version_id)["PublicKey"]
    return serialization.load_pem_public_key(pem.encode())


# --- asymmetric keys -------------------------------------------------------------------------
def test_keys_create_asymmetric_metadata(call: Call) -> None:
    meta = call("CreateKey", KeySpec="EC_P256K")["KeyMetadata"]
    assert (meta["KeySpec"], meta["KeyUsage"], meta["AutomaticRotation"]) == ("EC_P256K", "SIGN/VERIFY", "Disabled")
    versions = call("ListKeyVersions", KeyId=meta["KeyId"])["KeyVersions"]["KeyVersion"]
    assert [v["KeyVersionId"] for v in versions] == [meta["PrimaryKeyVersion"]]  # [I] the initial version


def test_keys_get_public_key_is_pem_spki(call: Call, pair: Callable[..., tuple[str, str]]) -> None:
    key_id, version_id = pair("RSA_2048")
    body = call("GetPublicKey", KeyId=key_id, KeyVersionId=version_id)
    pem = body["PublicKey"]
    assert (body["KeyId"], body["KeyVersionId"]) == (key_id, version_id)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.endswith("-----END PUBLIC KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    loaded = serialization.load_pem_public_key(pem.encode())
    assert isinstance(loaded, rsa.RSAPublicKey) and loaded.key_size == 2048
    assert "PRIVATE" not in str(body)


@pytest.mark.parametrize(("spec", "algorithm"), [("RSA_2048", "RSA_PSS_SHA_256"), ("RSA_2048", "RSA_PKCS1_SHA_256"),
                                                 ("RSA_3072", "RSA_PSS_SHA_256"), ("EC_P256", "ECDSA_SHA_256"),
                                                 ("EC_P256K", "ECDSA_SHA_256")])  # fmt: skip
def test_keys_signature_verifies_offline_and_on_the_emulator(call: Call, pair: Callable[..., tuple[str, str]],
                                                             spec: str, algorithm: str) -> None:  # fmt: skip
    key_id, version_id = pair(spec)
    common = {"KeyId": key_id, "KeyVersionId": version_id, "Algorithm": algorithm}
    signed = call("AsymmetricSign", Digest=DIGEST64, **common)
    signature = base64.b64decode(signed["Value"])
    key = public(call, key_id, version_id)
    # Offline, with the PEM and `cryptography`, over the *message* (KMS signed its SHA-256 digest).
    if isinstance(key, ec.EllipticCurvePublicKey):
        assert signature[0] == 0x30  # DER SEQUENCE{r, s}
        key.verify(signature, b"sign me", ec.ECDSA(hashes.SHA256()))
    elif algorithm == "RSA_PSS_SHA_256":
        assert len(signature) == key.key_size // 8
        key.verify(signature, b"sign me", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())  # salt 32
    else:
        key.verify(signature, b"sign me", padding.PKCS1v15(), hashes.SHA256())
    assert call("AsymmetricVerify", Digest=DIGEST64, Value=signed["Value"], **common)["Value"] is True
    other = b64(hashlib.sha256(b"sign you").digest())
    assert call("AsymmetricVerify", Digest=other, Value=signed["Value"], **common)["Value"] is False
    flipped = bytearray(signature)
    flipped[len(flipped) // 2] ^= 1
    assert call("AsymmetricVerify", Digest=DIGEST64, Value=b64(bytes(flipped)), **common)["Value"] is False


def test_keys_verify_accepts_pss_with_another_salt_and_not_another_scheme(call: Call, emu: Emulator,
                                                                          pair: Callable[..., tuple[str, str]]) -> None:  # fmt: skip
    """[I] PSS verification auto-detects the salt. The private key never leaves the emulator, so this
    test reads it from the emulator's own store to make a salt-20 signature of its own."""
    key_id, version_id = pair("RSA_2048")
    assert emu._store is not None
    material = emu._store.get_version(SCOPE, version_id)[1]  # type: ignore[index]
    private: Any = serialization.load_der_private_key(material, None)  # type: ignore[arg-type]
    salt20 = private.sign(b"sign me", padding.PSS(padding.MGF1(hashes.SHA256()), 20), hashes.SHA256())
    common = {"KeyId": key_id, "KeyVersionId": version_id, "Digest": DIGEST64}
    assert call("AsymmetricVerify", Algorithm="RSA_PSS_SHA_256", Value=b64(salt20), **common)["Value"] is True
    assert call("AsymmetricVerify", Algorithm="RSA_PKCS1_SHA_256", Value=b64(salt20), **common)["Value"] is False


@pytest.mark.parametrize(("spec", "algorithm", "limit"), [("RSA_2048", "RSAES_OAEP_SHA_256", 190),
                                                          ("RSA_2048", "RSAES_OAEP_SHA_1", 214),
                                                          ("RSA_3072", "RSAES_OAEP_SHA_256", 318)])  # fmt: skip
def test_keys_offline_encryption_decrypts_and_back(call: Call, pair: Callable[..., tuple[str, str]], spec: str,
                                                   algorithm: str, limit: int) -> None:  # fmt: skip
    key_id, version_id = pair(spec, "ENCRYPT/DECRYPT")
    common = {"KeyId": key_id, "KeyVersionId": version_id, "Algorithm": algorithm}
    key = public(call, key_id, version_id)
    algo = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA1()
    oaep = padding.OAEP(padding.MGF1(algo), algo, None)
    secret = (bytes(range(256)) * 2)[:limit]
    offline = key.encrypt(secret, oaep)
    assert base64.b64decode(call("AsymmetricDecrypt", CiphertextBlob=b64(offline), **common)["Plaintext"]) == secret
    blob = call("AsymmetricEncrypt", Plaintext=b64(secret), **common)["CiphertextBlob"]
    assert len(base64.b64decode(blob)) == key.key_size // 8  # raw OAEP output, no envelope
    assert base64.b64decode(call("AsymmetricDecrypt", CiphertextBlob=blob, **common)["Plaintext"]) == secret
    expect(call, "InvalidParameter", 400, "AsymmetricEncrypt", Plaintext=b64(secret + b"x"), **common)


def test_keys_symmetric_actions_refuse_asymmetric_keys(call: Call, pair: Callable[..., tuple[str, str]]) -> None:
    key_id, _ = pair("RSA_2048", "ENCRYPT/DECRYPT")
    expect(call, "UnsupportedOperation", 400, "Encrypt", KeyId=key_id, Plaintext="x")  # [I]
    expect(call, "UnsupportedOperation", 400, "GenerateDataKey", KeyId=key_id)
    # A blob forged to name an asymmetric version is refused too, never opened with its DER material.
    versions = call("ListKeyVersions", KeyId=key_id)["KeyVersions"]["KeyVersion"]
    forged = b64(versions[0]["KeyVersionId"].encode() + bytes(40))
    expect(call, "UnsupportedOperation", 400, "Decrypt", CiphertextBlob=forged)


@pytest.fixture(scope="module")
def symmetric(clients: dict[str, Call]) -> str:
    return str(clients["classic"]("CreateKey")["KeyMetadata"]["KeyId"])


def _error_cases(pair: Callable[..., tuple[str, str]], symmetric: str) -> list[tuple[str, str, int, dict[str, Any]]]:
    ec_key, ec_version = pair("EC_P256")
    rsa_enc, rsa_enc_version = pair("RSA_2048", "ENCRYPT/DECRYPT")
    sign = {"KeyId": ec_key, "KeyVersionId": ec_version, "Algorithm": "ECDSA_SHA_256", "Digest": DIGEST64}
    enc = {"KeyId": rsa_enc, "KeyVersionId": rsa_enc_version, "Algorithm": "RSAES_OAEP_SHA_256"}
    some_version = "00000000-0000-4000-8000-000000000000"
    return [
        ("GetPublicKey", "UnsupportedOperation", 400, {"KeyId": symmetric, "KeyVersionId": some_version}),
        ("AsymmetricSign", "Rejected.UnsupportedOperation", 400, sign | {"KeyId": symmetric}),
        ("AsymmetricSign", "Rejected.UnsupportedOperation", 400, sign | {"KeyId": rsa_enc, "KeyVersionId": rsa_enc_version}),
        ("AsymmetricEncrypt", "Rejected.UnsupportedOperation", 400, enc | {"KeyId": ec_key, "KeyVersionId": ec_version, "Plaintext": "eA=="}),
        ("AsymmetricDecrypt", "Rejected.UnsupportedOperation", 400, enc | {"KeyId": symmetric, "CiphertextBlob": "eA=="}),
        ("AsymmetricSign", "InvalidParameter", 400, sign | {"Algorithm": "RSA_PSS_SHA_256"}),
        ("AsymmetricSign", "InvalidParameter", 400, sign | {"Algorithm": "SM2DSA"}),
        ("AsymmetricSign", "InvalidParameter", 400, sign | {"Algorithm": "MD5"}),
        ("AsymmetricSign", "InvalidParameter", 400, sign | {"Digest": b64(DIGEST[:20])}),
        ("AsymmetricSign", "InvalidParameter", 400, sign | {"Digest": "not base64!"}),
        ("AsymmetricVerify", "InvalidParameter", 400, sign | {"Value": "%%%"}),
        ("AsymmetricSign", "Forbidden.KeyVersionNotFound", 404, sign | {"KeyVersionId": some_version}),
        ("AsymmetricSign", "Forbidden.KeyVersionNotFound", 404, sign | {"KeyVersionId": rsa_enc_version}),
        ("AsymmetricSign", "Forbidden.KeyNotFound", 404, sign | {"KeyId": "key-hzz000000000000000000"}),
        ("AsymmetricSign", "Forbidden.AliasNotFound", 404, sign | {"KeyId": "alias/nope"}),
        ("AsymmetricSign", "MissingParameter", 400, {k: v for k, v in sign.items() if k != "KeyVersionId"}),
        ("AsymmetricSign", "MissingParameter", 400, {k: v for k, v in sign.items() if k != "Digest"}),
        ("AsymmetricEncrypt", "InvalidParameter", 400, enc | {"Algorithm": "SM2PKE", "Plaintext": "eA=="}),
        ("AsymmetricEncrypt", "InvalidParameter", 400, enc | {"Plaintext": "***"}),
        ("AsymmetricDecrypt", "InvalidParameter", 400, enc | {"CiphertextBlob": b64(bytes(256))}),
        ("AsymmetricDecrypt", "InvalidParameter", 400, enc | {"CiphertextBlob": b64(bytes(10))}),
        ("AsymmetricSign", "DryRunOperationError", 400, sign | {"DryRun": "true"}),
        ("DescribeKeyVersion", "Forbidden.KeyVersionNotFound", 404, {"KeyId": symmetric, "KeyVersionId": ec_version}),
        ("DescribeKeyVersion", "Forbidden.KeyNotFound", 404, {"KeyId": "key-hzz000000000000000000", "KeyVersionId": ec_version}),
        ("ListKeyVersions", "InvalidParameter", 400, {"KeyId": symmetric, "PageSize": 101}),
        ("ListKeyVersions", "Forbidden.KeyNotFound", 404, {"KeyId": "key-hzz000000000000000000"}),
        ("CreateKeyVersion", "Forbidden.AliasNotFound", 404, {"KeyId": "alias/nope"}),
        ("UpdateRotationPolicy", "Rejected.UnsupportedOperation", 400, {"KeyId": ec_key, "EnableAutomaticRotation": True, "RotationInterval": "30d"}),
        ("UpdateRotationPolicy", "InvalidParameter", 400, {"KeyId": symmetric, "EnableAutomaticRotation": True, "RotationInterval": "6d"}),
        ("UpdateRotationPolicy", "InvalidParameter", 400, {"KeyId": symmetric, "EnableAutomaticRotation": True, "RotationInterval": "731d"}),
        ("UpdateRotationPolicy", "MissingParameter", 400, {"KeyId": symmetric, "EnableAutomaticRotation": True}),
        ("UpdateRotationPolicy", "MissingParameter", 400, {"KeyId": symmetric, "RotationInterval": "30d"}),
        ("UpdateRotationPolicy", "Forbidden.KeyNotFound", 404, {"KeyId": "key-hzz000000000000000000", "EnableAutomaticRotation": False}),
    ]  # fmt: skip


def test_keys_documented_errors(call: Call, pair: Callable[..., tuple[str, str]], symmetric: str) -> None:
    for action, code, status, params in _error_cases(pair, symmetric):
        expect(call, code, status, action, **params)


def test_keys_byok_keys_get_no_versions(call: Call) -> None:
    external = call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    expect(call, "Rejected.UnsupportedOperation", 400, "CreateKeyVersion", KeyId=external)
    expect(call, "Rejected.UnsupportedOperation", 400, "UpdateRotationPolicy", KeyId=external,
           EnableAutomaticRotation=True, RotationInterval="30d")  # fmt: skip
    assert call("ListKeyVersions", KeyId=external)["TotalCount"] == 1  # any state, PendingImport too


@pytest.mark.parametrize(("action", "state", "code"), [("DisableKey", "Disabled", "Rejected.Disabled"),
                                                       ("ScheduleKeyDeletion", "PendingDeletion", "Rejected.PendingDeletion")])  # fmt: skip
def test_keys_state_rules(call: Call, action: str, state: str, code: str) -> None:
    ec_key = call("CreateKey", KeySpec="EC_P256")["KeyMetadata"]["KeyId"]
    aes_key = call("CreateKey")["KeyMetadata"]["KeyId"]
    version = call("ListKeyVersions", KeyId=ec_key)["KeyVersions"]["KeyVersion"][0]["KeyVersionId"]
    for key_id in (ec_key, aes_key):
        call(action, KeyId=key_id, **({"PendingWindowInDays": 7} if action == "ScheduleKeyDeletion" else {}))
    common = {"KeyId": ec_key, "KeyVersionId": version}
    expect(call, code, 409, "GetPublicKey", **common)
    expect(call, code, 409, "AsymmetricSign", Algorithm="ECDSA_SHA_256", Digest=DIGEST64, **common)
    expect(call, code, 409, "AsymmetricVerify", Algorithm="ECDSA_SHA_256", Digest=DIGEST64, Value="MAA=", **common)
    for key_id in (ec_key, aes_key):
        expect(call, code, 409, "CreateKeyVersion", KeyId=key_id)
    expect(call, code, 409, "UpdateRotationPolicy", KeyId=aes_key, EnableAutomaticRotation=True, RotationInterval="7d")
    # Listing and describing versions work in every state.
    assert call("DescribeKeyVersion", **common)["KeyVersion"]["KeyVersionId"] == version
    assert call("ListKeyVersions", KeyId=aes_key)["TotalCount"] == 1
    assert call("DescribeKey", KeyId=ec_key)["KeyMetadata"]["KeyState"] == state


# --- key versions ----------------------------------------------------------------------------
def test_keys_new_version_is_primary_and_old_blobs_still_decrypt(call: Call) -> None:
    meta = call("CreateKey")["KeyMetadata"]
    key_id, first = meta["KeyId"], meta["PrimaryKeyVersion"]
    old = call("Encrypt", KeyId=key_id, Plaintext="old", EncryptionContext='{"a":"b"}')
    made = call("CreateKeyVersion", KeyId=key_id)["KeyVersion"]
    assert made["KeyId"] == key_id and made["KeyVersionId"] != first and made["CreationDate"].endswith("Z")
    described = call("DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert described["PrimaryKeyVersion"] == made["KeyVersionId"]
    assert described["LastRotationDate"] == made["CreationDate"]
    new = call("Encrypt", KeyId=key_id, Plaintext="new")
    assert (old["KeyVersionId"], new["KeyVersionId"]) == (first, made["KeyVersionId"])
    opened = call("Decrypt", CiphertextBlob=old["CiphertextBlob"], EncryptionContext='{"a":"b"}')
    assert (opened["Plaintext"], opened["KeyVersionId"]) == ("old", first)
    moved = call("ReEncrypt", CiphertextBlob=old["CiphertextBlob"], DestinationKeyId=key_id,
                 SourceEncryptionContext='{"a":"b"}')  # fmt: skip
    assert moved["KeyVersionId"] == made["KeyVersionId"]
    assert call("Decrypt", CiphertextBlob=moved["CiphertextBlob"])["KeyVersionId"] == made["KeyVersionId"]
    listed = call("ListKeyVersions", KeyId=key_id, PageSize=1, PageNumber=2)
    assert listed["TotalCount"] == 2 and listed["KeyVersions"]["KeyVersion"] == [made]  # oldest first
    assert call("DescribeKeyVersion", KeyId=key_id, KeyVersionId=first)["KeyVersion"]["CreationDate"] == meta["CreationDate"]


def test_keys_asymmetric_version_is_a_new_key_pair(call: Call) -> None:
    meta = call("CreateKey", KeySpec="EC_P256")["KeyMetadata"]
    made = call("CreateKeyVersion", KeyId=meta["KeyId"])["KeyVersion"]
    pems = [call("GetPublicKey", KeyId=meta["KeyId"], KeyVersionId=v)["PublicKey"]
            for v in (meta["PrimaryKeyVersion"], made["KeyVersionId"])]  # fmt: skip
    assert pems[0] != pems[1]
    assert call("DescribeKey", KeyId=meta["KeyId"])["KeyMetadata"]["PrimaryKeyVersion"] == meta["PrimaryKeyVersion"]


def test_keys_fifty_versions_per_key(clients: dict[str, Call]) -> None:
    call = clients["classic"]
    key_id = call("CreateKey")["KeyMetadata"]["KeyId"]
    for _ in range(models.MAX_VERSIONS_PER_KEY - 1):
        call("CreateKeyVersion", KeyId=key_id)
    expect(call, "Rejected.LimitExceeded", 400, "CreateKeyVersion", KeyId=key_id)
    expect(clients["tea"], "Rejected.LimitExceeded", 400, "CreateKeyVersion", KeyId=key_id)
    assert call("ListKeyVersions", KeyId=key_id, PageSize=100)["TotalCount"] == 50


def test_keys_account_version_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "MAX_VERSIONS", 3)
    backend = KmsBackend(Store(None))
    key = backend.create_key(SCOPE)
    backend.create_key_version(SCOPE, key.key_id)
    other = backend.create_key(SCOPE)
    with pytest.raises(errors.LimitExceeded):
        backend.create_key_version(SCOPE, other.key_id)
    with pytest.raises(errors.LimitExceeded):
        backend.create_key(SCOPE)  # every key has a version, so CreateKey counts too


# --- automatic rotation ----------------------------------------------------------------------
def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_keys_automatic_rotation_follows_the_emulator_clock() -> None:
    with Emulator() as emu:
        for call in (emulator_call_with(emulator_client_for(emu)), _tea_call(emu)):
            meta = call("CreateKey", EnableAutomaticRotation=True, RotationInterval="7d")["KeyMetadata"]
            key_id = meta["KeyId"]
            assert (meta["AutomaticRotation"], meta["RotationInterval"]) == ("Enabled", "604800s")
            assert _time(meta["NextRotationDate"]) - _time(meta["LastRotationDate"]) == timedelta(days=7)
            blob = call("Encrypt", KeyId=key_id, Plaintext="before")["CiphertextBlob"]
            emu.advance_clock(timedelta(days=6))
            assert call("DescribeKey", KeyId=key_id)["KeyMetadata"]["PrimaryKeyVersion"] == meta["PrimaryKeyVersion"]
            now = emu.advance_clock(timedelta(days=30))  # four intervals later: [I] one new version
            after = call("DescribeKey", KeyId=key_id)["KeyMetadata"]
            assert after["PrimaryKeyVersion"] != meta["PrimaryKeyVersion"]
            assert _time(after["LastRotationDate"]) == now.replace(microsecond=0)
            assert _time(after["NextRotationDate"]) == now.replace(microsecond=0) + timedelta(days=7)
            assert call("ListKeyVersions", KeyId=key_id)["TotalCount"] == 2
            assert call("Encrypt", KeyId=key_id, Plaintext="x")["KeyVersionId"] == after["PrimaryKeyVersion"]
            assert call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "before"


def test_keys_rotation_is_suspended_while_disabled_and_policy_changes() -> None:
    with Emulator() as emu:
        call = _tea_call(emu)
        key_id = call("CreateKey", EnableAutomaticRotation=True, RotationInterval="30d")["KeyMetadata"]["KeyId"]
        call("DisableKey", KeyId=key_id)
        emu.advance_clock(timedelta(days=40))
        suspended = call("DescribeKey", KeyId=key_id)["KeyMetadata"]
        assert (suspended["AutomaticRotation"], suspended["RotationInterval"]) == ("Suspended", "2592000s")
        assert call("ListKeyVersions", KeyId=key_id)["TotalCount"] == 1  # no rotation while disabled
        call("EnableKey", KeyId=key_id)
        assert call("DescribeKey", KeyId=key_id)["KeyMetadata"]["AutomaticRotation"] == "Enabled"
        assert call("ListKeyVersions", KeyId=key_id)["TotalCount"] == 2  # overdue: rotated at the next read
        # A shorter interval whose next date has passed rotates at once; turning it off clears the fields.
        emu.advance_clock(timedelta(days=8))
        call("UpdateRotationPolicy", KeyId=key_id, EnableAutomaticRotation=True, RotationInterval="168h")
        meta = call("DescribeKey", KeyId=key_id)["KeyMetadata"]
        assert meta["RotationInterval"] == "604800s" and call("ListKeyVersions", KeyId=key_id)["TotalCount"] == 3
        call("UpdateRotationPolicy", KeyId=key_id, EnableAutomaticRotation=False)
        meta = call("DescribeKey", KeyId=key_id)["KeyMetadata"]
        assert (meta["AutomaticRotation"], meta["RotationInterval"], meta["NextRotationDate"]) == ("Disabled", "", "")
        emu.advance_clock(timedelta(days=800))
        assert call("ListKeyVersions", KeyId=key_id)["TotalCount"] == 3


def test_keys_rotation_through_an_injected_clock_and_only_for_rotating_keys() -> None:
    """Emulator(clock=...)'s clock reaches the backend; keys without rotation never read it on Encrypt."""
    now = [datetime(2026, 1, 5, tzinfo=timezone.utc)]
    reads = [0]

    def clock() -> datetime:
        reads[0] += 1
        return now[0]

    backend = KmsBackend(Store(None), clock)
    plain = backend.create_key(SCOPE)
    rotating = backend.create_key(SCOPE, rotation_interval=7 * 86400)
    reads[0] = 0
    for _ in range(5):
        backend.encrypt(SCOPE, plain.key_id, b"x", None)
    assert reads[0] == 0  # no per-request cost for keys that do not rotate
    now[0] += timedelta(days=7)
    key, _ = backend.encrypt(SCOPE, rotating.key_id, b"x", None)
    assert key.primary_version != rotating.primary_version and key.last_rotation_date == now[0]


def test_keys_describe_key_keeps_its_formats_for_plain_keys(call: Call) -> None:
    meta = call("CreateKey")["KeyMetadata"]
    described = call("DescribeKey", KeyId=meta["KeyId"])["KeyMetadata"]
    assert (described["AutomaticRotation"], described["RotationInterval"], described["NextRotationDate"]) == ("Disabled", "", "")
    assert described["LastRotationDate"] == meta["CreationDate"]


# --- Aliyun_SM4 ------------------------------------------------------------------------------
def test_keys_sm4_seals_with_sm4_gcm(call: Call, emu: Emulator) -> None:
    assert crypto.sm4_available()  # this OpenSSL offers it; otherwise CreateKey says UnsupportedOperation
    meta = call("CreateKey", KeySpec="Aliyun_SM4")["KeyMetadata"]
    body = call("Encrypt", KeyId=meta["KeyId"], Plaintext="sm4 text")
    assert call("Decrypt", CiphertextBlob=body["CiphertextBlob"])["Plaintext"] == "sm4 text"
    assert emu._store is not None
    material = emu._store.get_version(SCOPE, body["KeyVersionId"])[1]  # type: ignore[index]
    assert material is not None and len(material) == 16
    raw = base64.b64decode(body["CiphertextBlob"])
    iv, sealed = raw[36:48], raw[48:]
    decryptor = Cipher(algorithms.SM4(material), modes.GCM(iv, sealed[-16:])).decryptor()
    decryptor.authenticate_additional_data(raw[:36])
    assert decryptor.update(sealed[:-16]) + decryptor.finalize() == b"sm4 text"  # independently opened


def test_keys_private_key_material_is_stored_never_returned(emu: Emulator, pair: Callable[..., tuple[str, str]],
                                                           clients: dict[str, Call]) -> None:  # fmt: skip
    key_id, version_id = pair("EC_P256")
    assert emu._store is not None
    material = emu._store.get_version(SCOPE, version_id)[1]  # type: ignore[index]
    private = serialization.load_der_private_key(material, None)  # type: ignore[arg-type]
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    for action in ("GetPublicKey", "DescribeKeyVersion"):
        assert b64(material).encode()[:40] not in str(clients["classic"](action, KeyId=key_id, KeyVersionId=version_id)).encode()


def test_keys_seeded_emulator_ec_keys_follow_the_seed() -> None:
    pems = []
    for _ in range(2):
        with Emulator(seed=7) as emu:
            call = emulator_call_with(emulator_client_for(emu))
            meta = call("CreateKey", KeySpec="EC_P256")["KeyMetadata"]
            pems.append(call("GetPublicKey", KeyId=meta["KeyId"], KeyVersionId=meta["PrimaryKeyVersion"])["PublicKey"])
    assert pems[0] == pems[1]


# --- the state file's schema upgrade ---------------------------------------------------------
_V1_SCHEMA = """
CREATE TABLE keys (account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, description TEXT NOT NULL,
  key_spec TEXT NOT NULL, key_usage TEXT NOT NULL, origin TEXT NOT NULL, protection_level TEXT NOT NULL,
  state TEXT NOT NULL, creation_date TEXT NOT NULL, delete_date TEXT, primary_version TEXT NOT NULL,
  rotation_interval INTEGER, PRIMARY KEY (account, region, key_id));
CREATE TABLE versions (version_id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
  key_id TEXT NOT NULL, material BLOB);
CREATE TABLE aliases (account TEXT NOT NULL, region TEXT NOT NULL, alias_name TEXT NOT NULL, key_id TEXT NOT NULL,
  PRIMARY KEY (account, region, alias_name));
CREATE TABLE tags (account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL, PRIMARY KEY (account, region, key_id, tag_key));
"""


def _v1_file(path: Path, *, marked: bool) -> tuple[str, str, bytes]:
    """A state file as kit schema 1 wrote it: one key, its version, and a blob sealed under it."""
    material, version_id = crypto.new_key_material(), "7ce1d081-06cb-42e6-aab6-5c5de0301234"
    db = sqlite3.connect(path)
    db.executescript(_V1_SCHEMA)
    db.execute("INSERT INTO keys VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (SCOPE.account_id, SCOPE.region, "key-hzzold000000000000000", "old", "Aliyun_AES_256", "ENCRYPT/DECRYPT",
                "Aliyun_KMS", "SOFTWARE", "Enabled", "2026-01-05T09:00:00+00:00", None, version_id, None))  # fmt: skip
    db.execute("INSERT INTO versions VALUES (?,?,?,?,?)", (version_id, SCOPE.account_id, SCOPE.region,
                                                           "key-hzzold000000000000000", material))  # fmt: skip
    if marked:
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    path.chmod(0o600)
    return "key-hzzold000000000000000", version_id, crypto.seal(material, version_id, b"kept", None)


@pytest.mark.parametrize("marked", [True, False])
def test_keys_version_1_state_file_is_upgraded(tmp_path: Path, marked: bool) -> None:
    path = tmp_path / "state.sqlite"
    key_id, version_id, blob = _v1_file(path, marked=marked)
    store = Store(path)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert store._db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        backend = KmsBackend(store, lambda: datetime(2026, 2, 1, tzinfo=timezone.utc))
        assert backend.decrypt(SCOPE, blob, None)[2] == b"kept"
        key, versions = backend.list_key_versions(SCOPE, key_id)
        assert versions == [(version_id, datetime(2026, 1, 5, 9, tzinfo=timezone.utc))]  # filled from the key
        assert key.last_rotation == key.creation_date
        key, new_version, _ = backend.create_key_version(SCOPE, key_id)
        assert key.primary_version == new_version and backend.decrypt(SCOPE, blob, None)[2] == b"kept"
    finally:
        store.close()
    reopened = Store(path)  # and the upgraded file opens again as the kit's own
    try:
        assert len(reopened.list_versions(SCOPE, key_id)) == 2
    finally:
        reopened.close()
