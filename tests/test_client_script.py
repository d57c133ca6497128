"""`helpers.client.script_settings()`: what a server script needs to build its own classic-SDK
client for the active backend, and the `replay (recorded on ...)` label of a replay connection."""

from __future__ import annotations

import json

from aliyunsdkcore.auth.credentials import AccessKeyCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkkms.request.v20160120.DecryptRequest import DecryptRequest
from aliyunsdkkms.request.v20160120.EncryptRequest import EncryptRequest

import helpers
from helpers.client import script_settings
from helpers.results import Connection
from tests.fixtures_kms import emulator, kms  # noqa: F401 (fixtures)


def test_script_settings_build_a_working_sdk_client(kms, emulator):
    env = script_settings(kms)
    assert env["ALIBABA_CLOUD_REGION_ID"] == kms.connection.region
    assert env["KMS_WORKSHOP_ENDPOINT"] == emulator.endpoint
    client = AcsClient(region_id=env["ALIBABA_CLOUD_REGION_ID"], proxy={"http": None, "https": None},
                       credential=AccessKeyCredential(env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]))
    client.add_endpoint(env["ALIBABA_CLOUD_REGION_ID"], "Kms", env["KMS_WORKSHOP_ENDPOINT"])
    key_id = kms.create_key(description="kms-workshop: script").key_id
    request = EncryptRequest()
    request.set_KeyId(key_id)
    request.set_Plaintext("from a script")
    request.set_EncryptionContext(json.dumps({"purpose": "test"}))
    blob = json.loads(client.do_action_with_exception(request))["CiphertextBlob"]
    assert kms.decrypt(blob, {"purpose": "test"}).plaintext == "from a script"
    request = DecryptRequest()
    request.set_CiphertextBlob(blob)
    request.set_EncryptionContext(json.dumps({"purpose": "test"}))
    assert json.loads(client.do_action_with_exception(request))["Plaintext"] == "from a script"


def test_script_settings_never_show_the_secret_or_a_loopback_port(kms):
    env = script_settings(kms)
    env["ALIBABA_CLOUD_SECURITY_TOKEN"] = "a-token"
    shown = repr(env) + str(env)
    assert env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] not in shown and "a-token" not in shown
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET=<hidden>" in shown and "127.0.0.1:" not in shown
    assert env["ALIBABA_CLOUD_ACCESS_KEY_ID"] in shown


def test_replay_connection_says_where_its_recording_was_made():
    kms = helpers.connect("replay", session="00_setup")
    assert kms.connection.recorded_on == "emulator"
    assert "backend=replay (recorded on the emulator) " in repr(kms)
    assert Connection("replay", "cn-hangzhou", "e", "c", "ada", recorded_on="unknown").backend_label() == "replay"
    assert Connection("emulator", "cn-hangzhou", "e", "c", "ada").backend_label() == "emulator"
    assert helpers.preflight.run(kms)[0].detail == "replay (recorded on the emulator) in cn-hangzhou"
