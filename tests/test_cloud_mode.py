"""The cloud backend's code path, end to end against the emulator's real signature checks.

No machine here reaches Alibaba Cloud, so the cloud backend is pointed at the emulator with
KMS_WORKSHOP_ENDPOINT: credentials resolution, signing and STS tokens are the cloud's code path.
"""

from __future__ import annotations

import json

import pytest

import helpers
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)
from tests.test_client import clean_env  # noqa: F401 (autouse fixture)


@pytest.fixture
def cloud_env(monkeypatch, emulator):
    monkeypatch.setenv("KMS_WORKSHOP_ENDPOINT", emulator.endpoint)
    return monkeypatch


def test_cloud_mode_env_access_key_signs_correctly(cloud_env):
    cloud_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "testid")
    cloud_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "testsecret")
    kms = helpers.connect("cloud")
    key = kms.create_key(description="kms-workshop: cloud path")
    assert kms.decrypt(kms.encrypt(key.key_id, "x").ciphertext_blob).plaintext == "x"


def test_cloud_mode_sts_token_is_sent_and_checked(cloud_env):
    cloud_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.testid")
    cloud_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "testsecret-sts")
    cloud_env.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "test-sts-token")
    assert "cn-hangzhou" in helpers.connect("cloud").describe_regions()
    cloud_env.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "a-forged-token")
    with pytest.raises(helpers.AuthError):
        helpers.connect("cloud").describe_regions()


def test_cloud_mode_wrong_secret_is_an_auth_error_with_a_hint(cloud_env):
    cloud_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "testid")
    cloud_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    with pytest.raises(helpers.AuthError) as info:
        helpers.connect("cloud").describe_regions()
    assert info.value.code in ("SignatureDoesNotMatch", "InvalidAccessKeySecret")
    assert "credential source" in info.value.hint


def test_cloud_mode_cli_profile(cloud_env, clean_env):
    folder = clean_env / ".aliyun"
    folder.mkdir()
    profile = {"name": "lab", "mode": "AK", "access_key_id": "testid2",
               "access_key_secret": "testsecret2", "region_id": "cn-hangzhou"}
    (folder / "config.json").write_text(json.dumps({"current": "default", "profiles": [profile]}))
    cloud_env.setenv("ALIBABA_CLOUD_PROFILE", "lab")
    kms = helpers.connect("cloud")
    assert kms.connection.credential_source == "aliyun CLI profile 'lab' (AK)"
    key = kms.create_key()
    # the second account's key is invisible to the first account
    first = helpers.connect("emulator")
    with pytest.raises(helpers.KeyNotFoundError):
        first.describe_key(key.key_id)
