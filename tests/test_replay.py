"""The recorded-response stub: cassette scrubbing, recorder, replayer, through the unmodified SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkkms.request.v20160120.CreateAliasRequest import CreateAliasRequest
from aliyunsdkkms.request.v20160120.CreateKeyRequest import CreateKeyRequest
from aliyunsdkkms.request.v20160120.DecryptRequest import DecryptRequest
from aliyunsdkkms.request.v20160120.DescribeKeyRequest import DescribeKeyRequest
from aliyunsdkkms.request.v20160120.EncryptRequest import EncryptRequest

import helpers
from helpers.emulator import DEFAULT_ACCOUNTS, Emulator
from helpers.replay import ACCOUNT_PLACEHOLDER, Cassette, Interaction, Recorder, ReplayServer, Request, Response
from helpers.replay.cassette import digest, is_digest

ACCOUNT = "1234567890123456"
SECRET_TEXT = "the launch code is 0000"
REPO = Path(__file__).resolve().parents[1]


def sdk_client(endpoint: str) -> AcsClient:
    """The unmodified classic SDK, pointed at `endpoint`, signing with the emulator's test pair."""
    acs = AcsClient("testid", "testsecret", "cn-hangzhou", proxy={"http": None, "https": None})
    acs.add_endpoint("cn-hangzhou", "Kms", endpoint)
    return acs


def call(acs: AcsClient, request: Any, **params: str) -> dict[str, Any]:
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return json.loads(acs.do_action_with_exception(request))


