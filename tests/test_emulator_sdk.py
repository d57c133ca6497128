"""Every action and every documented error, through the unmodified classic SDK over loopback."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.request import CommonRequest

from helpers.emulator import ACTIONS, Emulator, responses
from tests.conftest import EmulatorCall, emulator_call_with, emulator_client_for

CTX = json.dumps({"app": "demo", "purpose": "test"})


def expect(call: EmulatorCall, code: str, status: int, action: str, **params: Any) -> ServerException:
    with pytest.raises(ServerException) as info:
        call(action, **params)
    assert (info.value.get_error_code(), info.value.get_http_status()) == (code, status), info.value
    assert info.value.get_request_id()
    return info.value


@pytest.fixture
def key_id(emulator_call: EmulatorCall) -> str:
    return str(emulator_call("CreateKey", Description="kms-workshop: test")["KeyMetadata"]["KeyId"])


def test_sdk_create_and_describe_key_metadata_shape(emulator_call: EmulatorCall) -> None:
    meta = emulator_call("CreateKey", Description="d")["KeyMetadata"]
    assert meta["KeyId"].startswith("key-hzz") and meta["KeyState"] == "Enabled"
    assert meta["Arn"] == f"acs:kms:cn-hangzhou:1234567890123456:key/{meta['KeyId']}"
    assert meta["DeleteDate"] == "" and meta["MaterialExpireTime"] == "" and meta["DKMSInstanceId"] == ""
    assert meta["CreationDate"].endswith("Z") and len(meta["CreationDate"]) == 20
    described = emulator_call("DescribeKey", KeyId=meta["Arn"])["KeyMetadata"]
    assert described["DeletionProtection"] == "Disabled" and described["KeyId"] == meta["KeyId"]


def test_sdk_create_key_options(emulator_call: EmulatorCall) -> None:
    meta = emulator_call("CreateKey", KeySpec="Aliyun_AES_256", ProtectionLevel="HSM", EnableAutomaticRotation="true",
                         RotationInterval="30d", Tags='[{"TagKey":"env","TagValue":"lab"}]')["KeyMetadata"]  # fmt: skip
    assert (meta["ProtectionLevel"], meta["AutomaticRotation"], meta["RotationInterval"]) == ("HSM", "Enabled", "2592000s")
    assert meta["NextRotationDate"].endswith("Z")
    tags = emulator_call("ListResourceTags", KeyId=meta["KeyId"])["Tags"]["Tag"]
    assert tags == [{"KeyId": meta["KeyId"], "TagKey": "env", "TagValue": "lab"}]
    external = emulator_call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]
    assert external["KeyState"] == "PendingImport"


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"KeySpec": "EC_SM2"}, "UnsupportedOperation", 400),
        ({"KeySpec": "EC_P256", "KeyUsage": "ENCRYPT/DECRYPT"}, "InvalidParameter", 400),
        ({"KeySpec": "EC_P256K", "EnableAutomaticRotation": "true"}, "Rejected.UnsupportedOperation", 400),
        ({"Origin": "EXTERNAL", "EnableAutomaticRotation": "true"}, "Rejected.UnsupportedOperation", 400),
        ({"Origin": "EXTERNAL", "KeySpec": "EC_P256"}, "UnsupportedOperation", 400),
        ({"RotationInterval": "731d"}, "InvalidParameter", 400),
        ({"KeySpec": "nope"}, "InvalidParameter", 400),
        ({"KeyUsage": "SIGN/VERIFY"}, "InvalidParameter", 400),
        ({"Origin": "X"}, "InvalidParameter", 400),
        ({"ProtectionLevel": "X"}, "InvalidParameter", 400),
        ({"EnableAutomaticRotation": "maybe"}, "InvalidParameter", 400),
        ({"RotationInterval": "1d"}, "InvalidParameter", 400),
        ({"Tags": '[{"TagKey":"acs:x","TagValue":"v"}]'}, "InvalidParameter", 400),
        ({"Tags": "not json"}, "InvalidParameter", 400),
        ({"Description": "x" * 8193}, "InvalidParameter", 400),
        ({"DKMSInstanceId": "kst-abc"}, "Forbidden.DKMSInstanceNotFound", 403),
    ],
)
def test_sdk_create_key_rejects(emulator_call: EmulatorCall, params: dict[str, str], code: str, status: int) -> None:
    expect(emulator_call, code, status, "CreateKey", **params)


def test_sdk_list_keys_paging_and_filters(emulator_call: EmulatorCall) -> None:
    ids = [emulator_call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(3)]
    emulator_call("DisableKey", KeyId=ids[1])
    page = emulator_call("ListKeys", PageNumber=2, PageSize=2)
    assert (page["PageNumber"], page["PageSize"], page["TotalCount"]) == (2, 2, 3)
    assert [k["KeyId"] for k in page["Keys"]["Key"]] == [ids[2]]
    enabled = emulator_call("ListKeys", Filters='[{"Key":"KeyState","Values":["Enabled"]}]')
    assert [k["KeyId"] for k in enabled["Keys"]["Key"]] == [ids[0], ids[2]]
    assert enabled["Keys"]["Key"][0]["KeyArn"].endswith(ids[0])
    expect(emulator_call, "InvalidParameter", 400, "ListKeys", Filters='[{"Key":"Colour","Values":["x"]}]')
    expect(emulator_call, "InvalidParameter", 400, "ListKeys", PageSize=101)
    expect(emulator_call, "InvalidParameter", 400, "ListKeys", PageNumber="one")


def test_sdk_update_key_description(emulator_call: EmulatorCall, key_id: str) -> None:
    assert set(emulator_call("UpdateKeyDescription", KeyId=key_id, Description="new")) == {"RequestId"}
    assert emulator_call("DescribeKey", KeyId=key_id)["KeyMetadata"]["Description"] == "new"


def test_sdk_key_state_matrix(emulator_call: EmulatorCall, key_id: str) -> None:
    emulator_call("DisableKey", KeyId=key_id)
    expect(emulator_call, "Rejected.Disabled", 409, "Encrypt", KeyId=key_id, Plaintext="x")
    expect(emulator_call, "Rejected.StateModifiedFailed", 409, "CancelKeyDeletion", KeyId=key_id)
    emulator_call("EnableKey", KeyId=key_id)
    emulator_call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    meta = emulator_call("DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and meta["DeleteDate"].endswith("Z")
    for action in ("EnableKey", "DisableKey"):
        expect(emulator_call, "Rejected.StateModifiedFailed", 409, action, KeyId=key_id)
    expect(emulator_call, "Rejected.StateModifiedFailed", 409, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    expect(emulator_call, "Rejected.StateModifiedFailed", 409, "CreateAlias", KeyId=key_id, AliasName="alias/late")
    expect(emulator_call, "Rejected.PendingDeletion", 409, "GenerateDataKey", KeyId=key_id)
    assert len(emulator_call("ListKeys")["Keys"]["Key"]) == 1  # ListKeys shows every state
    emulator_call("CancelKeyDeletion", KeyId=key_id)
    assert emulator_call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    expect(emulator_call, "InvalidParameter", 400, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=6)
    expect(emulator_call, "MissingParameter", 400, "ScheduleKeyDeletion", KeyId=key_id)


def test_sdk_pending_import_key(emulator_call: EmulatorCall) -> None:
    key_id = emulator_call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    expect(emulator_call, "Rejected.PendingImport", 409, "Encrypt", KeyId=key_id, Plaintext="x")
    expect(emulator_call, "Rejected.StateModifiedFailed", 409, "EnableKey", KeyId=key_id)
    emulator_call("CreateAlias", KeyId=key_id, AliasName="alias/imported")
    emulator_call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=366)


def test_sdk_aliases(emulator_call: EmulatorCall, key_id: str) -> None:
    other = emulator_call("CreateKey")["KeyMetadata"]["KeyId"]
    emulator_call("CreateAlias", KeyId=key_id, AliasName="alias/kms-workshop-a")
    emulator_call("CreateAlias", KeyId=key_id, AliasName="alias/kms-workshop-b")
    expect(emulator_call, "AliasAlreadyExists", 400, "CreateAlias", KeyId=other, AliasName="alias/kms-workshop-a")
    listed = emulator_call("ListAliases")
    assert listed["TotalCount"] == 2 and listed["Aliases"]["Alias"][0] == {
        "AliasName": "alias/kms-workshop-a", "KeyId": key_id,
        "AliasArn": "acs:kms:cn-hangzhou:1234567890123456:alias/kms-workshop-a"}  # fmt: skip
    emulator_call("UpdateAlias", KeyId=other, AliasName="alias/kms-workshop-a")
    assert emulator_call("DescribeKey", KeyId="alias/kms-workshop-a")["KeyMetadata"]["KeyId"] == other
    by_key = emulator_call("ListAliasesByKeyId", KeyId=key_id, PageSize=1)
    assert by_key["TotalCount"] == 1 and by_key["Aliases"]["Alias"][0]["AliasName"] == "alias/kms-workshop-b"
    emulator_call("DeleteAlias", AliasName="alias/kms-workshop-b")
    assert emulator_call("ListAliasesByKeyId", KeyId=key_id)["TotalCount"] == 0
    expect(emulator_call, "Forbidden.AliasNotFound", 404, "DeleteAlias", AliasName="alias/kms-workshop-b")
    expect(emulator_call, "Forbidden.AliasNotFound", 404, "UpdateAlias", KeyId=key_id, AliasName="alias/none")
    expect(emulator_call, "Forbidden.AliasNotFound", 404, "DescribeKey", KeyId="alias/none")
    expect(emulator_call, "Forbidden.KeyNotFound", 404, "CreateAlias", KeyId="key-hzznope", AliasName="alias/x")
    expect(emulator_call, "Forbidden.KeyNotFound", 404, "ListAliasesByKeyId", KeyId="key-hzznope")
    emulator_call("ScheduleKeyDeletion", KeyId=other, PendingWindowInDays=7)
    expect(emulator_call, "Rejected.PendingDeletion", 409, "UpdateAlias", KeyId=other, AliasName="alias/kms-workshop-a")


@pytest.mark.parametrize("name", ["kms-workshop", "alias/", "alias/acs-x", "alias/with space", "alias/" + "a" * 250, "alias/é"])
def test_sdk_alias_name_rules(emulator_call: EmulatorCall, key_id: str, name: str) -> None:
    expect(emulator_call, "InvalidParameter", 400, "CreateAlias", KeyId=key_id, AliasName=name)


def test_sdk_encrypt_decrypt_roundtrip_opaque_plaintext(emulator_call: EmulatorCall, key_id: str) -> None:
    emulator_call("CreateAlias", KeyId=key_id, AliasName="alias/kms-workshop-enc")
    text = "-----BEGIN PRIVATE KEY-----\nnot base64 ~*+/= é 😀"
    out = emulator_call("Encrypt", KeyId="alias/kms-workshop-enc", Plaintext=text, EncryptionContext=CTX)
    assert out["KeyId"] == key_id and base64.b64decode(out["CiphertextBlob"])[:36].decode() == out["KeyVersionId"]
    reordered = '{ "purpose" : "test", "app":"demo" }'
    back = emulator_call("Decrypt", CiphertextBlob=out["CiphertextBlob"], EncryptionContext=reordered)
    assert (back["Plaintext"], back["KeyId"], back["KeyVersionId"]) == (text, key_id, out["KeyVersionId"])
    expect(emulator_call, "InvalidParameter", 400, "Decrypt", CiphertextBlob=out["CiphertextBlob"])
    expect(emulator_call, "InvalidParameter", 400, "Decrypt", CiphertextBlob=out["CiphertextBlob"], EncryptionContext='{"app":"other"}')


def test_sdk_encrypt_limits_and_bad_input(emulator_call: EmulatorCall, key_id: str) -> None:
    assert emulator_call("Encrypt", KeyId=key_id, Plaintext="a" * 6144)["CiphertextBlob"]
    expect(emulator_call, "InvalidParameter", 400, "Encrypt", KeyId=key_id, Plaintext="a" * 6145)
    expect(emulator_call, "InvalidParameter", 400, "Encrypt", KeyId=key_id, Plaintext="é" * 3073)
    expect(emulator_call, "MissingParameter", 400, "Encrypt", KeyId=key_id)
    expect(emulator_call, "MissingParameter", 400, "Encrypt", Plaintext="x")
    expect(emulator_call, "InvalidParameter", 400, "Encrypt", KeyId=key_id, Plaintext="x", EncryptionContext="{'a': 'b'}")
    expect(emulator_call, "InvalidParameter", 400, "Encrypt", KeyId=key_id, Plaintext="x", EncryptionContext='{"a": 1}')
    expect(emulator_call, "InvalidParameter", 400, "Encrypt", KeyId=key_id, Plaintext="x", EncryptionContext="[]")
    expect(emulator_call, "Forbidden.KeyNotFound", 404, "Encrypt", KeyId="key-hzzmissing", Plaintext="x")
    expect(emulator_call, "Forbidden.AliasNotFound", 404, "Encrypt", KeyId="alias/missing", Plaintext="x")
    expect(emulator_call, "DryRunOperationError", 400, "Encrypt", KeyId=key_id, Plaintext="x", DryRun=True)


def test_sdk_decrypt_tampered_blobs(emulator_call: EmulatorCall, key_id: str) -> None:
    blob = base64.b64decode(emulator_call("Encrypt", KeyId=key_id, Plaintext="secret")["CiphertextBlob"])
    flipped = bytearray(blob)
    flipped[-5] ^= 1
    bad_version = b"00000000-0000-4000-8000-000000000000" + blob[36:]
    for candidate, code, status in [
        (bytes(flipped), "InvalidParameter", 400),
        (blob[:-1], "InvalidParameter", 400),
        (blob[:40], "InvalidParameter", 400),
        (bad_version, "Forbidden.KeyNotFound", 404),
    ]:
        expect(emulator_call, code, status, "Decrypt", CiphertextBlob=base64.b64encode(candidate).decode())
    expect(emulator_call, "InvalidParameter", 400, "Decrypt", CiphertextBlob="not base64!")
    expect(emulator_call, "MissingParameter", 400, "Decrypt")


def test_sdk_generate_data_key(emulator_call: EmulatorCall, key_id: str) -> None:
    out = emulator_call("GenerateDataKey", KeyId=key_id, EncryptionContext=CTX)
    assert len(base64.b64decode(out["Plaintext"])) == 32
    back = emulator_call("Decrypt", CiphertextBlob=out["CiphertextBlob"], EncryptionContext=CTX)
    assert back["Plaintext"] == out["Plaintext"]
    assert len(base64.b64decode(emulator_call("GenerateDataKey", KeyId=key_id, KeySpec="AES_128")["Plaintext"])) == 16
    assert len(base64.b64decode(emulator_call("GenerateDataKey", KeyId=key_id, KeySpec="AES_128", NumberOfBytes=1024)["Plaintext"])) == 1024
    without = emulator_call("GenerateDataKeyWithoutPlaintext", KeyId=key_id, NumberOfBytes=1)
    assert "Plaintext" not in without
    assert len(base64.b64decode(emulator_call("Decrypt", CiphertextBlob=without["CiphertextBlob"])["Plaintext"])) == 1
    for params in ({"NumberOfBytes": 0}, {"NumberOfBytes": 1025}, {"KeySpec": "AES_512"}, {"NumberOfBytes": "x"}):
        expect(emulator_call, "InvalidParameter", 400, "GenerateDataKey", KeyId=key_id, **params)
        expect(emulator_call, "InvalidParameter", 400, "GenerateDataKeyWithoutPlaintext", KeyId=key_id, **params)
    expect(emulator_call, "Forbidden.KeyNotFound", 404, "GenerateDataKeyWithoutPlaintext", KeyId="key-hzzmissing")


def test_sdk_re_encrypt(emulator_call: EmulatorCall, key_id: str) -> None:
    other = emulator_call("CreateKey")["KeyMetadata"]["KeyId"]
    blob = emulator_call("Encrypt", KeyId=key_id, Plaintext="move me", EncryptionContext=CTX)["CiphertextBlob"]
    moved = emulator_call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=other, SourceEncryptionContext=CTX,
                          DestinationEncryptionContext='{"new":"ctx"}')  # fmt: skip
    assert moved["KeyId"] == other
    assert emulator_call("Decrypt", CiphertextBlob=moved["CiphertextBlob"], EncryptionContext='{"new":"ctx"}')["Plaintext"] == "move me"
    expect(emulator_call, "InvalidParameter", 400, "ReEncrypt", CiphertextBlob=blob, DestinationKeyId=other)
    expect(emulator_call, "Forbidden.KeyNotFound", 404, "ReEncrypt", CiphertextBlob=blob, DestinationKeyId="key-hzzx",
           SourceEncryptionContext=CTX)  # fmt: skip
    expect(emulator_call, "MissingParameter", 400, "ReEncrypt", CiphertextBlob=blob)


def test_sdk_tags(emulator_call: EmulatorCall, key_id: str) -> None:
    emulator_call("TagResource", KeyId=key_id, Tags='[{"TagKey":"a","TagValue":"1"},{"TagKey":"b","TagValue":"2"}]')
    emulator_call("UntagResource", KeyId=key_id, TagKeys='["a"]')
    assert emulator_call("ListResourceTags", KeyId=key_id)["Tags"]["Tag"] == [{"KeyId": key_id, "TagKey": "b", "TagValue": "2"}]
    many = json.dumps([{"TagKey": f"k{i}", "TagValue": "v"} for i in range(20)])
    expect(emulator_call, "Rejected.LimitExceeded", 400, "TagResource", KeyId=key_id, Tags=many)
    expect(emulator_call, "InvalidParameter", 400, "TagResource", KeyId=key_id, Tags='[{"TagKey":"a"}]')
    expect(emulator_call, "MissingParameter", 400, "TagResource", KeyId=key_id)
    expect(emulator_call, "InvalidParameter", 400, "UntagResource", KeyId=key_id, TagKeys="a")
    # secrets can be tagged too (test_emulator_secrets.py); certificates cannot
    expect(emulator_call, "Forbidden.ResourceNotFound", 404, "TagResource", SecretName="s", Tags='[{"TagKey":"a","TagValue":"1"}]')
    expect(emulator_call, "UnsupportedOperation", 400, "TagResource", CertificateId="c", Tags='[{"TagKey":"a","TagValue":"1"}]')
    expect(emulator_call, "Forbidden.KeyNotFound", 404, "ListResourceTags", KeyId="key-hzzmissing")


def test_sdk_describe_regions(emulator_call: EmulatorCall) -> None:
    regions = emulator_call("DescribeRegions")["Regions"]["Region"]
    assert {"RegionId": "cn-hangzhou"} in regions


def test_sdk_key_quota(emulator_call: EmulatorCall) -> None:
    for _ in range(200):
        emulator_call("CreateKey")
    expect(emulator_call, "Rejected.LimitExceeded", 400, "CreateKey")


def test_sdk_alias_quota(emulator_call: EmulatorCall, key_id: str) -> None:
    for i in range(300):
        emulator_call("CreateAlias", KeyId=key_id, AliasName=f"alias/a{i}")
    expect(emulator_call, "Rejected.LimitExceeded", 400, "CreateAlias", KeyId=key_id, AliasName="alias/one-more")


def test_sdk_cross_account_isolation(emulator_server: Emulator, emulator_call: EmulatorCall, key_id: str) -> None:
    blob = emulator_call("Encrypt", KeyId=key_id, Plaintext="mine")["CiphertextBlob"]
    emulator_call("CreateAlias", KeyId=key_id, AliasName="alias/mine")
    other = emulator_call_with(emulator_client_for(emulator_server, "testid2", "testsecret2"))
    expect(other, "Forbidden.KeyNotFound", 404, "DescribeKey", KeyId=key_id)
    expect(other, "Forbidden.KeyNotFound", 404, "Decrypt", CiphertextBlob=blob)
    expect(other, "Forbidden.KeyNotFound", 404, "Encrypt", KeyId=f"acs:kms:cn-hangzhou:1234567890123456:key/{key_id}", Plaintext="x")
    expect(other, "Forbidden.AliasNotFound", 404, "Encrypt", KeyId="alias/mine", Plaintext="x")
    assert other("ListKeys")["TotalCount"] == 0 and other("ListAliases")["TotalCount"] == 0


def test_sdk_sts_credentials(emulator_server: Emulator, key_id: str) -> None:
    good = StsTokenCredential("STS.testid", "testsecret-sts", "test-sts-token")
    call = emulator_call_with(emulator_client_for(emulator_server, credential=good))
    assert call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id  # same account as testid
    bad = StsTokenCredential("STS.testid", "testsecret-sts", "wrong")
    expect(emulator_call_with(emulator_client_for(emulator_server, credential=bad)),
           "InvalidSecurityToken.MismatchWithAccessKey", 403, "ListKeys")  # fmt: skip
    no_token = emulator_call_with(emulator_client_for(emulator_server, "STS.testid", "testsecret-sts"))
    expect(no_token, "MissingParameter", 400, "ListKeys")


def test_sdk_gateway_errors(emulator_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    expect(emulator_call_with(emulator_client_for(emulator_server, "nobody", "x")), "InvalidAccessKeyId.NotFound", 404, "ListKeys")
    # Wrong secret: the message's colon form lets the SDK compare StringToSigns and rename the code.
    wrong = expect(emulator_call_with(emulator_client_for(emulator_server, "testid", "wrong")), "InvalidAccessKeySecret", 400, "ListKeys")
    assert "AccessKeySecret" in wrong.get_error_msg()
    import aliyunsdkcore.utils.parameter_helper as helper

    monkeypatch.setattr(helper, "get_uuid", lambda: "fixed-nonce")
    call = emulator_call_with(emulator_client_for(emulator_server))
    call("ListKeys")
    expect(call, "SignatureNonceUsed", 400, "ListKeys")


def test_sdk_timestamp_expired() -> None:
    with Emulator(clock=lambda: datetime.now(timezone.utc) + timedelta(minutes=16)) as emu:
        expect(emulator_call_with(emulator_client_for(emu)), "InvalidTimeStamp.Expired", 400, "ListKeys")
    with Emulator(clock=lambda: datetime.now(timezone.utc) - timedelta(minutes=14)) as emu:
        assert emulator_call_with(emulator_client_for(emu))("ListKeys")["TotalCount"] == 0


def _common(emu: Emulator, action: str, version: str) -> bytes:
    request = CommonRequest(domain=emu.endpoint.split("//")[1], version=version, action_name=action)
    request.set_method("POST")
    return bytes(emulator_client_for(emu).do_action_with_exception(request))


def test_sdk_invalid_version_and_action(emulator_server: Emulator) -> None:
    for action, version, code, status in [("ListKeys", "2020-01-01", "InvalidVersion", 400),
                                          ("FlyToTheMoon", "2016-01-20", "InvalidAction.NotFound", 404)]:  # fmt: skip
        with pytest.raises(ServerException) as info:
            _common(emulator_server, action, version)
        assert (info.value.get_error_code(), info.value.get_http_status()) == (code, status)
    assert json.loads(_common(emulator_server, "DescribeRegions", "2016-01-20"))["Regions"]


def test_sdk_throttling_and_unavailable(emulator_server: Emulator, emulator_call: EmulatorCall) -> None:
    emulator_server.configure_faults(qps_limit=1)
    with pytest.raises(ServerException) as info:
        for _ in range(3):
            emulator_call("ListKeys")
    assert (info.value.get_error_code(), info.value.get_http_status(), info.value.get_error_msg()) == (
        "Rejected.Throttling", 429, "QPS Limit Exceeded")  # fmt: skip
    emulator_server.configure_faults(qps_limit="off", unavailable_next=2)
    expect(emulator_call, "ServiceUnavailableTemporary", 503, "ListKeys")
    expect(emulator_call, "ServiceUnavailableTemporary", 503, "ListKeys")
    emulator_call("ListKeys")
    emulator_server.configure_faults(unavailable_every=2)
    outcomes = []
    for _ in range(4):
        try:
            emulator_call("ListKeys")
            outcomes.append(200)
        except ServerException as exc:
            outcomes.append(exc.get_http_status())
    assert sorted(outcomes) == [200, 200, 503, 503]


def test_sdk_unexpected_exception_is_internal_failure(emulator_call: EmulatorCall, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(call: object) -> dict[str, object]:
        raise RuntimeError("bug")

    monkeypatch.setitem(responses.ACTIONS, "DescribeRegions", broken)
    expect(emulator_call, "InternalFailure", 500, "DescribeRegions")


def test_sdk_every_action_has_a_test() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    assert [a for a in ACTIONS if f'"{a}"' not in source] == []


def test_sdk_tls_with_ca_bundle(recwarn: pytest.WarningsRecorder) -> None:
    with Emulator(tls=True) as emu:
        assert emu.endpoint.startswith("https://") and emu.ca_bundle
        call = emulator_call_with(emulator_client_for(emu, verify=emu.ca_bundle))
        key_id = call("CreateKey")["KeyMetadata"]["KeyId"]
        blob = call("Encrypt", KeyId=key_id, Plaintext="over tls")["CiphertextBlob"]
        assert call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "over tls"
        from aliyunsdkcore.acs_exception.exceptions import ClientException

        with pytest.raises(ClientException):  # the vendored certifi bundle does not trust our CA
            emulator_call_with(emulator_client_for(emu))("ListKeys")


SECOND = "two"  # a secret's value in the tests: made up


def test_sdk_secrets_round_trip(emulator_call: EmulatorCall) -> None:
    """Every secrets action through the classic SDK's own request classes (details: test_emulator_secrets.py)."""
    made = emulator_call("CreateSecret", SecretName="sdk", VersionId="v1", SecretData="one")
    assert made["SecretType"] == "Generic" and made["Arn"].endswith(":secret/sdk")
    emulator_call("PutSecretValue", SecretName="sdk", VersionId="v2", SecretData=SECOND)
    got = emulator_call("GetSecretValue", SecretName="sdk", FetchExtendedConfig=True)
    assert (got["SecretData"], got["SecretDataType"], got["VersionStages"]) == (SECOND, "text", {"VersionStage": ["ACSCurrent"]})
    emulator_call("UpdateSecretVersionStage", SecretName="sdk", VersionStage="ACSCurrent", MoveToVersion="v1")
    assert emulator_call("ListSecretVersionIds", SecretName="sdk")["TotalCount"] == 2
    emulator_call("UpdateSecret", SecretName="sdk", Description="d")
    assert emulator_call("DescribeSecret", SecretName="sdk")["Description"] == "d"
    assert emulator_call("ListSecrets")["SecretList"]["Secret"][0]["SecretName"] == "sdk"
    assert "PlannedDeleteTime" in emulator_call("DeleteSecret", SecretName="sdk")
    emulator_call("RestoreSecret", SecretName="sdk")
    assert len(emulator_call("GetRandomPassword", PasswordLength="20")["RandomPassword"]) == 20
    expect(emulator_call, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName="nope")


