"""Cleanup: a plan that acts only on what is proven the learner's and the kit's, and an apply that
needs the plan's own token on the cloud and refuses a stale one."""

from __future__ import annotations

import pytest

import helpers
from helpers import cleanup, workshop
from helpers.errors import KmsError
from tools.seeds import seed_workshop
from helpers.emulator import Emulator
from tests.test_client import clean_env  # noqa: F401 (autouse fixture)


@pytest.fixture
def seeded():
    """A fresh emulator holding ada's workshop and the foreign resources of `seed_workshop`."""
    with Emulator() as emu:
        seed_workshop(emu.endpoint)
        yield emu


def connect(emu: Emulator, backend: str = "emulator", monkeypatch=None) -> helpers.Kms:
    if backend == "cloud":
        assert monkeypatch is not None
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.access_key_id)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.access_key_secret)
    return helpers.connect(backend, endpoint=emu.endpoint, learner="ada")


def snapshot(kms: helpers.Kms) -> tuple[dict[str, str], dict[str, str]]:
    """(key id -> state, alias -> key id) of the whole account."""
    keys = {k["KeyId"]: kms.describe_key(k["KeyId"]).key_state for k in kms.iter_keys()}
    return keys, {a["AliasName"]: a["KeyId"] for a in kms.iter_aliases()}


def test_plan_acts_on_adas_workshop_only_and_says_why_it_keeps_the_rest(seeded):
    from tools.seeds import SEEDS

    assert SEEDS == {"99_cleanup": seed_workshop}  # what 99's saved output shows
    with connect(seeded) as kms:
        plan = cleanup.plan(kms)
    assert sorted(a.name for a in plan.aliases) == [
        "alias/kms-workshop/ada/Apollo/WorkKey", "alias/kms-workshop/ada/demo", "alias/kms-workshop/ada/playground"]
    assert len(plan.keys) == 3 and all(k.description == "kms-workshop: workshop key" for k in plan.keys)
    kept = {k.description: k.reason for k in plan.kept_keys}
    assert kept == {
        "an application key that is not the workshop's": "no created-by=kms-workshop tag",
        "kms-workshop: looks like the kit's, but has no kit tag":
            "its description starts with 'kms-workshop:' but it has no created-by tag",
        "kms-workshop: another team's": "tagged created-by=other-team, not created-by=kms-workshop",
        "kms-workshop: used by an application since":
            "yours, but alias/billing/current outside your namespace still points at it: something else may use "
            "it; delete or re-point that alias first",
        "kms-workshop: workshop key": "the kit's, but learner grace's, not yours (ada)",
    }
    assert {a.name: a.reason for a in plan.kept_aliases} == {
        "alias/Apollo/WorkKey": "outside your namespace alias/kms-workshop/ada/",
        "alias/billing/current": "outside your namespace alias/kms-workshop/ada/",
        "alias/kms-workshop/grace/Apollo/WorkKey": "in learner grace's namespace, not yours",
    }
    assert [s.name for s in plan.secrets] == ["kms-workshop/ada/tls-key"]
    assert {s.name: s.reason for s in plan.kept_secrets} == {
        "kms-workshop/ada/made-by-hand": "in your namespace, but no created-by=kms-workshop tag"}
    text = plan.describe()
    for item in plan.keys + plan.kept_keys:
        assert item.key_id in text and item.creation_date in text and item.reason in text
    for secret in plan.secrets + plan.kept_secrets:
        assert secret.name in text and secret.reason in text
    assert f"Confirmation token for this plan: {plan.token}" in text


