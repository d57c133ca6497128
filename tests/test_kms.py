"""Every helper action through the unmodified SDK against the emulator, plus argument checks."""

from __future__ import annotations

import base64

import pytest

import helpers
from helpers import errors
from helpers.encoding import MAX_PLAINTEXT_BYTES, encode_context
from helpers.results import DataKey, KeyMetadata
from tests.fixtures_kms import emulator, key_id, kms  # noqa: F401 (fixtures)
from tests.stub_server import StubServer


def test_kms_create_and_describe_key(kms):
    created = kms.create_key(description="kms-workshop: demo", tags={"team": "lab"})
    assert isinstance(created, KeyMetadata)
    assert created.key_state == "Enabled" and created.key_spec == "Aliyun_AES_256"
    assert created.key_usage == "ENCRYPT/DECRYPT"
    assert created.arn.endswith(f":key/{created.key_id}")
    described = kms.describe_key(created.key_id)
    assert described.key_id == created.key_id and described.description == "kms-workshop: demo"
    assert kms.list_resource_tags(created.key_id) == {"team": "lab"}


def test_kms_list_keys_pages_through_everything(kms):
    made = {kms.create_key().key_id for _ in range(3)}
    page = kms.list_keys(page_number=1, page_size=2)
    assert len(page.items) == 2 and page.page_size == 2 and page.total_count >= 3
    assert made <= {k["KeyId"] for k in kms.iter_keys(page_size=2)}


def test_kms_alias_lifecycle(kms, key_id):
    other = kms.create_key().key_id
    kms.create_alias("alias/kms-workshop-life", key_id)
    assert kms.describe_key("alias/kms-workshop-life").key_id == key_id
    with pytest.raises(errors.AliasExistsError):
        kms.create_alias("alias/kms-workshop-life", other)
    kms.update_alias("alias/kms-workshop-life", other)
    assert kms.describe_key("alias/kms-workshop-life").key_id == other
    names = {a["AliasName"] for a in kms.iter_aliases()}
    assert "alias/kms-workshop-life" in names
    by_key = kms.list_aliases_by_key_id(other)
    assert [a["AliasName"] for a in by_key.items] == ["alias/kms-workshop-life"]
    kms.delete_alias("alias/kms-workshop-life")
    with pytest.raises(errors.KeyNotFoundError):
        kms.describe_key("alias/kms-workshop-life")


def test_kms_text_round_trip_returns_the_same_string(kms, key_id):
    text = "-----BEGIN PRIVATE KEY-----\nhéllo ~*+/= 😀\n"
    blob = kms.encrypt(key_id, text, {"purpose": "tls", "host": "www"}).ciphertext_blob
    result = kms.decrypt(blob, {"host": "www", "purpose": "tls"})
    assert result.plaintext == text and result.key_id == key_id
    assert text not in repr(result)


def test_kms_bytes_round_trip_is_base64_on_the_wire(kms, key_id):
    data = bytes(range(256))
    blob = kms.encrypt(key_id, data).ciphertext_blob
    assert kms.decrypt(blob, binary=True).plaintext == data
    assert kms.decrypt(blob).plaintext == base64.b64encode(data).decode()


def test_kms_decrypt_binary_of_text_says_what_went_wrong(kms, key_id):
    blob = kms.encrypt(key_id, "not base64 at all!").ciphertext_blob
    with pytest.raises(ValueError, match="without binary=True"):
        kms.decrypt(blob, binary=True)


def test_kms_wrong_context_and_tampered_blob_are_invalid_ciphertext(kms, key_id):
    blob = kms.encrypt(key_id, "secret", {"a": "1"}).ciphertext_blob
    with pytest.raises(errors.InvalidCiphertextError):
        kms.decrypt(blob, {"a": "2"})
    with pytest.raises(errors.InvalidCiphertextError):
        kms.decrypt(blob)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    with pytest.raises(errors.InvalidCiphertextError):
        kms.decrypt(base64.b64encode(bytes(raw)).decode(), {"a": "1"})


def test_kms_size_limit_is_checked_before_any_request():
    with StubServer() as stub:
        kms = helpers.connect("emulator", endpoint=stub.endpoint)
        with pytest.raises(helpers.PlaintextTooLargeError, match="envelope"):
            kms.encrypt("alias/x", "x" * (MAX_PLAINTEXT_BYTES + 1))
        with pytest.raises(helpers.PlaintextTooLargeError):
            kms.encrypt("alias/x", b"\0" * 4700)  # 6268 bytes once Base64-encoded
    assert stub.requests == []