def scenario(acs: AcsClient) -> list[dict[str, Any]]:
    """What a notebook does: find-or-create a key behind an alias, then a round trip."""
    out = []
    try:
        out.append(call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo"))
    except ServerException as exc:
        assert exc.get_error_code() in ("Forbidden.KeyNotFound", "Forbidden.AliasNotFound")
        out.append({"error": exc.get_error_code()})
        created = call(acs, CreateKeyRequest(), Description="kms-workshop: test", KeySpec="Aliyun_AES_256",
                       KeyUsage="ENCRYPT/DECRYPT")
        out.append(created)
        out.append(call(acs, CreateAliasRequest(), AliasName="alias/kms-workshop-demo",
                        KeyId=created["KeyMetadata"]["KeyId"]))
    out.append(call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo"))
    arn = out[-1]["KeyMetadata"]["Arn"]
    enc = call(acs, EncryptRequest(), KeyId=arn, Plaintext=SECRET_TEXT, EncryptionContext='{"purpose":"test"}')
    out.append(enc)
    out.append(call(acs, DecryptRequest(), CiphertextBlob=enc["CiphertextBlob"], EncryptionContext='{"purpose":"test"}'))
    return out


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A cassette recorded from a fresh emulator, and what the client saw while recording."""
    path = tmp_path / "cassettes" / "demo.yaml"
    with Emulator(state_path=tmp_path / "state.sqlite", accounts=DEFAULT_ACCOUNTS) as upstream, \
            Recorder(upstream.endpoint, path, notebook="demo") as rec:
        seen = scenario(sdk_client(rec.endpoint))
    return path, seen


# Cassette format and scrubbing -----------------------------------------------------------------


def test_cassette_request_drops_volatile_and_digests_sensitive_params():
    wire = {
        "Action": "Encrypt", "KeyId": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/k1", "Plaintext": SECRET_TEXT,
        "EncryptionContext": '{"a":"b"}', "Timestamp": "2026-11-28T14:44:04Z", "SignatureNonce": "abc",
        "Signature": "sig=", "AccessKeyId": "testid", "SecurityToken": "tok", "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "", "SignatureVersion": "1.0", "Version": "2016-01-20", "RegionId": "cn-hangzhou",
    }
    req = Request.from_wire(wire, {ACCOUNT})
    assert req.action == "Encrypt"
    assert set(req.params) == {"KeyId", "Plaintext", "EncryptionContext", "Version", "RegionId"}
    assert req.params["Plaintext"] == digest(SECRET_TEXT) and is_digest(req.params["EncryptionContext"])
    assert req.params["KeyId"] == f"acs:kms:cn-hangzhou:{ACCOUNT_PLACEHOLDER}:key/k1"
    assert list(req.params) == sorted(req.params)


def test_cassette_yaml_round_trip_keeps_bodies_exact(tmp_path: Path):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    body = {"KeyId": "k", "Plaintext": pem, "n": 3, "ok": True, "none": None, "date": "2016-01-20", "u": "é"}
    cassette = Cassette("demo", interactions=[Interaction(Request("Decrypt", {"KeyId": "k"}), Response(200, body))])
    path = cassette.save(tmp_path / "demo.yaml")
    text = path.read_text()
    assert text.startswith("# Recorded KMS exchanges for notebooks/demo.ipynb")
    assert "Plaintext: |" in text  # multi-line text stays readable
    loaded = Cassette.load(path)
    assert loaded.interactions[0].response.body == body
    assert json.loads(loaded.interactions[0].response.to_bytes()) == body


def test_recorder_cassette_is_scrubbed(recorded: tuple[Path, list[dict[str, Any]]]):
    path, _ = recorded
    text = path.read_text()
    data = yaml.safe_load(text)
    for needle in ("testid", "testsecret", ACCOUNT, "Signature", "SignatureNonce", "Timestamp",
                   "AccessKeyId", "SecurityToken", '{"purpose":"test"}'):
        assert needle not in text, needle
    requests = yaml.safe_dump([i["request"] for i in data["interactions"]])
    assert SECRET_TEXT not in requests
    actions = [i["request"]["action"] for i in data["interactions"]]
    assert actions == ["DescribeKey", "CreateKey", "CreateAlias", "DescribeKey", "Encrypt", "Decrypt"]
    encrypt = data["interactions"][4]["request"]["params"]
    assert is_digest(encrypt["Plaintext"]) and is_digest(encrypt["EncryptionContext"])
    assert is_digest(data["interactions"][5]["request"]["params"]["CiphertextBlob"])
    assert f":{ACCOUNT_PLACEHOLDER}:key/" in text
    assert data["interactions"][1]["response"]["body"]["KeyMetadata"]["Creator"] == ACCOUNT_PLACEHOLDER
    # the decrypted plaintext is a response body, stored as returned (docs/replay.md)
    assert data["interactions"][5]["response"]["body"]["Plaintext"] == SECRET_TEXT


# Replay ----------------------------------------------------------------------------------------


def test_replay_round_trip_through_unmodified_sdk(recorded: tuple[Path, list[dict[str, Any]]]):
    path, seen = recorded
    expected = json.loads(json.dumps(seen).replace(ACCOUNT, ACCOUNT_PLACEHOLDER))
    with ReplayServer(path) as stub:
        replayed = scenario(sdk_client(stub.endpoint))
    assert replayed == expected
    assert replayed[-1]["Plaintext"] == SECRET_TEXT
    assert not stub.unused and all(s.index is not None for s in stub.served)


def test_replay_round_trip_through_helpers_connect(recorded: tuple[Path, list[dict[str, Any]]], monkeypatch):
    path, _ = recorded
    monkeypatch.setenv("KMS_WORKSHOP_CASSETTES", str(path.parent))
    with ReplayServer(path) as stub:
        kms = helpers.connect("replay", endpoint=stub.endpoint)
        with pytest.raises(helpers.KeyNotFoundError):  # the 404 was recorded first, and is served first
            kms.describe_key("alias/kms-workshop-demo")
        key = kms.create_key(description="kms-workshop: test")  # the recorded CreateKey
        kms.create_alias("alias/kms-workshop-demo", key.key_id)
        assert key.arn.endswith(key.key_id) and f":{ACCOUNT_PLACEHOLDER}:" in key.arn
        with pytest.raises(helpers.KmsError) as info:
            kms.describe_key("alias/nope")
    assert info.value.code == "Replay.NoMatch"


def _cassette(*responses: Response, action: str = "DescribeKey") -> Cassette:
    req = Request(action, {"Format": "JSON", "KeyId": "alias/kms-workshop-demo", "RegionId": "cn-hangzhou",
                           "Version": "2016-01-20"})
    return Cassette("demo", interactions=[Interaction(req, r) for r in responses])


def test_replay_identical_requests_in_recorded_order():
    responses = [Response(404, {"Code": "Forbidden.KeyNotFound", "Message": "not found", "RequestId": "r1"}),
                 Response(200, {"KeyMetadata": {"KeyId": "k1"}, "RequestId": "r2"}),
                 Response(200, {"KeyMetadata": {"KeyId": "k1"}, "RequestId": "r3"})]
    with ReplayServer(_cassette(*responses)) as stub:
        acs = sdk_client(stub.endpoint)
        with pytest.raises(ServerException) as first:
            call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo")
        ids = [call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo")["RequestId"] for _ in range(3)]
    assert first.value.get_error_code() == "Forbidden.KeyNotFound"
    assert ids == ["r2", "r3", "r3"]  # in order, then the last one again (a re-run cell)
    assert [s.index for s in stub.served] == [0, 1, 2, 2]


def test_replay_strict_refuses_a_used_up_request():
    with ReplayServer(_cassette(Response(200, {"RequestId": "r1"})), strict=True) as stub:
        acs = sdk_client(stub.endpoint)
        call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo")
        with pytest.raises(ServerException) as info:
            call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo")
    assert info.value.get_error_code() == "Replay.NoMatch"
    assert "already used" in info.value.get_error_msg()


def test_replay_mismatch_error_names_cassette_closest_request_and_diff(recorded, monkeypatch):
    path, _ = recorded
    with ReplayServer(path) as stub:
        kms = helpers.connect("replay", endpoint=stub.endpoint)
        with pytest.raises(helpers.KmsError) as info:
            kms.describe_key("alias/kms-workshop-renamed")
        key_id = Cassette.load(path).interactions[1].response.body["KeyMetadata"]["KeyId"]
        with pytest.raises(helpers.KmsError) as enc:
            kms.encrypt(key_id, "another text")
    err = info.value
    assert err.code == "Replay.NoMatch" and err.http_status == 400
    msg = err.message
    assert str(path) in msg or "demo.yaml" in msg
    assert "DescribeKey(KeyId='alias/kms-workshop-renamed'" in msg
    assert "Closest recorded request (#1): DescribeKey(KeyId='alias/kms-workshop-demo'" in msg
    assert "KeyId='alias/kms-workshop-renamed', recorded 'alias/kms-workshop-demo'" in msg
    assert "make record" in msg
    assert "Replay.NoMatch" in str(err)  # what a notebook traceback shows
    # sensitive values differ only as digests, and say so without showing either value
    assert "Plaintext differs (a different value; only digests are recorded)" in enc.value.message
    assert "another text" not in enc.value.message


def test_replay_serves_in_one_write_without_the_44ms_stall():
    with ReplayServer(_cassette(Response(200, {"RequestId": "r1"}))) as stub:
        acs = sdk_client(stub.endpoint)
        call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo")
        start = time.perf_counter()
        for _ in range(20):
            call(acs, DescribeKeyRequest(), KeyId="alias/kms-workshop-demo")
        per_call = (time.perf_counter() - start) / 20
    assert per_call < 0.02, f"{per_call * 1000:.1f} ms per call"


def test_replay_cli_serves_a_cassette_from_another_process(recorded):
    path, seen = recorded
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "replay", "--cassette", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        endpoint = proc.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:")
        replayed = scenario(sdk_client(endpoint))
        assert replayed[-1]["Plaintext"] == SECRET_TEXT
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Served 6 request(s), 0 without a match." in err


def test_replay_backend_uses_session_cassette(recorded, monkeypatch):
    path, _ = recorded
    monkeypatch.setenv("KMS_WORKSHOP_CASSETTES", str(path.parent))
    monkeypatch.delenv("KMS_WORKSHOP_ENDPOINT", raising=False)
    kms = helpers.connect("replay", session="demo")
    assert kms.connection.endpoint.startswith("http://127.0.0.1:")
    with pytest.raises(helpers.KeyNotFoundError):
        kms.describe_key("alias/kms-workshop-demo")
    assert kms.describe_key("alias/kms-workshop-demo").key_state == "Enabled"


def test_recorder_and_replayer_listen_on_loopback_only(tmp_path: Path):
    with ReplayServer(_cassette()) as stub:
        assert stub._httpd.server_address[0] == "127.0.0.1"
    with pytest.raises(ValueError):
        Recorder("ftp://x", tmp_path / "x.yaml")


def test_record_cli_requires_notebooks():
    out = subprocess.run([sys.executable, "-m", "tools.record"], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "KMS_WORKSHOP_CASSETTES": "/nonexistent"}, timeout=60)
    assert out.returncode == 2 and "--all" in out.stderr


# Recording against the cloud: the plan, the confirmation, the cleanup (no network needed) -------


def test_record_created_resources_from_a_cassette():
    from tools.record_cloud import created_resources

    keys, aliases = created_resources(Cassette.load(REPO / "notebooks" / "cassettes" / "00_setup.yaml"))
    assert len(keys) == 1 and aliases == ["alias/kms-workshop/ada/demo"]


def test_record_cloud_asks_first_and_refuses_without_a_terminal():
    out = subprocess.run([sys.executable, "-m", "tools.record", "--all", "--upstream", "cloud"],
                         capture_output=True, text=True, cwd=REPO, stdin=subprocess.DEVNULL, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "against Alibaba Cloud KMS at https://kms.cn-hangzhou.aliyuncs.com" in out.stdout
    assert "00_setup.ipynb: 1 key(s), aliases alias/kms-workshop/ada/demo" in out.stdout
    assert "pass --yes" in out.stderr


def test_recorder_forwards_but_does_not_record_non_api_requests(tmp_path: Path):
    """00_setup's clock check is a bare GET: live, it reaches the upstream; it is never replayed."""
    import urllib.error
    import urllib.request

    with Emulator() as upstream, Recorder(upstream.endpoint, tmp_path / "c.yaml", notebook="demo") as rec:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with pytest.raises(urllib.error.HTTPError) as info:
            opener.open(rec.endpoint + "/", timeout=5)
        assert b"RequestId" in info.value.read()  # the upstream's own answer came back
        assert rec.interactions == []


def _raw_post(endpoint: str, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> tuple[int, dict[str, Any]]:
    import http.client

    conn = http.client.HTTPConnection(endpoint.split("//")[1], timeout=10)
    try:
        conn.request("POST", "/?Action=DescribeKey", body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_replay_unreadable_requests_get_4xx_in_the_service_error_shape(monkeypatch):
    """A non-UTF-8 form body used to answer 500 with the exception's text."""
    keys = {"RequestId", "HostId", "Code", "Message", "HttpStatus", "Recommend"}
    with ReplayServer(_cassette(Response(200, {"RequestId": "r1"}))) as stub:
        status, body = _raw_post(stub.endpoint, b"KeyId=\xff\xfe")
        assert (status, body["Code"], body["HttpStatus"]) == (400, "ParseRequestParameterException", 400)
        assert set(body) == keys and "UnicodeDecodeError" not in body["Message"]
        status, body = _raw_post(stub.endpoint, b"KeyId=nope")
        assert (status, body["Code"]) == (400, "Replay.NoMatch") and set(body) == keys
        monkeypatch.setattr(Request, "from_wire", staticmethod(lambda params: 1 / 0))
        status, body = _raw_post(stub.endpoint, b"KeyId=x")
        assert (status, body["Code"]) == (500, "Replay.InternalError") and set(body) == keys
        assert "ZeroDivisionError" not in body["Message"]  # details go to the log, not to the client


def test_v3_requests_of_the_tea_sdk_are_recorded_and_replayed(tmp_path: Path):
    """The Tea SDKs sign V3 (Action in x-acs-action, Host signed): Alibaba's secrets-manager client
    uses them, so 08_secrets needs a recorder that forwards the signed Host and a stub that matches
    on the header's action."""
    from alibabacloud_kms20160120 import models as tea_models
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi.models import Config

    def tea(endpoint: str) -> Client:
        host = endpoint.split("//")[1]
        return Client(Config(access_key_id="testid", access_key_secret="testsecret", endpoint=host,
                             protocol="http", region_id="cn-hangzhou"))  # fmt: skip

    path = tmp_path / "v3.yaml"
    with Emulator() as upstream, Recorder(upstream.endpoint, path, notebook="demo") as rec:
        made = tea(rec.endpoint).create_key(tea_models.CreateKeyRequest(description="v3 recorded")).body
        listed = tea(rec.endpoint).list_keys(tea_models.ListKeysRequest()).body
    recorded = Cassette.load(path)
    assert [i.request.action for i in recorded.interactions] == ["CreateKey", "ListKeys"]
    with ReplayServer(path, strict=True) as stub:
        again = tea(stub.endpoint).create_key(tea_models.CreateKeyRequest(description="v3 recorded")).body
        assert again.key_metadata.key_id == made.key_metadata.key_id
        assert tea(stub.endpoint).list_keys(tea_models.ListKeysRequest()).body.total_count == listed.total_count