def test_apply_on_the_emulator_confirms_itself_and_touches_nothing_foreign(seeded):
    with connect(seeded) as kms:
        before_keys, before_aliases = snapshot(kms)
        plan = cleanup.plan(kms)
        result = cleanup.apply(kms, plan)
        after_keys, after_aliases = snapshot(kms)
        again = cleanup.plan(kms)
        assert cleanup.apply(kms, again).done == []  # idempotent
    assert result.self_confirmed and "confirmed automatically" in result.describe()
    ours = {k.key_id for k in plan.keys}
    assert {k for k, s in after_keys.items() if s == "PendingDeletion"} == ours
    assert {k: s for k, s in after_keys.items() if k not in ours} == {k: s for k, s in before_keys.items() if k not in ours}
    assert after_aliases == {a: k for a, k in before_aliases.items() if a not in {x.name for x in plan.aliases}}
    assert again.empty and {k.key_id for k in again.already_pending} == ours


def test_apply_on_the_cloud_stops_without_the_token_and_refuses_a_wrong_one(seeded, monkeypatch):
    with connect(seeded, "cloud", monkeypatch) as kms:
        before = snapshot(kms)
        plan = cleanup.plan(kms)
        with pytest.raises(cleanup.ConfirmationRequired) as info:
            cleanup.apply(kms, plan)
        assert plan.token in str(info.value) and "Nothing was deleted" in str(info.value)
        for wrong in ("", "0000-0000", plan.token[::-1], 1234):
            with pytest.raises(cleanup.StalePlanError):
                cleanup.apply(kms, plan, confirm=wrong)  # type: ignore[arg-type]
        assert snapshot(kms) == before
        result = cleanup.apply(kms, plan, confirm=plan.token)
        assert not result.self_confirmed and len(result.done) == 7


def test_a_token_for_a_stale_plan_is_refused_and_nothing_is_deleted(seeded, monkeypatch):
    with connect(seeded, "cloud", monkeypatch) as kms:
        plan = cleanup.plan(kms)
        helpers.ensure_key(kms, "made-after-the-plan")  # the account changes after the review
        before = snapshot(kms)
        with pytest.raises(cleanup.StalePlanError, match="account changed"):
            cleanup.apply(kms, plan, confirm=plan.token)
        assert snapshot(kms) == before
        fresh = cleanup.plan(kms)
        assert fresh.token != plan.token
        with pytest.raises(cleanup.StalePlanError, match="not this plan's token"):
            cleanup.apply(kms, fresh, confirm=plan.token)


def test_a_key_state_change_makes_the_plan_stale(seeded, monkeypatch):
    with connect(seeded, "cloud", monkeypatch) as kms:
        plan = cleanup.plan(kms)
        kms.disable_key(plan.keys[0].key_id)
        with pytest.raises(cleanup.StalePlanError):
            cleanup.apply(kms, plan, confirm=plan.token)


def test_plan_limited_to_some_keys_keeps_the_learners_other_keys(seeded):
    with connect(seeded) as kms:
        one = cleanup.plan(kms).keys[0]
        plan = cleanup.plan(kms, only_keys=[one.key_id])
        assert [k.key_id for k in plan.keys] == [one.key_id] and [a.name for a in plan.aliases] == list(one.aliases)
        assert sum(k.reason == "yours, but not created by this recording" for k in plan.kept_keys) == 3  # + the one an app alias uses
        result = cleanup.apply(kms, plan)
    assert result.done == [f"deleted alias {one.aliases[0]}", f"scheduled key {one.key_id} for deletion in 7 days"]


def test_keys_the_learner_may_not_read_are_kept(seeded):
    """Under the least-privilege policy (docs/ram/), DescribeKey on a foreign key is refused."""
    with connect(seeded) as kms:
        hidden = {k.key_id for k in cleanup.plan(kms).kept_keys}
        real = kms.describe_key

        def describe(key_id: str):
            if key_id in hidden:
                raise helpers.AccessDeniedError("Forbidden.NoPermission", "not allowed", http_status=403)
            return real(key_id)

        kms.describe_key = describe  # type: ignore[method-assign]
        plan = cleanup.plan(kms)
    assert len(plan.keys) == 3 and {k.key_id for k in plan.kept_keys} == hidden
    assert all(k.reason == "you may not read it (Forbidden.NoPermission): not provably yours" for k in plan.kept_keys)


