"""Hostile ciphertext blobs: the emulator's blob parser, end to end through Decrypt and ReEncrypt.

``test_emulator_crypto.py`` flips every bit of one blob at the crypto layer; here hypothesis builds
random text and *structured* mutations (truncation, extension, splices of two blobs, another key's
version id, another account's blob) and sends them the way a client would. Promise: a documented
4xx (400 InvalidParameter or 404 Forbidden.KeyNotFound), never a 500 and never plaintext.
"""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from helpers.emulator import crypto
from tests.test_hostile_wire import FORM, OUTCOMES, budget, call, check, encode, new_gateway, signed

REFUSALS = {"InvalidParameter", "Forbidden.KeyNotFound"}


class Keys:
    """Two keys in account A, one in account B, and a blob under each."""

    def __init__(self) -> None:
        self.gw = new_gateway()
        self.a1, self.a2 = self._key("testid", "testsecret"), self._key("testid", "testsecret")
        self.b1 = self._key("testid2", "testsecret2")
        self.blob_a1 = self._encrypt(self.a1, "testid", "testsecret")
        self.blob_a2 = self._encrypt(self.a2, "testid", "testsecret")
        self.blob_b1 = self._encrypt(self.b1, "testid2", "testsecret2")

    def _key(self, key_id: str, secret: str) -> str:
        status, body = call(self.gw, "POST", encode(signed("CreateKey", key_id=key_id, secret=secret)))
        assert status == 200, body
        return str(body["KeyMetadata"]["KeyId"])

    def _encrypt(self, key: str, key_id: str, secret: str) -> bytes:
        status, body = call(self.gw, "POST", encode(signed("Encrypt", key_id=key_id, secret=secret, KeyId=key,
                                                           Plaintext=PLAINTEXT, EncryptionContext=CONTEXT)))  # fmt: skip
        assert status == 200, body
        return base64.b64decode(body["CiphertextBlob"])

    def decrypt(self, blob_text: str, action: str = "Decrypt") -> tuple[int, dict]:
        if action == "Decrypt":
            request = signed("Decrypt", CiphertextBlob=blob_text, EncryptionContext=CONTEXT)
        else:
            request = signed("ReEncrypt", CiphertextBlob=blob_text, DestinationKeyId=self.a2,
                             SourceEncryptionContext=CONTEXT)  # fmt: skip
        return call(self.gw, "POST", "", encode(request).encode(), FORM)


PLAINTEXT, CONTEXT = "the private key, say", '{"purpose":"hostile"}'
_keys: Keys | None = None


def keys() -> Keys:
    global _keys
    if _keys is None:
        _keys = Keys()
    return _keys


def test_hostile_blob_baseline_decrypts() -> None:
    k = keys()
    status, body = k.decrypt(base64.b64encode(k.blob_a1).decode())
    assert status == 200 and body["Plaintext"] == PLAINTEXT


@budget(200)
@given(text=st.one_of(st.text(max_size=200), st.text("ABCDEFabcdef0123456789+/=", max_size=200),
                      st.binary(max_size=150).map(lambda b: base64.b64encode(b).decode())),
       action=st.sampled_from(["Decrypt", "ReEncrypt"]))  # fmt: skip
@example(text="", action="Decrypt")
@example(text="=" * 64, action="Decrypt")
def test_hostile_random_blob_text_is_refused(text: str, action: str) -> None:
    status, body = keys().decrypt(text, action)
    code = check(f"random CiphertextBlob ({action})", status, body)
    assert code in REFUSALS | {"MissingParameter"}


def mutate(blob: bytes, op: str, pos: int, value: int, other: bytes) -> bytes:
    pos %= len(blob)
    if op == "flip bit":
        return blob[:pos] + bytes([blob[pos] ^ (1 << (value % 8))]) + blob[pos + 1 :]
    if op == "truncate":
        return blob[:pos]
    if op == "extend":
        return blob + bytes([value]) * (1 + pos % 40)
    if op == "insert byte":
        return blob[:pos] + bytes([value]) + blob[pos:]
    if op == "delete byte":
        return blob[:pos] + blob[pos + 1 :]
    if op == "other key's version id":
        return other[: crypto.VERSION_ID_LENGTH] + blob[crypto.VERSION_ID_LENGTH :]
    if op == "other key's IV":
        iv = slice(crypto.VERSION_ID_LENGTH, crypto.VERSION_ID_LENGTH + crypto.IV_LENGTH)
        return blob[: iv.start] + other[iv] + blob[iv.stop :]
    if op == "splice two blobs":
        return blob[:pos] + other[pos:]
    if op == "random body":
        return blob[: crypto.VERSION_ID_LENGTH] + os.urandom(len(blob) - crypto.VERSION_ID_LENGTH)
    raise AssertionError(op)


OPS = ("flip bit", "truncate", "extend", "insert byte", "delete byte", "other key's version id",
       "other key's IV", "splice two blobs", "random body")  # fmt: skip


@budget(300)
@given(op=st.sampled_from(OPS), pos=st.integers(0, 10_000), value=st.integers(0, 255),
       other=st.sampled_from(["same account", "other account"]), action=st.sampled_from(["Decrypt", "ReEncrypt"]))  # fmt: skip
def test_hostile_mutated_blob_never_yields_plaintext(op: str, pos: int, value: int, other: str, action: str) -> None:
    k = keys()
    donor = k.blob_a2 if other == "same account" else k.blob_b1
    tampered = mutate(k.blob_a1, op, pos, value, donor)
    assume(tampered not in (k.blob_a1, k.blob_a2, k.blob_b1))  # an intact blob is not tampered
    status, body = k.decrypt(base64.b64encode(tampered).decode(), action)
    allowed = REFUSALS | ({"MissingParameter"} if not tampered else set())
    assert check(f"tampered blob: {op}", status, body) in allowed
    assert PLAINTEXT not in str(body)


@pytest.mark.parametrize("action", ["Decrypt", "ReEncrypt"])
def test_hostile_blob_of_another_account_is_not_found(action: str) -> None:
    k = keys()
    status, body = k.decrypt(base64.b64encode(k.blob_b1).decode(), action)
    assert check("another account's intact blob", status, body) == "Forbidden.KeyNotFound"


@budget(300)
@given(data=st.binary(max_size=200), text=st.text(max_size=100))
def test_hostile_blob_parser_functions_raise_only_blob_error(data: bytes, text: str) -> None:
    """The parser's own functions: a value or BlobError, nothing else escapes, nothing opens."""
    material = crypto.new_key_material()
    for fn, arg in ((crypto.decode_blob, text), (crypto.blob_version_id, data)):
        try:
            fn(arg)
        except crypto.BlobError:
            pass
    with pytest.raises(crypto.BlobError):
        crypto.open_blob(material, data, None)
    OUTCOMES[("blob parser functions on random bytes/text", "BlobError or value")] += 1
