"""connect(): backend switch, region, credential sources, endpoint mapping and SDK work-arounds."""

from __future__ import annotations

import json

import pytest

import helpers
from helpers.client import Connection
from helpers.errors import ConfigError
from tests.stub_server import StubServer

CRED_VARS = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SECURITY_TOKEN",
    "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_ECS_METADATA", "ALIBABA_CLOUD_REGION_ID",
    "KMS_WORKSHOP_BACKEND", "KMS_WORKSHOP_REGION", "KMS_WORKSHOP_ENDPOINT",
)
SECRET = "s3cr3t-value-never-printed"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in CRED_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("KMS_WORKSHOP_LEARNER", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no real ~/.aliyun profile leaks in
    return tmp_path


def write_profile(home, **profile):
    folder = home / ".aliyun"
    folder.mkdir()
    base = {"name": "default", "mode": "AK", "access_key_id": "profile-id", "access_key_secret": SECRET}
    config = {"current": "default", "profiles": [{**base, **profile}]}
    (folder / "config.json").write_text(json.dumps(config))


def test_connect_unknown_backend_says_what_to_use():
    with pytest.raises(ConfigError, match="emulator, replay, cloud"):
        helpers.connect("local")


def test_connect_backend_from_environment(monkeypatch):
    monkeypatch.setenv("KMS_WORKSHOP_BACKEND", "nonsense")
    with pytest.raises(ConfigError, match="KMS_WORKSHOP_BACKEND"):
        helpers.connect()


def test_connect_rejects_a_region_the_sdk_would_look_up_online():
    with pytest.raises(ConfigError, match="region id"):
        helpers.connect("emulator", region="local", endpoint="http://127.0.0.1:9")


def test_connect_rejects_wrong_types():
    with pytest.raises(TypeError, match="region"):
        helpers.connect("emulator", region=5, endpoint="http://127.0.0.1:9")  # type: ignore[arg-type]


def test_connect_cloud_without_credentials_explains_where_to_put_them():
    with pytest.raises(ConfigError) as info:
        helpers.connect("cloud")
    text = str(info.value)
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in text and "aliyun configure" in text
    assert "notebook" in text


def test_connect_cloud_with_half_a_key_pair_fails(monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "only-the-id")
    with pytest.raises(ConfigError, match="both"):
        helpers.connect("cloud")


def test_connect_cloud_maps_the_regional_https_endpoint_without_any_lookup(monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    kms = helpers.connect("cloud", region="ap-southeast-1")
    assert kms.connection == Connection(
        "cloud", "ap-southeast-1", "https://kms.ap-southeast-1.aliyuncs.com",
        "environment (ALIBABA_CLOUD_ACCESS_KEY_ID)", helpers.workshop.learner_name(),
    )
    acs = kms._transport.acs
    from aliyunsdkkms.request.v20160120.DescribeKeyRequest import DescribeKeyRequest

    assert acs._resolve_endpoint(DescribeKeyRequest()) == "https://kms.ap-southeast-1.aliyuncs.com"


@pytest.mark.parametrize(
    ("env", "source"),
    [
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "a", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET},
         "environment (ALIBABA_CLOUD_ACCESS_KEY_ID)"),
        ({"ALIYUN_ACCESS_KEY_ID": "a", "ALIYUN_ACCESS_KEY_SECRET": SECRET},
         "environment (ALIYUN_ACCESS_KEY_ID)"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.a", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
          "ALIBABA_CLOUD_SECURITY_TOKEN": "tok"},
         "environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_SECURITY_TOKEN)"),
        ({"ALIBABA_CLOUD_ECS_METADATA": "WorkshopRole"}, "ECS RAM role 'WorkshopRole'"),
    ],
)
def test_connect_reports_the_credential_source_never_the_secret(monkeypatch, capsys, env, source):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    kms = helpers.connect("cloud", verbose=True)
    printed = capsys.readouterr().out
    assert kms.connection.credential_source == source
    assert source in printed and source in repr(kms)
    assert SECRET not in printed + repr(kms) + repr(kms.connection)


def test_connect_cloud_profile_gives_credentials_and_region(clean_env):
    write_profile(clean_env, region_id="eu-central-1")
    kms = helpers.connect("cloud")
    assert kms.connection.credential_source == "aliyun CLI profile 'default' (AK)"
    assert kms.connection.region == "eu-central-1"
    assert SECRET not in repr(kms)


def test_connect_region_precedence(monkeypatch, clean_env):
    write_profile(clean_env, region_id="eu-central-1")
    monkeypatch.setenv("KMS_WORKSHOP_REGION", "cn-shanghai")
    assert helpers.connect("cloud").connection.region == "cn-shanghai"
    assert helpers.connect("cloud", region="us-west-1").connection.region == "us-west-1"


def test_connect_cloud_signs_with_env_credentials_and_sts_token(monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "the-token")
    # The classic SDK lets these override explicit credentials; the kit's signer must not.
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", "wrong-id")
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", "wrong-secret")
    regions = (200, {"RequestId": "r", "Regions": {"Region": [{"RegionId": "cn-hangzhou"}]}})
    with StubServer([regions]) as stub:
        kms = helpers.connect("cloud", endpoint=stub.endpoint)
        assert kms.describe_regions() == ["cn-hangzhou"]
    sent = stub.requests[0]
    assert sent["AccessKeyId"] == "STS.env-id"
    assert sent["SecurityToken"] == "the-token"
    assert "AccessKeyId=<" in kms.last_request and "the-token" not in kms.last_request


def test_connect_ignores_proxy_variables_for_loopback(monkeypatch):
    # A proxy that does not exist: if the SDK used it, the call would fail.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with StubServer() as stub:
        from aliyunsdkkms.request.v20160120.DescribeRegionsRequest import DescribeRegionsRequest

        helpers.connect("emulator", endpoint=stub.endpoint)._send(DescribeRegionsRequest())
    assert len(stub.requests) == 1


def test_connect_replay_needs_a_session_name():
    with pytest.raises(ConfigError, match="session="):
        helpers.connect("replay")


def test_connect_replay_missing_cassette_says_make_record(monkeypatch, tmp_path):
    monkeypatch.setenv("KMS_WORKSHOP_CASSETTES", str(tmp_path))
    with pytest.raises(ConfigError, match="make record"):
        helpers.connect("replay", session="nope")