def test_kms_exactly_6144_bytes_is_accepted(kms, key_id):
    text = "é" * (MAX_PLAINTEXT_BYTES // 2)
    blob = kms.encrypt(key_id, text).ciphertext_blob
    assert kms.decrypt(blob).plaintext == text


def test_kms_generate_data_key_decrypts_to_the_same_bytes(kms, key_id):
    dk = kms.generate_data_key(key_id, encryption_context={"file": "a"})
    assert isinstance(dk, DataKey) and len(dk.plaintext) == 32
    assert str(list(dk.plaintext)) not in repr(dk) and "hidden" in repr(dk)
    assert kms.decrypt(dk.ciphertext_blob, {"file": "a"}, binary=True).plaintext == dk.plaintext
    assert len(kms.generate_data_key(key_id, key_spec="AES_128").plaintext) == 16
    assert len(kms.generate_data_key(key_id, number_of_bytes=64).plaintext) == 64
    only = kms.generate_data_key_without_plaintext(key_id)
    assert len(kms.decrypt(only.ciphertext_blob, binary=True).plaintext) == 32


def test_kms_re_encrypt_moves_a_ciphertext_to_another_key(kms, key_id):
    other = kms.create_key().key_id
    blob = kms.encrypt(key_id, "moving", {"v": "1"}).ciphertext_blob
    moved = kms.re_encrypt(blob, other, {"v": "1"}, {"v": "2"})
    assert moved.key_id == other
    assert kms.decrypt(moved.ciphertext_blob, {"v": "2"}).plaintext == "moving"


def test_kms_disable_enable_and_deletion_window(kms, key_id):
    blob = kms.encrypt(key_id, "x").ciphertext_blob
    kms.disable_key(key_id)
    assert kms.describe_key(key_id).key_state == "Disabled"
    with pytest.raises(errors.KeyStateError) as info:
        kms.decrypt(blob)
    assert info.value.code == "Rejected.Disabled" and info.value.http_status == 409
    kms.enable_key(key_id)
    assert kms.decrypt(blob).plaintext == "x"
    kms.schedule_key_deletion(key_id, pending_window_in_days=7)
    meta = kms.describe_key(key_id)
    assert meta.key_state == "PendingDeletion" and meta.delete_date.endswith("Z")
    with pytest.raises(errors.KeyStateError, match="PendingDeletion"):
        kms.encrypt(key_id, "x")
    kms.cancel_key_deletion(key_id)
    assert kms.describe_key(key_id).key_state == "Enabled"


def test_kms_tags_and_description(kms, key_id):
    kms.tag_resource(key_id, {"env": "lab", "owner": "me"})
    kms.untag_resource(key_id, ["owner"])
    assert kms.list_resource_tags(key_id) == {"env": "lab"}
    kms.update_key_description(key_id, "kms-workshop: renamed")
    assert kms.describe_key(key_id).description == "kms-workshop: renamed"


def test_kms_describe_regions(kms):
    assert "cn-hangzhou" in kms.describe_regions()


def test_kms_unknown_key_is_key_not_found(kms):
    with pytest.raises(errors.KeyNotFoundError) as info:
        kms.describe_key("key-hzz00000000000000000000")
    assert info.value.http_status == 404 and info.value.request_id


def test_kms_ensure_key_creates_once_then_finds(kms):
    first = helpers.ensure_key(kms, "ensure")
    second = helpers.ensure_key(kms, "ensure")
    assert first.key_id == second.key_id
    assert first.description.startswith("kms-workshop:")
    assert kms.list_resource_tags(first.key_id) == {"created-by": "kms-workshop",
                                                    "kms-workshop-learner": kms.connection.learner}


def test_kms_last_request_is_masked(kms, key_id):
    kms.encrypt(key_id, "very secret words", {"k": "v"})
    line = kms.last_request
    assert "Action=Encrypt" in line and "Plaintext=<17 chars>" in line
    assert "very" not in line and "testid" not in line and "Signature=<" in line


@pytest.mark.parametrize(
    ("call", "exc"),
    [
        (lambda k: k.encrypt("alias/x", 12345), TypeError),
        (lambda k: k.encrypt("alias/x", "p", {"a": 1}), TypeError),
        (lambda k: k.encrypt("alias/x", "p", [("a", "b")]), TypeError),
        (lambda k: k.decrypt(b"bytes-not-str"), TypeError),
        (lambda k: k.encrypt("alias/x", "\ud800"), ValueError),
    ],
)
def test_kms_wrong_types_fail_before_any_request(call, exc):
    with StubServer() as stub:
        with pytest.raises(exc):
            call(helpers.connect("emulator", endpoint=stub.endpoint))
    assert stub.requests == []


def test_kms_context_encoding_is_canonical_json():
    assert encode_context({"b": "2", "a": "1"}) == '{"a":"1","b":"2"}'
    assert encode_context(None) is None


def test_kms_every_action_method_names_its_api_page_and_builds_its_own_request():
    import inspect

    from helpers.kms import API

    actions = {name: m for name, m in vars(helpers.Kms).items()
               if inspect.isfunction(m) and not name.startswith(("_", "iter_", "close"))}
    assert len(actions) == 42  # 22 key actions, 11 secrets actions, 9 asymmetric and key-version actions
    for name, method in actions.items():
        page = API + name.replace("_", "")
        assert f"API reference: {page}" in (method.__doc__ or ""), name
        source = inspect.getsource(method)
        assert "Request()" in source and "getattr" not in source, name  # a reader can follow each setter
