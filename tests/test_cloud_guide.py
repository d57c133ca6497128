"""The cloud guidance stays true to what the kit does: the learner's RAM policy covers every action
the notebooks call (read from their recordings), the server's allows Decrypt on one key only, and
00_setup's checklist says the same in full on the cloud and in short elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import helpers
from helpers import preflight
from helpers.replay import Cassette
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)
from tests.test_client import clean_env  # noqa: F401 (autouse fixture)

REPO = Path(__file__).resolve().parents[1]
RAM = REPO / "docs" / "ram"


def policy(name: str) -> dict:
    return json.loads((RAM / f"{name}-policy.json").read_text())


def allowed(doc: dict) -> dict[str, list[dict]]:
    """action -> the statements that allow it"""
    out: dict[str, list[dict]] = {}
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            out.setdefault(action, []).append(statement)
    return out


def test_learner_policy_allows_every_action_the_notebooks_call_and_nothing_more():
    called = {i.request.action for c in (REPO / "notebooks" / "cassettes").glob("*.yaml")
              for i in Cassette.load(c).interactions}
    assert {"CreateKey", "Encrypt", "Decrypt", "ScheduleKeyDeletion", "ListResourceTags"} <= called
    granted = allowed(policy("learner"))
    assert {f"kms:{a}" for a in called} <= set(granted)
    # beyond the recordings only what the helpers' own write paths use (GenerateDataKeyWithoutPlaintext,
    # UpdateKeyDescription) and 08's exercise (UpdateSecretVersionStage, in the learner's namespace):
    # nothing that reaches other services or key material import
    assert set(granted) - {f"kms:{a}" for a in called} <= {"kms:GenerateDataKeyWithoutPlaintext",
                                                           "kms:UpdateKeyDescription", "kms:UpdateSecretVersionStage"}
    for action in ("kms:GetSecretValue", "kms:CreateSecret", "kms:DeleteSecret"):
        (statement,) = granted[action]
        assert statement["Resource"] == "acs:kms:*:*:secret/kms-workshop/<learner>/*"


def test_learner_policy_limits_key_operations_to_the_kits_tags_and_aliases_to_the_namespace():
    granted = allowed(policy("learner"))
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DescribeKey"):
        (statement,) = granted[action]
        assert statement["Condition"]["StringEquals"] == {
            "kms:tag/created-by": "kms-workshop", "kms:tag/kms-workshop-learner": "<learner>"}
    for action in ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"):
        (statement,) = granted[action]
        assert "acs:kms:*:*:alias/kms-workshop/<learner>/*" in statement["Resource"]
        assert not any(r.endswith(":alias/*") for r in statement["Resource"])


def test_server_policy_is_decrypt_on_one_key():
    (statement,) = policy("server")["Statement"]
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Resource"] == "acs:kms:<region>:<account-id>:key/<key-id>"


def test_cloud_guide_marks_inferences_and_names_the_instance_facts():
    text = (REPO / "docs" / "cloud.md").read_text()
    assert text.count("[I") >= 4 and text.count("[C") >= 6
    for fact in ("2022-03-31", "KMS_WORKSHOP_INSTANCE_ID", "public network", "release the instance",
                 "ram/learner-policy.json", "ram/server-policy.json", "ECS", "alias/kms-workshop/<learner>/"):
        assert fact in text, fact


def test_checklist_in_full_on_the_cloud_and_in_short_elsewhere(emulator, monkeypatch):
    with helpers.connect("emulator", endpoint=emulator.endpoint) as local:
        short = preflight.cloud_checklist(local)
    assert short.startswith("emulator backend: no account, no cost") and "docs/cloud.md" in short
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.access_key_secret)
    with helpers.connect("cloud", endpoint=emulator.endpoint, learner="ada") as cloud:
        full = preflight.cloud_checklist(cloud)
    assert "learner ada" in full and all(line in full for line in preflight.CLOUD_CHECKLIST)


@pytest.mark.parametrize("backend", ["cloud", "emulator"])
def test_new_keys_go_into_the_named_instance_only_on_the_cloud(emulator, monkeypatch, backend):
    monkeypatch.setenv("KMS_WORKSHOP_INSTANCE_ID", "kst-hzz0000000000000000")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.access_key_secret)
    sent: list[dict] = []
    with helpers.connect(backend, endpoint=emulator.endpoint, learner="ada") as kms:
        real = kms.create_key
        monkeypatch.setattr(kms, "create_key", lambda **kw: sent.append(kw) or real(**{
            k: v for k, v in kw.items() if k != "dkms_instance_id"}))
        helpers.workshop.new_key(kms, "instance")
    assert sent[0].get("dkms_instance_id") == ("kst-hzz0000000000000000" if backend == "cloud" else None)
