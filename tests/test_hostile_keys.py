"""Hostile input for the asymmetric-key and key-version parameters (hypothesis, gateway in process).

The promise, as in test_hostile_wire.py: every answer is a documented 4xx in the service's JSON
error shape (or a 200 where the input may be valid), never a 500, an escaped exception or a hang;
no private key material in any answer. ``KMS_WORKSHOP_HOSTILE_EXAMPLES=N`` scales it up
(``make reliability``); ``OUTCOMES`` (shared with test_hostile_wire.py) counts what was answered.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from helpers.emulator.gateway import Gateway
from tests.test_hostile_wire import OUTCOMES, budget, call, check, encode, new_gateway, signed

_NEW_ACTIONS = ("GetPublicKey", "AsymmetricSign", "AsymmetricVerify", "AsymmetricEncrypt", "AsymmetricDecrypt",
                "CreateKeyVersion", "ListKeyVersions", "DescribeKeyVersion", "UpdateRotationPolicy")  # fmt: skip
_PARAMS = ("KeyId", "KeyVersionId", "Algorithm", "Digest", "Value", "Plaintext", "CiphertextBlob",
           "EnableAutomaticRotation", "RotationInterval", "PageNumber", "PageSize", "DryRun", "Recipient")  # fmt: skip
_ALGORITHMS = ["RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256", "ECDSA_SHA_256", "SM2DSA", "RSAES_OAEP_SHA_256",
               "RSAES_OAEP_SHA_1", "SM2PKE", "rsa_pss_sha_256", ""]  # fmt: skip


class KeyWorld:
    """One gateway holding an EC signing key, an RSA encryption key and an AES key."""

    def __init__(self) -> None:
        self.gw = new_gateway()
        self.ec, self.ec_version = self._make(KeySpec="EC_P256")
        self.rsa, self.rsa_version = self._make(KeySpec="RSA_2048", KeyUsage="ENCRYPT/DECRYPT")
        self.aes, self.aes_version = self._make()
        self.secret_material: list[bytes] = []
        store = self.gw.backend.store
        for version in (self.ec_version, self.rsa_version):
            found = store.get_version(store_scope(), version)
            assert found is not None and found[1] is not None
            self.secret_material.append(found[1])

    def _make(self, **params: str) -> tuple[str, str]:
        status, body = call(self.gw, "POST", encode(signed("CreateKey", **params)))
        assert status == 200, body
        return body["KeyMetadata"]["KeyId"], body["KeyMetadata"]["PrimaryKeyVersion"]

    def ids(self) -> list[str]:
        return [self.ec, self.rsa, self.aes, self.ec_version, self.rsa_version, self.aes_version, "alias/none"]


def store_scope() -> Any:
    from helpers.emulator.models import Scope

    return Scope("1234567890123456", "cn-hangzhou")


_world: KeyWorld | None = None


def world() -> KeyWorld:
    global _world
    if _world is None:
        _world = KeyWorld()
    return _world


def answer(family: str, gw: Gateway, action: str, params: dict[str, str], *, allow_ok: bool = True) -> dict[str, Any]:
    status, body = call(gw, "POST", encode(signed(action, **params)))
    assert status < 500, (status, body)
    check(family, status, body, allow_ok=allow_ok)
    text = str(body)
    for material in world().secret_material:
        assert base64.b64encode(material).decode()[:48] not in text  # private keys never leave
    return body


_b64_of_bytes = st.binary(max_size=600).map(lambda b: base64.b64encode(b).decode())
_junk = st.one_of(st.text(max_size=60), _b64_of_bytes, st.sampled_from(["", "=", "====", "%", "AA", "true", "True",
                                                                        "7d", "730d", "731d", "6d", "0", "-1", "1e3",
                                                                        "9" * 30, "\u00e9", "😀"]))  # fmt: skip


@budget(120)
@given(action=st.sampled_from(_NEW_ACTIONS), data=st.data())
def test_hostile_keys_random_parameters(action: str, data: st.DataObject) -> None:
    w = world()
    # Mostly with a real key and version, so the later checks (algorithm, Base64, lengths) are reached.
    names = list(dict.fromkeys(["KeyId", "KeyVersionId", "Algorithm"] * data.draw(st.booleans())
                               + data.draw(st.lists(st.sampled_from(_PARAMS), unique=True, max_size=8))))  # fmt: skip
    params: dict[str, str] = {}
    for name in names:
        if name in ("KeyId", "KeyVersionId"):
            params[name] = data.draw(st.one_of(st.sampled_from(w.ids()), st.sampled_from(w.ids()), _junk))
        elif name == "Algorithm":
            params[name] = data.draw(st.one_of(st.sampled_from(_ALGORITHMS), _junk))
        else:
            params[name] = data.draw(_junk)
    params = {k: v for k, v in params.items() if "\x00" not in k + v}
    body = answer(f"key actions: random {action} parameters", w.gw, action, params)
    if action == "AsymmetricVerify" and "Value" in body and "Code" not in body:
        assert isinstance(body["Value"], bool)


@budget(80)
@given(algorithm=st.sampled_from(_ALGORITHMS), payload=st.binary(max_size=600), which=st.sampled_from(["ec", "rsa", "aes"]))
def test_hostile_keys_valid_base64_of_any_bytes(algorithm: str, payload: bytes, which: str) -> None:
    """Digests, signatures and ciphertexts of every length and content, on each kind of key."""
    w = world()
    key, version = {"ec": (w.ec, w.ec_version), "rsa": (w.rsa, w.rsa_version), "aes": (w.aes, w.aes_version)}[which]
    text = base64.b64encode(payload).decode() or "AA=="
    common = {"KeyId": key, "KeyVersionId": version, "Algorithm": algorithm}
    answer("key actions: Base64 of random bytes", w.gw, "AsymmetricSign", common | {"Digest": text})
    verified = answer("key actions: Base64 of random bytes", w.gw, "AsymmetricVerify", common | {"Digest": text, "Value": text})
    assert verified.get("Value", False) is False  # a random signature never verifies
    answer("key actions: Base64 of random bytes", w.gw, "AsymmetricEncrypt", common | {"Plaintext": text})
    answer("key actions: Base64 of random bytes", w.gw, "AsymmetricDecrypt", common | {"CiphertextBlob": text})


@budget(60)
@given(spec=st.one_of(st.sampled_from(["Aliyun_AES_256", "Aliyun_SM4", "RSA_2048", "EC_P256", "EC_P256K", "EC_SM2",
                                       "rsa_2048", "Aliyun_AES_512", ""]), st.text(max_size=20)),  # fmt: skip
       usage=st.one_of(st.sampled_from(["ENCRYPT/DECRYPT", "SIGN/VERIFY", "", "SIGN"]), st.text(max_size=12)),
       origin=st.sampled_from(["Aliyun_KMS", "EXTERNAL", ""]), rotate=_junk, interval=_junk)
def test_hostile_keys_create_key_combinations(spec: str, usage: str, origin: str, rotate: str, interval: str) -> None:
    gw = new_gateway()  # a fresh account each time: successes never fill the key quota
    params = {"KeySpec": spec, "KeyUsage": usage, "Origin": origin, "EnableAutomaticRotation": rotate,
              "RotationInterval": interval}  # fmt: skip
    params = {k: v for k, v in params.items() if v and "\x00" not in v}
    status, body = call(gw, "POST", encode(signed("CreateKey", **params)))
    assert status < 500, body
    check("key actions: CreateKey spec/usage/rotation combinations", status, body, allow_ok=True)