def test_a_failing_delete_is_reported_and_the_rest_goes_on(seeded):
    with connect(seeded) as kms:
        plan = cleanup.plan(kms)
        real = kms.delete_alias
        first = plan.aliases[0].name

        def delete(name: str) -> None:
            if name == first:
                raise KmsError("Forbidden.AliasNotFound", "gone", http_status=404)
            real(name)

        kms.delete_alias = delete  # type: ignore[method-assign]
        result = cleanup.apply(kms, plan)
    assert result.problems == [f"alias {first}: Forbidden.AliasNotFound (left as is)"]
    assert len(result.done) == 6


def test_recorder_cloud_cleanup_uses_the_plan_limited_to_what_it_created(seeded):
    from tools.record_cloud import cleanup_cloud

    with connect(seeded) as kms:
        made = workshop.new_key(kms, "recorded")
        log: list[str] = []
        cleanup_cloud(kms, [made.key_id], log.append)
        states = snapshot(kms)[0]
    assert states[made.key_id] == "PendingDeletion"
    assert sum(s == "PendingDeletion" for s in states.values()) == 1
    assert any(f"scheduled key {made.key_id}" in line for line in log)


def test_kit_looking_keys_with_the_wrong_tag_value_or_learner_are_kept_with_their_reason():
    """Keys that carry the kit's tag *keys*, its description and an alias in ada's own namespace,
    yet are not ada's: `created-by=other-team` (with ada's learner tag, so only the tag's value
    tells) and the kit's tag with grace as the learner. Neither they nor their aliases may go."""
    with Emulator() as emu, connect(emu) as kms:
        mine = helpers.ensure_key(kms, "mine")
        other_team = kms.create_key(description="kms-workshop: other team",
                                    tags={workshop.KIT_TAG_KEY: "other-team", workshop.LEARNER_TAG_KEY: "ada"})
        graces = kms.create_key(description="kms-workshop: grace's",
                                tags={workshop.KIT_TAG_KEY: workshop.KIT_TAG_VALUE, workshop.LEARNER_TAG_KEY: "grace"})
        kms.create_alias("alias/kms-workshop/ada/team", other_team.key_id)
        kms.create_alias("alias/kms-workshop/ada/grace", graces.key_id)
        plan = cleanup.plan(kms)
        assert [k.key_id for k in plan.keys] == [mine.key_id]
        assert [a.name for a in plan.aliases] == ["alias/kms-workshop/ada/mine"]
        assert {k.key_id: k.reason for k in plan.kept_keys} == {
            other_team.key_id: "tagged created-by=other-team, not created-by=kms-workshop",
            graces.key_id: "the kit's, but learner grace's, not yours (ada)",
        }
        kept_alias = "in your namespace, but the key it points at is kept (see its reason above)"
        assert {a.name: a.reason for a in plan.kept_aliases} == {
            "alias/kms-workshop/ada/team": kept_alias, "alias/kms-workshop/ada/grace": kept_alias}
        cleanup.apply(kms, plan)
        keys, aliases = snapshot(kms)
    assert keys == {mine.key_id: "PendingDeletion", other_team.key_id: "Enabled", graces.key_id: "Enabled"}
    assert aliases == {"alias/kms-workshop/ada/team": other_team.key_id, "alias/kms-workshop/ada/grace": graces.key_id}


def test_plan_token_is_two_groups_of_four_hex_digits_and_lists_are_sorted_by_name():
    """The token is read aloud and typed back (`xxxx-xxxx`); the lists a learner reviews are in
    name order, not in the order of the key ids behind them."""
    import re

    with Emulator() as emu, connect(emu) as kms:
        mine = sorted((workshop.new_key(kms, "sorted") for _ in range(3)), key=lambda k: k.key_id)
        apps = sorted((kms.create_key(description="an app's") for _ in range(3)), key=lambda k: k.key_id)
        for name, key, app in zip(("zeta", "mu", "alpha"), mine, apps):  # names in reverse key-id order
            kms.create_alias(f"alias/kms-workshop/ada/{name}", key.key_id)
            kms.create_alias(f"alias/app/{name}", app.key_id)
        plan = cleanup.plan(kms)
    assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}", plan.token), plan.token
    assert [a.name for a in plan.aliases] == [f"alias/kms-workshop/ada/{n}" for n in ("alpha", "mu", "zeta")]
    assert [a.name for a in plan.kept_aliases] == [f"alias/app/{n}" for n in ("alpha", "mu", "zeta")]


