"""The helpers' secrets methods (helpers/kms.py) against the emulator, and what they never show."""

from __future__ import annotations

import pytest

from helpers import errors
from helpers.replay.cassette import Request
from helpers.results import SecretValue
from helpers.widgets import masked_response
from tests.fixtures_kms import emulator, key_id, kms  # noqa: F401 (fixtures)


def test_kms_secret_lifecycle_through_the_helpers(kms, key_id):
    made = kms.create_secret("kms-workshop-db", "pw-1", encryption_key_id=key_id, description="demo",
                             tags={"env": "lab"})
    assert (made.secret_name, made.secret_type, made.version_id) == ("kms-workshop-db", "Generic", "v1")
    assert made.arn.endswith(":secret/kms-workshop-db")
    value = kms.get_secret_value("kms-workshop-db")
    assert (value.data, value.data_type, value.version_id, value.version_stages) == ("pw-1", "text", "v1", ("ACSCurrent",))
    version = kms.put_secret_value("kms-workshop-db", "pw-2", "v2")
    assert version.version_stages == ("ACSCurrent",)
    assert kms.get_secret_value("kms-workshop-db", version_stage="ACSPrevious").data == "pw-1"
    assert kms.get_secret_value("kms-workshop-db", version_id="v2").data == "pw-2"
    assert [(v.version_id, v.version_stages) for v in kms.list_secret_version_ids("kms-workshop-db")] == [
        ("v1", ("ACSPrevious",)), ("v2", ("ACSCurrent",))]
    kms.update_secret_version_stage("kms-workshop-db", "ACSCurrent", move_to_version="v1")
    assert kms.get_secret_value("kms-workshop-db").data == "pw-1"
    kms.update_secret("kms-workshop-db", "changed")
    kms.tag_resource(None, {"team": "a"}, secret_name="kms-workshop-db")
    kms.untag_resource(None, ["env"], secret_name="kms-workshop-db")
    described = kms.describe_secret("kms-workshop-db", fetch_tags=True)
    assert (described.description, described.encryption_key_id, described.tags) == ("changed", key_id, {"team": "a"})
    assert "kms-workshop-db" in {s.secret_name for s in kms.iter_secrets(page_size=1)}
    assert kms.list_secrets(page_size=1).total_count >= 1
    planned = kms.delete_secret("kms-workshop-db", recovery_window_in_days=7)
    assert kms.describe_secret("kms-workshop-db").planned_delete_time == planned != ""
    with pytest.raises(errors.SecretStateError) as info:
        kms.get_secret_value("kms-workshop-db")
    assert info.value.code == "Rejected.ResourceInDeleteWindow"
    kms.restore_secret("kms-workshop-db")
    assert kms.get_secret_value("kms-workshop-db").data == "pw-1"
    kms.delete_secret("kms-workshop-db", force_delete_without_recovery=True)
    with pytest.raises(errors.SecretNotFoundError):
        kms.describe_secret("kms-workshop-db")


def test_kms_secret_binary_is_base64_text_and_password_options(kms):
    kms.create_secret("kms-workshop-bin", "AAECAw==", secret_data_type="binary")
    value = kms.get_secret_value("kms-workshop-bin")
    assert (value.data, value.data_type) == ("AAECAw==", "binary")
    password = kms.get_random_password(password_length=12, exclude_punctuation=True)
    assert len(password) == 12 and password.isalnum()
    assert kms.get_random_password(16, exclude_lowercase=True, exclude_uppercase=True,
                                   exclude_punctuation=True).isdigit()
    with pytest.raises(errors.SecretStateError):
        kms.create_secret("kms-workshop-bin", "again")
    with pytest.raises(TypeError):
        kms.create_secret("kms-workshop-x", b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kms.tag_resource("key-x", {"a": "b"}, secret_name="both")


def test_kms_secret_values_never_show(kms):
    kms.create_secret("kms-workshop-hidden", "correct horse battery")
    value = kms.get_secret_value("kms-workshop-hidden")
    assert "correct" not in repr(value) and "<21 chars hidden>" in repr(value)
    assert "correct" not in masked_response(kms.last_response)
    kms.put_secret_value("kms-workshop-hidden", "staple two", "v2")
    assert "staple" not in kms.last_request and "SecretData=<10 chars>" in kms.last_request
    stored = Request.from_wire({"Action": "PutSecretValue", "SecretName": "s", "SecretData": "staple two"})
    assert stored.params["SecretData"].startswith("sha256:") and "staple" not in str(stored)
    assert "RandomPassword" in masked_response({"RandomPassword": "p4ss"}) and "p4ss" not in masked_response(  # pragma: allowlist secret
        {"RandomPassword": "p4ss"})  # pragma: allowlist secret
    assert isinstance(value, SecretValue)
