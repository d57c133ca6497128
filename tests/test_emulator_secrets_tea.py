"""Every secrets action through the unmodified Tea SDK (alibabacloud-kms20160120, V3 signatures).

The Tea SDK sends SecretData in a form body (the classic SDK puts it in the query), so this also
checks that a body's secret survives the V3 signature, Content-Type signing and decoding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_kms20160120 import models
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi.models import Config

from helpers.emulator import Emulator

FIRST, SECOND = "tea-first-value", "tea-second-value"  # made-up values


@pytest.fixture(scope="module")
def tea() -> Iterator[Client]:
    with Emulator() as emu:
        yield Client(Config(access_key_id="testid", access_key_secret="testsecret", region_id="cn-hangzhou",
                            endpoint=emu.endpoint.split("//")[1], protocol="http"))  # fmt: skip


def code_of(call: Any) -> tuple[str, int]:
    with pytest.raises(Exception) as info:
        call()
    return info.value.code, info.value.statusCode  # type: ignore[attr-defined]


def test_tea_sdk_drives_every_secrets_action(tea: Client) -> None:
    made = tea.create_secret(models.CreateSecretRequest(secret_name="tea/app", version_id="v1", secret_data=FIRST,
                                                        description="made by tea")).body  # fmt: skip
    assert made.secret_name == "tea/app" and made.version_id == "v1"
    got = tea.get_secret_value(models.GetSecretValueRequest(secret_name="tea/app")).body
    assert (got.secret_data, got.secret_data_type, got.version_stages.version_stage) == (FIRST, "text", ["ACSCurrent"])
    tea.put_secret_value(models.PutSecretValueRequest(secret_name="tea/app", version_id="v2", secret_data=SECOND))
    assert tea.get_secret_value(models.GetSecretValueRequest(secret_name="tea/app")).body.secret_data == SECOND
    ids = tea.list_secret_version_ids(models.ListSecretVersionIdsRequest(secret_name="tea/app")).body
    stages = {v.version_id: sorted(v.version_stages.version_stage) for v in ids.version_ids.version_id}
    assert stages == {"v1": ["ACSPrevious"], "v2": ["ACSCurrent"]}
    tea.update_secret_version_stage(models.UpdateSecretVersionStageRequest(
        secret_name="tea/app", version_stage="ACSCurrent", move_to_version="v1", remove_from_version="v2"))
    assert tea.get_secret_value(models.GetSecretValueRequest(secret_name="tea/app")).body.secret_data == FIRST
    tea.update_secret(models.UpdateSecretRequest(secret_name="tea/app", description="changed"))
    assert tea.describe_secret(models.DescribeSecretRequest(secret_name="tea/app")).body.description == "changed"
    listed = tea.list_secrets(models.ListSecretsRequest()).body
    assert [s.secret_name for s in listed.secret_list.secret] == ["tea/app"]
    deleted = tea.delete_secret(models.DeleteSecretRequest(secret_name="tea/app", recovery_window_in_days="7")).body
    assert deleted.planned_delete_time
    assert code_of(lambda: tea.get_secret_value(models.GetSecretValueRequest(secret_name="tea/app"))) == (
        "Rejected.ResourceInDeleteWindow", 409)
    tea.restore_secret(models.RestoreSecretRequest(secret_name="tea/app"))
    assert tea.get_secret_value(models.GetSecretValueRequest(secret_name="tea/app")).body.secret_data == FIRST
    password = tea.get_random_password(models.GetRandomPasswordRequest(password_length="24")).body.random_password
    assert len(password) == 24


@pytest.mark.parametrize(("make", "code", "status"), [
    (lambda: models.GetSecretValueRequest(secret_name="tea/none"), "Forbidden.ResourceNotFound", 404),
    (lambda: models.DescribeSecretRequest(secret_name="tea/none"), "Forbidden.ResourceNotFound", 404),
    (lambda: models.CreateSecretRequest(secret_name="bad name!", version_id="v1", secret_data=FIRST), "InvalidParameter", 400),
    (lambda: models.CreateSecretRequest(secret_name="tea/nodata", version_id="v1"), "MissingParameter", 400),
])  # fmt: skip
def test_tea_sdk_sees_the_documented_errors(tea: Client, make: Any, code: str, status: int) -> None:
    request = make()
    method = {"GetSecretValueRequest": tea.get_secret_value, "DescribeSecretRequest": tea.describe_secret,
              "CreateSecretRequest": tea.create_secret}[type(request).__name__]  # fmt: skip
    assert code_of(lambda: method(request)) == (code, status)