def test_a_failing_key_schedule_is_reported_and_the_rest_goes_on(seeded):
    with connect(seeded) as kms:
        plan = cleanup.plan(kms)
        first = plan.keys[0].key_id
        real = kms.schedule_key_deletion

        def schedule(key_id: str, days: int) -> None:
            if key_id == first:
                raise KmsError("Forbidden.NoPermission", "not allowed", http_status=403)
            real(key_id, days)

        kms.schedule_key_deletion = schedule  # type: ignore[method-assign]
        result = cleanup.apply(kms, plan)
    assert result.problems == [f"key {first}: Forbidden.NoPermission (left as is)"]
    assert len(result.done) == 6 and f"  ! key {first}: Forbidden.NoPermission (left as is)" in result.describe()


# Secrets ---------------------------------------------------------------------------------------


def secret_states(kms: helpers.Kms) -> dict[str, str]:
    """secret name -> its PlannedDeleteTime ("" when not scheduled), for every secret of the account."""
    return {m.secret_name: kms.describe_secret(m.secret_name).planned_delete_time for m in kms.iter_secrets()}


def test_foreign_secrets_are_kept_with_their_reason_and_the_kits_is_deleted_recoverably():
    """Kept: no tags, another tag value, another learner's (by tag, or by namespace), the kit's tags
    outside the namespace. Deleted with the 7-day recovery window: the kit's, ada's, in her namespace."""
    with Emulator() as emu, connect(emu) as kms:
        key = helpers.ensure_key(kms, "secrets")
        mine = workshop.new_secret(kms, "tls-key", "x", encryption_key_id=key.key_id).secret_name
        kit = workshop.kit_tags(kms)
        kms.create_secret("kms-workshop/ada/untagged", "x")
        kms.create_secret("kms-workshop/ada/other-team", "x", tags={**kit, workshop.KIT_TAG_KEY: "other-team"})
        kms.create_secret("kms-workshop/ada/graces-tag", "x", tags={**kit, workshop.LEARNER_TAG_KEY: "grace"})
        kms.create_secret("kms-workshop/ada/no-learner", "x", tags={workshop.KIT_TAG_KEY: workshop.KIT_TAG_VALUE})
        kms.create_secret("kms-workshop/grace/tls-key", "x", tags=kit)
        kms.create_secret("app/db-password", "x", tags=kit)
        before = secret_states(kms)
        plan = cleanup.plan(kms)
        assert [s.name for s in plan.secrets] == [mine]
        assert {s.name: s.reason for s in plan.kept_secrets} == {
            "app/db-password": "outside your namespace kms-workshop/ada/",  # pragma: allowlist secret
            "kms-workshop/ada/graces-tag": "the kit's, but learner grace's, not yours (ada)",
            "kms-workshop/ada/no-learner": "the kit's, but with no learner tag: not provably yours",
            "kms-workshop/ada/other-team": "tagged created-by=other-team, not created-by=kms-workshop",
            "kms-workshop/ada/untagged": "in your namespace, but no created-by=kms-workshop tag",
            "kms-workshop/grace/tls-key": "in learner grace's namespace, not yours",
        }
        result = cleanup.apply(kms, plan)
        after = secret_states(kms)
        again = cleanup.plan(kms)
        kms.restore_secret(mine)  # the recovery window: the kit's secret can come back
    assert f"scheduled secret {mine} for deletion in 7 days" in result.done
    assert after[mine] and {n: t for n, t in after.items() if n != mine} == {n: t for n, t in before.items() if n != mine}
    assert again.empty and [s.name for s in again.secrets_pending] == [mine]