def test_sdk_key_versions_and_asymmetric_round_trip(emulator_call: EmulatorCall) -> None:
    """Every asymmetric and key-version action through the classic SDK (details: test_emulator_keys.py)."""
    key_id = emulator_call("CreateKey", KeySpec="EC_P256")["KeyMetadata"]["KeyId"]
    version = emulator_call("CreateKeyVersion", KeyId=key_id)["KeyVersion"]["KeyVersionId"]
    assert emulator_call("ListKeyVersions", KeyId=key_id)["TotalCount"] == 2
    assert emulator_call("DescribeKeyVersion", KeyId=key_id, KeyVersionId=version)["KeyVersion"]["KeyVersionId"] == version
    assert emulator_call("GetPublicKey", KeyId=key_id, KeyVersionId=version)["PublicKey"].startswith("-----BEGIN PUBLIC KEY-----")
    digest = base64.b64encode(bytes(32)).decode()
    value = emulator_call("AsymmetricSign", KeyId=key_id, KeyVersionId=version, Algorithm="ECDSA_SHA_256", Digest=digest)["Value"]
    assert emulator_call("AsymmetricVerify", KeyId=key_id, KeyVersionId=version, Algorithm="ECDSA_SHA_256",
                         Digest=digest, Value=value)["Value"] is True  # fmt: skip
    rsa = emulator_call("CreateKey", KeySpec="RSA_2048", KeyUsage="ENCRYPT/DECRYPT")["KeyMetadata"]
    common = {"KeyId": rsa["KeyId"], "KeyVersionId": rsa["PrimaryKeyVersion"], "Algorithm": "RSAES_OAEP_SHA_1"}
    blob = emulator_call("AsymmetricEncrypt", Plaintext="aGk=", **common)["CiphertextBlob"]
    assert emulator_call("AsymmetricDecrypt", CiphertextBlob=blob, **common)["Plaintext"] == "aGk="
    aes = emulator_call("CreateKey")["KeyMetadata"]["KeyId"]
    emulator_call("UpdateRotationPolicy", KeyId=aes, EnableAutomaticRotation=True, RotationInterval="30d")
    assert emulator_call("DescribeKey", KeyId=aes)["KeyMetadata"]["RotationInterval"] == "2592000s"
