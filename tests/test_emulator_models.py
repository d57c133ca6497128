"""Domain rules without HTTP: key states, lazy deletion, filters, alias names, quotas."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from helpers.emulator import errors, models
from helpers.emulator.backend import KmsBackend
from helpers.emulator.models import KeyFilter, Scope
from tests.fixtures_kms import SCOPE, T0, backend, clock  # noqa: F401 (pytest fixtures)


def test_models_key_id_shapes() -> None:
    assert re.fullmatch(r"key-hzz[a-z0-9]{18}", models.new_key_id("cn-hangzhou"))
    assert models.new_key_id("eu-central-1").startswith("key-cen")
    assert re.fullmatch(r"[0-9a-f-]{36}", models.new_version_id())


@pytest.mark.parametrize("name", ["alias/ok", "alias/a/b_c-d", "alias/" + "a" * 249, "alias/acxs"])
def test_models_alias_names_accepted(name: str) -> None:
    models.check_alias_name(name)


@pytest.mark.parametrize("name", ["ok", "alias/", "alias/acs", "alias/acs/x", "alias/a.b", "alias/" + "a" * 250])
def test_models_alias_names_rejected(name: str) -> None:
    with pytest.raises(errors.InvalidParameter):
        models.check_alias_name(name)


def test_models_pending_deletion_expires_lazily(backend: KmsBackend, clock: list[datetime]) -> None:
    key = backend.create_key(SCOPE)
    backend.create_alias(SCOPE, "alias/gone", key.key_id)
    backend.schedule_key_deletion(SCOPE, key.key_id, 7)
    assert backend.resolve(SCOPE, key.key_id).delete_date == T0 + timedelta(days=7)
    clock[0] = T0 + timedelta(days=7, seconds=1)
    assert backend.list_keys(SCOPE) == []
    with pytest.raises(errors.KeyNotFound):
        backend.resolve(SCOPE, key.key_id)
    assert backend.list_aliases(SCOPE) == []  # aliases go with their key


def test_models_state_matrix_table() -> None:
    key = models.Key("k", "a", "r", T0, "v")
    for state, crypto_error in [(models.DISABLED, errors.Disabled), (models.PENDING_DELETION, errors.PendingDeletion),
                                (models.PENDING_IMPORT, errors.PendingImport)]:  # fmt: skip
        with pytest.raises(crypto_error):
            models.check_usable(key.with_state(state))
    models.check_usable(key)
    allowed = {("EnableKey", models.PENDING_DELETION): False, ("EnableKey", models.PENDING_IMPORT): False,
               ("ScheduleKeyDeletion", models.PENDING_IMPORT): True, ("CancelKeyDeletion", models.ENABLED): False,
               ("CreateAlias", models.PENDING_DELETION): False, ("DisableKey", models.DISABLED): True}  # fmt: skip
    for (action, state), ok in allowed.items():
        if ok:
            models.check_transition(action, key.with_state(state))
        else:
            with pytest.raises(errors.StateModifiedFailed):
                models.check_transition(action, key.with_state(state))


def test_models_filters(backend: KmsBackend) -> None:
    a = backend.create_key(SCOPE)
    b = backend.create_key(SCOPE, protection_level="HSM")
    backend.disable_key(SCOPE, a.key_id)
    both = [KeyFilter("KeyState", ("Enabled", "Disabled")), KeyFilter("ProtectionLevel", ("HSM",))]
    assert [k.key_id for k in backend.list_keys(SCOPE, both)] == [b.key_id]
    assert len(backend.list_keys(SCOPE, [KeyFilter("CreatorType", ("User",))])) == 2


def test_models_quota_is_per_account(backend: KmsBackend) -> None:
    for _ in range(models.MAX_KEYS):
        backend.create_key(SCOPE)
    with pytest.raises(errors.LimitExceeded):
        backend.create_key(SCOPE)
    backend.create_key(Scope("6543210987654321", "cn-hangzhou"))


def test_models_arn_of_another_region_is_not_found(backend: KmsBackend) -> None:
    key = backend.create_key(SCOPE)
    assert backend.resolve(SCOPE, key.arn).key_id == key.key_id
    with pytest.raises(errors.KeyNotFound):
        backend.resolve(SCOPE, key.arn.replace("cn-hangzhou", "cn-shanghai"))
    with pytest.raises(errors.KeyNotFound):
        backend.resolve(SCOPE, "alias/x", allow_alias=False)
