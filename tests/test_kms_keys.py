"""The helpers for asymmetric keys, key versions and rotation (helpers/kms.py), on an in-memory emulator."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

import helpers
from helpers import errors
from helpers.results import DecryptResult, KeyVersion, PublicKey, Signature
from tests.fixtures_kms import emulator, kms  # noqa: F401 (fixtures)


def test_kms_keys_create_key_picks_the_usage_from_the_spec(kms: helpers.Kms) -> None:
    assert kms.create_key(key_spec="EC_P256").key_usage == "SIGN/VERIFY"
    assert kms.create_key().key_usage == "ENCRYPT/DECRYPT"
    assert kms.create_key(key_spec="RSA_2048", key_usage="ENCRYPT/DECRYPT").key_usage == "ENCRYPT/DECRYPT"
    with pytest.raises(errors.KmsError) as info:
        kms.create_key(key_spec="EC_SM2")
    assert info.value.code == "UnsupportedOperation"


def test_kms_keys_sign_takes_raw_digest_bytes_and_verifies_offline(kms: helpers.Kms) -> None:
    meta = kms.create_key(key_spec="EC_P256K")
    version = kms.list_key_versions(meta.key_id).items[0]["KeyVersionId"]
    digest = hashlib.sha256(b"release-1.0.tar.gz").digest()
    signature = kms.asymmetric_sign(meta.key_id, version, "ECDSA_SHA_256", digest)
    assert isinstance(signature, Signature) and signature.key_version_id == version
    public = kms.get_public_key(meta.key_id, version)
    assert isinstance(public, PublicKey) and public.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    key = serialization.load_pem_public_key(public.public_key.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(signature.value, b"release-1.0.tar.gz", ec.ECDSA(hashes.SHA256()))
    assert kms.asymmetric_verify(meta.key_id, version, "ECDSA_SHA_256", digest, signature.value) is True
    assert kms.asymmetric_verify(meta.key_id, version, "ECDSA_SHA_256", bytes(32), signature.value) is False
    with pytest.raises(TypeError):
        kms.asymmetric_sign(meta.key_id, version, "ECDSA_SHA_256", base64.b64encode(digest).decode())  # type: ignore[arg-type]


def test_kms_keys_asymmetric_encrypt_and_decrypt(kms: helpers.Kms) -> None:
    meta = kms.create_key(key_spec="RSA_2048", key_usage="ENCRYPT/DECRYPT")
    public = serialization.load_pem_public_key(kms.get_public_key(meta.key_id, meta.primary_key_version).public_key.encode())
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    blob = base64.b64encode(public.encrypt(b"\x00session key\xff", oaep)).decode()  # type: ignore[union-attr]
    opened = kms.asymmetric_decrypt(meta.key_id, meta.primary_key_version, "RSAES_OAEP_SHA_256", blob)
    assert isinstance(opened, DecryptResult) and opened.plaintext == b"\x00session key\xff"
    assert "session" not in repr(opened)
    sealed = kms.asymmetric_encrypt(meta.key_id, meta.primary_key_version, "RSAES_OAEP_SHA_1", b"abc")
    assert kms.asymmetric_decrypt(meta.key_id, meta.primary_key_version, "RSAES_OAEP_SHA_1",
                                  sealed.ciphertext_blob).plaintext == b"abc"  # fmt: skip


def test_kms_keys_versions_and_rotation(kms: helpers.Kms, emulator: object) -> None:
    meta = kms.create_key(enable_automatic_rotation=True, rotation_interval="7d")
    assert (meta.automatic_rotation, meta.rotation_interval) == ("Enabled", "604800s")
    assert meta.next_rotation_date and meta.last_rotation_date == meta.creation_date
    old = kms.encrypt(meta.key_id, "before")
    made = kms.create_key_version(meta.key_id)
    assert isinstance(made, KeyVersion) and made.key_id == meta.key_id
    assert kms.describe_key_version(meta.key_id, made.key_version_id) == made
    assert [v["KeyVersionId"] for v in kms.list_key_versions(meta.key_id).items] == [meta.primary_key_version,
                                                                                      made.key_version_id]  # fmt: skip
    assert kms.encrypt(meta.key_id, "after").key_version_id == made.key_version_id
    assert kms.decrypt(old.ciphertext_blob).plaintext == "before"
    emulator.advance_clock(timedelta(days=8))  # type: ignore[attr-defined]
    rotated = kms.describe_key(meta.key_id)
    assert rotated.primary_key_version not in (meta.primary_key_version, made.key_version_id)
    kms.update_rotation_policy(meta.key_id, False)
    assert kms.describe_key(meta.key_id).automatic_rotation == "Disabled"
    kms.update_rotation_policy(meta.key_id, True, "30d")
    assert kms.describe_key(meta.key_id).rotation_interval == "2592000s"
    with pytest.raises(errors.KmsError) as info:
        kms.update_rotation_policy(meta.key_id, True)
    assert info.value.code == "MissingParameter"
