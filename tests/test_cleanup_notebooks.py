"""The notebooks themselves on an account that holds foreign resources: 02, 03 and 99 executed as
a learner would (nbclient, a kernel per notebook) leave every foreign key and alias as it was, and
on the cloud backend 99 stops before deleting anything until its plan is confirmed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from nbclient.exceptions import CellExecutionError

import helpers
from helpers.emulator import Emulator
from tools.run_notebook import execute

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

pytestmark = pytest.mark.slow


def seed_foreign(endpoint: str) -> None:
    """What a real account may hold before the workshop: the doc page's alias on an application
    key with no tags, a key with the kit's description but no kit tag, another learner's
    workshop key, and a key tagged by the kit's tag key with another team's value."""
    with helpers.connect("emulator", endpoint=endpoint, learner="nobody") as kms:
        app = kms.create_key(description="payments application key")
        kms.create_alias("alias/Apollo/WorkKey", app.key_id)
        kms.create_key(description="kms-workshop: made by hand, no tags")
        kms.create_key(description="kms-workshop: another team's", tags={"created-by": "other-team"})
    with helpers.connect("emulator", endpoint=endpoint, learner="grace") as grace:
        helpers.ensure_key(grace, "Apollo/WorkKey")


def snapshot(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    with helpers.connect("emulator", endpoint=endpoint, learner="nobody") as kms:
        keys = {k["KeyId"]: kms.describe_key(k["KeyId"]).key_state for k in kms.iter_keys()}
        return keys, {a["AliasName"]: a["KeyId"] for a in kms.iter_aliases()}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for name in ("02_create_alias.ipynb", "03_encrypt_private_key.ipynb", "99_cleanup.ipynb"):
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    shutil.copytree(NOTEBOOKS / "certs", tmp_path / "certs")
    return tmp_path


def kernel_env(**kit: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMS_WORKSHOP_", "ALIBABA_CLOUD_", "ALIYUN_"))}
    env.update(kit)
    return env


def test_notebooks_02_03_99_leave_every_foreign_resource_as_it_was(workspace: Path):
    with Emulator() as emu:
        seed_foreign(emu.endpoint)
        before_keys, before_aliases = snapshot(emu.endpoint)
        env = kernel_env(KMS_WORKSHOP_BACKEND="emulator", KMS_WORKSHOP_ENDPOINT=emu.endpoint,
                         KMS_WORKSHOP_LEARNER="ada")
        for name in ("02_create_alias", "03_encrypt_private_key", "99_cleanup"):
            execute(workspace / f"{name}.ipynb", env, timeout=120)
        after_keys, after_aliases = snapshot(emu.endpoint)
    assert {k: after_keys[k] for k in before_keys} == before_keys  # every foreign key still Enabled
    assert {a: after_aliases[a] for a in before_aliases} == before_aliases  # and every alias where it was
    made = set(after_keys) - set(before_keys)
    assert made and all(after_keys[k] == "PendingDeletion" for k in made)  # ada's own were cleaned up
    assert not [a for a in after_aliases if a.startswith("alias/kms-workshop/ada/")]


def test_cleanup_notebook_on_the_cloud_stops_before_any_delete(workspace: Path):
    with Emulator() as emu:
        seed_foreign(emu.endpoint)
        with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as ada:
            helpers.ensure_key(ada, "Apollo/WorkKey")
        before = snapshot(emu.endpoint)
        env = kernel_env(KMS_WORKSHOP_BACKEND="cloud", KMS_WORKSHOP_ENDPOINT=emu.endpoint,
                         KMS_WORKSHOP_LEARNER="ada", ALIBABA_CLOUD_ACCESS_KEY_ID=emu.access_key_id,
                         ALIBABA_CLOUD_ACCESS_KEY_SECRET=emu.access_key_secret)
        with pytest.raises(CellExecutionError) as info:
            execute(workspace / "99_cleanup.ipynb", env, timeout=120)
        assert snapshot(emu.endpoint) == before
    text = str(info.value)
    assert "ConfirmationRequired" in text and "Nothing was deleted" in text and "confirm=" in text