def test_a_secret_made_after_the_plan_makes_it_stale(seeded, monkeypatch):
    with connect(seeded, "cloud", monkeypatch) as kms:
        plan = cleanup.plan(kms)
        key = helpers.ensure_key(kms, "demo")
        workshop.new_secret(kms, "made-after-the-plan", "x", encryption_key_id=key.key_id)
        before = secret_states(kms)
        with pytest.raises(cleanup.StalePlanError, match="account changed"):
            cleanup.apply(kms, plan, confirm=plan.token)
        assert secret_states(kms) == before


def test_a_plan_limited_to_some_keys_keeps_every_secret(seeded):
    with connect(seeded) as kms:
        plan = cleanup.plan(kms, only_keys=[])
        assert not plan.secrets and "kms-workshop/ada/tls-key" in {s.name for s in plan.kept_secrets}
        limited = cleanup.plan(kms, only_secrets=["kms-workshop/ada/tls-key"])
    assert [s.name for s in limited.secrets] == ["kms-workshop/ada/tls-key"] and not limited.keys


def test_new_secret_refuses_a_foreign_one_and_replaces_only_the_learners_own():
    with Emulator() as emu, connect(emu) as kms:
        key = helpers.ensure_key(kms, "secrets")
        kms.create_secret("kms-workshop/ada/tls-key", "someone else's")
        with pytest.raises(workshop.NotKitResourceError, match="no created-by=kms-workshop tag"):
            workshop.new_secret(kms, "tls-key", "x", encryption_key_id=key.key_id, replace=True)
        assert kms.get_secret_value("kms-workshop/ada/tls-key").data == "someone else's"
        mine = workshop.new_secret(kms, "mine", "v1 data", encryption_key_id=key.key_id).secret_name
        with pytest.raises(workshop.NotKitResourceError, match="replace=True"):
            workshop.new_secret(kms, "mine", "again", encryption_key_id=key.key_id)
        kms.put_secret_value(mine, "v2 data", version_id="v2")
        kms.delete_secret(mine, recovery_window_in_days=7)
        workshop.new_secret(kms, "mine", "fresh", encryption_key_id=key.key_id, replace=True)
        versions = kms.list_secret_version_ids(mine, include_deprecated=True)
        assert [(v.version_id, v.version_stages) for v in versions] == [("v1", ("ACSCurrent",))]
        assert kms.get_secret_value(mine).data == "fresh"
        app = kms.create_key(description="an application key")
        with pytest.raises(workshop.NotKitResourceError):
            workshop.new_secret(kms, "other", "x", encryption_key_id=app.key_id)


def test_a_failing_secret_deletion_is_reported_and_the_rest_goes_on(seeded):
    with connect(seeded) as kms:
        key = helpers.ensure_key(kms, "demo")
        workshop.new_secret(kms, "second", "x", encryption_key_id=key.key_id)
        plan = cleanup.plan(kms)
        first, *rest = [s.name for s in plan.secrets]
        assert rest, "the seeded workshop and this test hold two of ada's secrets"
        real = kms.delete_secret

        def delete(secret_name: str, recovery_window_in_days: int | None = None) -> str:
            if secret_name == first:
                raise KmsError("Forbidden.NoPermission", "not allowed", http_status=403)
            return real(secret_name, recovery_window_in_days=recovery_window_in_days)

        kms.delete_secret = delete  # type: ignore[method-assign]
        result = cleanup.apply(kms, plan)
        states = secret_states(kms)
    assert result.problems == [f"secret {first}: Forbidden.NoPermission (left as is)"]
    assert f"  ! secret {first}: Forbidden.NoPermission (left as is)" in result.describe()
    assert not states[first] and all(states[name] for name in rest)
    assert [d for d in result.done if d.startswith("scheduled secret")] == [
        f"scheduled secret {name} for deletion in 7 days" for name in rest]
