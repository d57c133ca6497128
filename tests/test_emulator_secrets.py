"""Secrets in the emulator (vault.py, secret_actions.py): versions and stages, the deletion window
on the injectable clock, sealing under a CMK or the default secrets key, names, accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from helpers.emulator import Emulator, errors, vault
from helpers.emulator.store import Store
from tests.conftest import EmulatorCall, emulator_call_with, emulator_client_for

START = datetime(2026, 3, 1, 8, 0, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    # The clock drives the data (CreateTime, PlannedDeleteTime); signatures follow the real time,
    # so the authenticator's clock is left alone by giving only the backend's data clock.
    with Emulator() as emu:
        emu._server.gateway.backend.clock = clock  # type: ignore[union-attr]
        yield emu


@pytest.fixture
def call(emu: Emulator) -> EmulatorCall:
    return emulator_call_with(emulator_client_for(emu))


def fails(call: EmulatorCall, code: str, status: int, action: str, **params: Any) -> ServerException:
    with pytest.raises(ServerException) as info:
        call(action, **params)
    assert (info.value.get_error_code(), info.value.get_http_status()) == (code, status), info.value
    return info.value


def test_secret_versions_and_stages_follow_put_secret_value(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one")  # pragma: allowlist secret
    call("PutSecretValue", SecretName="db", VersionId="v2", SecretData="two")  # pragma: allowlist secret
    put = call("PutSecretValue", SecretName="db", VersionId="v3", SecretData="three")
    assert put["VersionStages"] == {"VersionStage": ["ACSCurrent"]}
    assert call("GetSecretValue", SecretName="db")["SecretData"] == "three"  # pragma: allowlist secret
    previous = call("GetSecretValue", SecretName="db", VersionStage="ACSPrevious")
    assert (previous["VersionId"], previous["SecretData"]) == ("v2", "two")
    listed = call("ListSecretVersionIds", SecretName="db")["VersionIds"]["VersionId"]
    assert [(v["VersionId"], v["VersionStages"]["VersionStage"]) for v in listed] == [
        ("v2", ["ACSPrevious"]), ("v3", ["ACSCurrent"])]  # v1 lost its last label: deprecated
    every = call("ListSecretVersionIds", SecretName="db", IncludeDeprecated="true")
    assert [v["VersionId"] for v in every["VersionIds"]["VersionId"]] == ["v1", "v2", "v3"]
    assert call("GetSecretValue", SecretName="db", VersionId="v1")["VersionStages"] == {"VersionStage": []}


def test_secret_put_same_version_is_a_no_op_other_data_is_rejected(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one")  # pragma: allowlist secret
    call("PutSecretValue", SecretName="db", VersionId="v2", SecretData="two")  # pragma: allowlist secret
    again = call("PutSecretValue", SecretName="db", VersionId="v2", SecretData="two")
    assert again["VersionStages"] == {"VersionStage": ["ACSCurrent"]}
    assert call("GetSecretValue", SecretName="db", VersionStage="ACSPrevious")["VersionId"] == "v1"
    fails(call, "Rejected.ResourceExist", 409, "PutSecretValue", SecretName="db", VersionId="v2", SecretData="other")  # pragma: allowlist secret


def test_secret_custom_stages_and_update_secret_version_stage(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one")  # pragma: allowlist secret
    put = call("PutSecretValue", SecretName="db", VersionId="v2", SecretData="two", VersionStages='["ACSNext"]')
    assert put["VersionStages"] == {"VersionStage": ["ACSNext"]}
    assert call("GetSecretValue", SecretName="db")["VersionId"] == "v1"  # ACSCurrent did not move
    call("UpdateSecretVersionStage", SecretName="db", VersionStage="ACSCurrent", MoveToVersion="v2")
    assert call("GetSecretValue", SecretName="db")["SecretData"] == "two"  # pragma: allowlist secret
    assert call("GetSecretValue", SecretName="db", VersionStage="ACSPrevious")["VersionId"] == "v1"
    call("UpdateSecretVersionStage", SecretName="db", VersionStage="ACSNext", RemoveFromVersion="v2")
    fails(call, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName="db", VersionStage="ACSNext")
    fails(call, "Rejected.InvalidRequest", 400, "UpdateSecretVersionStage", SecretName="db",
          VersionStage="ACSCurrent", RemoveFromVersion="v2")  # built-in labels can only be moved
    fails(call, "Rejected.InvalidRequest", 400, "UpdateSecretVersionStage", SecretName="db",
          VersionStage="ACSPrevious", RemoveFromVersion="v2", MoveToVersion="v2")  # v2 does not hold it
    fails(call, "Forbidden.ResourceNotFound", 404, "UpdateSecretVersionStage", SecretName="db",
          VersionStage="ACSCurrent", MoveToVersion="v9")
    fails(call, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName="db", VersionId="v1",
          VersionStage="ACSCurrent")  # both given, naming different versions


def test_secret_keeps_ten_versions_dropping_the_oldest_unlabelled(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="db", VersionId="v0", SecretData="0")  # pragma: allowlist secret
    call("PutSecretValue", SecretName="db", VersionId="v1", SecretData="1", VersionStages='["keep"]')  # pragma: allowlist secret
    for n in range(2, 12):
        call("PutSecretValue", SecretName="db", VersionId=f"v{n}", SecretData=str(n))
    every = call("ListSecretVersionIds", SecretName="db", IncludeDeprecated="true")["VersionIds"]["VersionId"]
    # 12 versions made; the two oldest without a label (v0, then v2) went; v1 holds "keep"
    assert [v["VersionId"] for v in every] == ["v1", *[f"v{n}" for n in range(3, 12)]]
    fails(call, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName="db", VersionId="v0")


def test_secret_deletion_window_runs_on_the_emulator_clock(call: EmulatorCall, clock: Clock) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one")  # pragma: allowlist secret
    deleted = call("DeleteSecret", SecretName="db", RecoveryWindowInDays="7")
    assert deleted["PlannedDeleteTime"] == "2026-03-08T08:00:00Z"
    for action, extra in (("GetSecretValue", {}), ("PutSecretValue", {"VersionId": "v2", "SecretData": "x"}),
                          ("UpdateSecret", {"Description": "d"}), ("DeleteSecret", {}),
                          ("UpdateSecretVersionStage", {"VersionStage": "x", "MoveToVersion": "v1"})):
        fails(call, "Rejected.ResourceInDeleteWindow", 409, action, SecretName="db", **extra)
    fails(call, "Rejected.ResourceInDeleteWindow", 409, "CreateSecret", SecretName="db", VersionId="v1", SecretData="x")  # pragma: allowlist secret
    described = call("DescribeSecret", SecretName="db")
    assert described["PlannedDeleteTime"] == "2026-03-08T08:00:00Z"
    assert [s["SecretName"] for s in call("ListSecrets")["SecretList"]["Secret"]] == ["db"]
    call("RestoreSecret", SecretName="db")
    assert "PlannedDeleteTime" not in call("DescribeSecret", SecretName="db")
    fails(call, "Rejected.ResourceInUse", 409, "RestoreSecret", SecretName="db")
    call("DeleteSecret", SecretName="db")  # default window: 30 days
    clock.now += timedelta(days=29, hours=23)
    call("RestoreSecret", SecretName="db")
    call("DeleteSecret", SecretName="db", RecoveryWindowInDays="7")
    clock.now += timedelta(days=7)
    fails(call, "Forbidden.ResourceNotFound", 404, "DescribeSecret", SecretName="db")
    assert call("ListSecrets")["TotalCount"] == 0
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="new")  # the name is free again; pragma: allowlist secret


def test_secret_force_delete_frees_the_name_at_once(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one")  # pragma: allowlist secret
    fails(call, "Rejected.ResourceExist", 409, "CreateSecret", SecretName="db", VersionId="v1", SecretData="x")  # pragma: allowlist secret
    fails(call, "InvalidParameter", 400, "DeleteSecret", SecretName="db", ForceDeleteWithoutRecovery="true",
          RecoveryWindowInDays="7")
    fails(call, "InvalidParameter", 400, "DeleteSecret", SecretName="db", RecoveryWindowInDays="6")
    call("DeleteSecret", SecretName="db", ForceDeleteWithoutRecovery="true")
    fails(call, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName="db")
    fails(call, "Forbidden.ResourceNotFound", 404, "RestoreSecret", SecretName="db")
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="again")  # pragma: allowlist secret
    assert call("GetSecretValue", SecretName="db")["SecretData"] == "again"  # pragma: allowlist secret


def test_secret_under_a_cmk_follows_the_key_state(call: EmulatorCall) -> None:
    key_id = call("CreateKey")["KeyMetadata"]["KeyId"]
    call("CreateAlias", AliasName="alias/secrets", KeyId=key_id)
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one", EncryptionKeyId="alias/secrets")  # pragma: allowlist secret
    assert call("DescribeSecret", SecretName="db")["EncryptionKeyId"] == key_id
    call("DisableKey", KeyId=key_id)
    fails(call, "Rejected.Disabled", 409, "GetSecretValue", SecretName="db")
    fails(call, "Rejected.Disabled", 409, "PutSecretValue", SecretName="db", VersionId="v2", SecretData="x")  # pragma: allowlist secret
    fails(call, "Rejected.Disabled", 409, "CreateSecret", SecretName="db2", VersionId="v1", SecretData="x",  # pragma: allowlist secret
          EncryptionKeyId=key_id)
    call("EnableKey", KeyId=key_id)
    assert call("GetSecretValue", SecretName="db")["SecretData"] == "one"  # pragma: allowlist secret
    call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    fails(call, "Rejected.PendingDeletion", 409, "GetSecretValue", SecretName="db")
    fails(call, "Forbidden.ResourceNotFound", 404, "CreateSecret", SecretName="db3", VersionId="v1",
          SecretData="x", EncryptionKeyId="key-hzz000000000000000000")


def test_secret_default_key_is_not_a_listed_key(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="one")  # pragma: allowlist secret
    assert call("DescribeSecret", SecretName="db")["EncryptionKeyId"] == ""
    assert call("ListKeys")["TotalCount"] == 0
    assert call("GetSecretValue", SecretName="db")["SecretData"] == "one"  # pragma: allowlist secret


def test_secret_values_are_stored_sealed_and_round_trip_byte_for_byte(emu: Emulator, call: EmulatorCall) -> None:
    value = "  pässwörd \\ + & = %20 🔑\n"
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData=value)
    call("CreateSecret", SecretName="bin", VersionId="v1", SecretData="AAEC", SecretDataType="binary")  # pragma: allowlist secret
    assert call("GetSecretValue", SecretName="db")["SecretData"] == value
    got = call("GetSecretValue", SecretName="bin")
    assert (got["SecretData"], got["SecretDataType"]) == ("AAEC", "binary")
    store: Store = emu._server.gateway.backend.store  # type: ignore[union-attr]
    blobs = [bytes(b) for (b,) in store._all("SELECT blob FROM secret_versions", ())]
    assert len(blobs) == 2 and not any(value.encode() in b or b"AAEC" in b for b in blobs)


def test_secret_rows_moved_to_another_secret_do_not_open(emu: Emulator, call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="a", VersionId="v1", SecretData="for a")
    call("CreateSecret", SecretName="b", VersionId="v1", SecretData="for b")
    store: Store = emu._server.gateway.backend.store  # type: ignore[union-attr]
    (blob,) = store._all("SELECT blob FROM secret_versions WHERE secret_name='a'", ())[0]
    store._run("UPDATE secret_versions SET blob=? WHERE secret_name='b'", (blob,))
    fails(call, "InternalFailure", 500, "GetSecretValue", SecretName="b")


@pytest.mark.parametrize("name", ["acs/x", "", "a" * 193, "has space", "semi;colon"])
def test_secret_name_rules(call: EmulatorCall, name: str) -> None:
    code = "MissingParameter" if name == "" else "InvalidParameter"
    fails(call, code, 400, "CreateSecret", SecretName=name, VersionId="v1", SecretData="x")


def test_secret_limits_and_types(call: EmulatorCall) -> None:
    call("CreateSecret", SecretName="a_b/c+d=e.f@g-h", VersionId="v1", SecretData="x" * 30720)  # pragma: allowlist secret
    fails(call, "InvalidParameter", 400, "CreateSecret", SecretName="big", VersionId="v1", SecretData="x" * 30721)  # pragma: allowlist secret
    with pytest.raises(errors.InvalidParameter):  # the limit is in bytes: 15361 "é" are 30722
        vault.check_data(("é" * 15361).encode())
    fails(call, "InvalidParameter", 400, "CreateSecret", SecretName="rds", VersionId="v1", SecretData="x",  # pragma: allowlist secret
          SecretType="Rds")
    fails(call, "InvalidParameter", 400, "CreateSecret", SecretName="t", VersionId="v1", SecretData="x",
          SecretDataType="json")
    fails(call, "InvalidParameter", 400, "CreateSecret", SecretName="t", VersionId="v" * 65, SecretData="x")
    fails(call, "MissingParameter", 400, "CreateSecret", SecretName="t", VersionId="v1")


def test_secrets_are_per_account_and_arns_work_in_the_own_account(emu: Emulator, call: EmulatorCall) -> None:
    arn = call("CreateSecret", SecretName="db", VersionId="v1", SecretData="mine")["Arn"]
    assert arn == "acs:kms:cn-hangzhou:1234567890123456:secret/db"
    assert call("GetSecretValue", SecretName=arn)["SecretData"] == "mine"  # pragma: allowlist secret
    other = emulator_call_with(emulator_client_for(emu, "testid2", "testsecret2"))
    fails(other, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName="db")
    fails(other, "Forbidden.ResourceNotFound", 404, "GetSecretValue", SecretName=arn)
    assert other("ListSecrets")["TotalCount"] == 0
    other("CreateSecret", SecretName="db", VersionId="v1", SecretData="theirs")  # same name, other account; pragma: allowlist secret
    assert call("GetSecretValue", SecretName="db")["SecretData"] == "mine"  # pragma: allowlist secret


def test_secret_tags_filters_and_paging(call: EmulatorCall) -> None:
    for n in range(3):
        call("CreateSecret", SecretName=f"app-{n}", VersionId="v1", SecretData="x", Description=f"d{n}",
             Tags=json.dumps([{"TagKey": "env", "TagValue": "lab" if n else "prod"}]))
    call("TagResource", SecretName="app-1", Tags='[{"TagKey":"team","TagValue":"a"}]')
    call("UntagResource", SecretName="app-1", TagKeys='["env"]')
    assert call("DescribeSecret", SecretName="app-1", FetchTags="true")["Tags"] == {
        "Tag": [{"TagKey": "team", "TagValue": "a"}]}
    call("UntagResource", SecretName="app-1", TagKeys="team")  # comma-separated, as the Tea SDK's text says
    assert call("DescribeSecret", SecretName="app-1", FetchTags="true")["Tags"] == {"Tag": []}
    filtered = call("ListSecrets", Filters='[{"Key":"TagValue","Values":["lab"]}]')
    assert [s["SecretName"] for s in filtered["SecretList"]["Secret"]] == ["app-2"]
    by_name = call("ListSecrets", Filters='[{"Key":"SecretName","Values":["app-0","app-2"]}]')
    assert by_name["TotalCount"] == 2
    page = call("ListSecrets", PageNumber=2, PageSize=2)
    assert page["TotalCount"] == 3 and [s["SecretName"] for s in page["SecretList"]["Secret"]] == ["app-2"]
    fails(call, "InvalidParameter", 400, "ListSecrets", Filters='[{"Key":"Colour","Values":["x"]}]')
    fails(call, "Forbidden.ResourceNotFound", 404, "TagResource", SecretName="nope", Tags='[{"TagKey":"k","TagValue":"v"}]')
    key_id = call("CreateKey")["KeyMetadata"]["KeyId"]
    fails(call, "InvalidParameter", 400, "TagResource", SecretName="app-0", KeyId=key_id,
          Tags='[{"TagKey":"k","TagValue":"v"}]')
    call("TagResource", KeyId=key_id, Tags='[{"TagKey":"k","TagValue":"v"}]')  # the key path is unchanged
    assert call("ListResourceTags", KeyId=key_id)["Tags"]["Tag"][0]["TagKey"] == "k"


def test_secret_update_description(call: EmulatorCall, clock: Clock) -> None:
    call("CreateSecret", SecretName="db", VersionId="v1", SecretData="x", Description="old")  # pragma: allowlist secret
    clock.now += timedelta(hours=1)
    call("UpdateSecret", SecretName="db", Description="new")
    described = call("DescribeSecret", SecretName="db")
    assert (described["Description"], described["CreateTime"], described["UpdateTime"]) == (
        "new", "2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z")
    fails(call, "InvalidParameter", 400, "UpdateSecret", SecretName="db", ExtendedConfigCustomData='{"a":"b"}')


def test_random_password_classes_and_limits(call: EmulatorCall) -> None:
    password = call("GetRandomPassword")["RandomPassword"]
    assert len(password) == 32
    for chars in ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"):
        assert any(c in chars for c in password)
    assert " " not in password and "`" not in password
    digits = call("GetRandomPassword", PasswordLength="8", ExcludeLowercase="true", ExcludeUppercase="true",
                  ExcludePunctuation="true", ExcludeCharacters="0123")["RandomPassword"]
    assert len(digits) == 8 and set(digits) <= set("456789")
    fails(call, "InvalidParameter", 400, "GetRandomPassword", PasswordLength="7")
    fails(call, "InvalidParameter", 400, "GetRandomPassword", PasswordLength="129")
    fails(call, "InvalidParameter", 400, "GetRandomPassword", ExcludeLowercase="true", ExcludeUppercase="true",
          ExcludeNumbers="true", ExcludePunctuation="true")


def test_secret_tables_survive_a_state_file_from_before_secrets(tmp_path: Any) -> None:
    import sqlite3

    path = tmp_path / "state.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    for table in ("secrets", "secret_versions", "secret_stages", "secret_tags", "secret_service_keys"):
        db.execute(f"DROP TABLE {table}")  # as an older kit wrote it: marked, without these tables
    db.commit()
    db.close()
    with Emulator(path, accounts=None) as emu:
        call = emulator_call_with(emulator_client_for(emu))
        call("CreateSecret", SecretName="db", VersionId="v1", SecretData="x")  # pragma: allowlist secret
        assert call("GetSecretValue", SecretName="db")["SecretData"] == "x"  # pragma: allowlist secret
