"""What the kit owns: the learner's namespace, the proof of ownership, and the writes that refuse
everything else (helpers.workshop), against the emulator through the unmodified SDK."""

from __future__ import annotations

import pytest

import helpers
from helpers import workshop
from helpers.errors import ConfigError
from helpers.results import KeyMetadata
from helpers.workshop import NotKitResourceError, judge_key
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)


@pytest.fixture
def ada(emulator):
    with helpers.connect("emulator", endpoint=emulator.endpoint, learner="ada") as kms:
        yield kms


@pytest.fixture
def grace(emulator):
    with helpers.connect("emulator", endpoint=emulator.endpoint, learner="grace") as kms:
        yield kms


def meta(description: str) -> KeyMetadata:
    return KeyMetadata.from_wire({"KeyId": "key-1", "Description": description})


KIT = {"created-by": "kms-workshop", "kms-workshop-learner": "ada"}


@pytest.mark.parametrize(("description", "tags", "reason"), [
    ("kms-workshop: x", KIT, "tags created-by=kms-workshop and kms-workshop-learner=ada"),
    ("an app key", {}, "no created-by=kms-workshop tag"),
    ("kms-workshop: x", {}, "description starts with 'kms-workshop:' but it has no created-by tag"),
    ("kms-workshop: x", {**KIT, "created-by": "other-team"}, "tagged created-by=other-team"),
    ("kms-workshop: x", {**KIT, "created-by": "KMS-WORKSHOP"}, "tagged created-by=KMS-WORKSHOP"),
    ("app: x", KIT, "description does not start with 'kms-workshop:'"),
    ("kms-workshop: x", {"created-by": "kms-workshop"}, "no learner tag"),
    ("kms-workshop: x", {**KIT, "kms-workshop-learner": "grace"}, "learner grace's, not yours"),
    ("kms-workshop: x", {**KIT, "kms-workshop-learner": "ada2"}, "learner ada2's, not yours"),
])
def test_ownership_needs_kit_tag_value_prefix_and_learner(description, tags, reason):
    verdict = judge_key(meta(description), tags, "ada")
    assert verdict.ours is (tags == KIT and description.startswith("kms-workshop:"))
    assert reason in verdict.reason


# The learner and the namespace --------------------------------------------------------------------


def test_learner_from_argument_env_then_login(monkeypatch):
    monkeypatch.setenv("KMS_WORKSHOP_LEARNER", "bob")
    assert workshop.learner_name() == "bob" and workshop.learner_name("ada") == "ada"
    monkeypatch.delenv("KMS_WORKSHOP_LEARNER")
    monkeypatch.setattr(workshop.getpass, "getuser", lambda: "Jane Doe.Smith")
    assert workshop.learner_name() == "Jane-Doe-Smith"  # a Windows login name made to fit


@pytest.mark.parametrize("bad", ["a/b", "a b", "é", "x" * 65, "../x", "alias/acs"])
def test_learner_breaking_the_alias_rules_is_refused_with_what_to_do(monkeypatch, bad):
    monkeypatch.setenv("KMS_WORKSHOP_LEARNER", bad)
    with pytest.raises(ConfigError, match="KMS_WORKSHOP_LEARNER=ada"):
        workshop.learner_name()
    with pytest.raises(ConfigError):
        helpers.connect("emulator", endpoint="http://127.0.0.1:9")


def test_no_login_name_asks_for_a_learner_name(monkeypatch):
    monkeypatch.delenv("KMS_WORKSHOP_LEARNER", raising=False)

    def no_user() -> str:
        raise OSError("no username")

    monkeypatch.setattr(workshop.getpass, "getuser", no_user)
    with pytest.raises(ConfigError, match="set KMS_WORKSHOP_LEARNER"):
        workshop.learner_name()


def test_alias_names_live_in_the_learners_namespace(ada):
    assert ada.connection.learner == "ada" and "learner=ada" in repr(ada)
    assert workshop.alias(ada, "Apollo/WorkKey") == "alias/kms-workshop/ada/Apollo/WorkKey"
    assert workshop.alias(ada, "alias/kms-workshop/ada/x") == "alias/kms-workshop/ada/x"
    for outside in ("alias/Apollo/WorkKey", "alias/kms-workshop/grace/x", "alias/kms-workshop/ada2/x"):
        with pytest.raises(NotKitResourceError, match="outside your workshop namespace"):
            workshop.alias(ada, outside)
    for bad in ("a b", "/x", "a//b", "x" * 250):
        with pytest.raises(ConfigError):
            workshop.alias(ada, bad)


def test_new_key_carries_the_kits_tags_and_the_learner(ada):
    key = workshop.new_key(ada, "tagged", tags={"owner": "ada"})
    assert key.description == "kms-workshop: tagged"
    assert ada.list_resource_tags(key.key_id) == {**KIT, "owner": "ada"}
    assert workshop.inspect_key(ada, key.key_id)[1].ours


# Writes refuse what is not the kit's ------------------------------------------------------------


def foreign_alias(kms, name: str, **create) -> str:
    """An alias in ada's namespace that someone else pointed at a key of theirs."""
    key = kms.create_key(description="someone's key", **create)
    kms.create_alias(name, key.key_id)
    return key.key_id


def test_ensure_key_refuses_an_alias_that_points_at_a_foreign_key(ada):
    name = "alias/kms-workshop/ada/taken"
    target = foreign_alias(ada, name)
    with pytest.raises(NotKitResourceError) as info:
        helpers.ensure_key(ada, "taken")
    assert target in str(info.value) and "KMS_WORKSHOP_LEARNER" in str(info.value)
    assert ada.describe_key(name).key_id == target and ada.describe_key(target).key_state == "Enabled"


def test_ensure_key_refuses_another_learners_key_in_ones_namespace(ada, grace):
    theirs = helpers.ensure_key(grace, "Apollo/WorkKey")
    ada.create_alias("alias/kms-workshop/ada/borrowed", theirs.key_id)
    with pytest.raises(NotKitResourceError, match="learner grace's"):
        helpers.ensure_key(ada, "borrowed")


def test_ensure_key_creates_once_then_finds_its_own(ada):
    first = helpers.ensure_key(ada, "mine")
    assert helpers.ensure_key(ada, "mine").key_id == first.key_id
    assert ada.describe_key("alias/kms-workshop/ada/mine").key_id == first.key_id


def test_point_alias_never_repoints_a_foreign_alias_nor_onto_a_foreign_key(ada):
    mine, other = workshop.new_key(ada, "one"), workshop.new_key(ada, "two")
    name = workshop.point_alias(ada, "rotating", mine.key_id)
    assert name == "alias/kms-workshop/ada/rotating" and ada.describe_key(name).key_id == mine.key_id
    assert workshop.point_alias(ada, name, other.key_id) == name  # re-pointed: both are ada's
    assert ada.describe_key(name).key_id == other.key_id

    untagged = ada.create_key(description="kms-workshop: no tag").key_id
    with pytest.raises(NotKitResourceError, match="no created-by tag"):
        workshop.point_alias(ada, name, untagged)
    assert ada.describe_key(name).key_id == other.key_id

    held = "alias/kms-workshop/ada/held"
    target = foreign_alias(ada, held)
    with pytest.raises(NotKitResourceError, match=f"re-point {held}"):
        workshop.point_alias(ada, held, mine.key_id)
    assert ada.describe_key(held).key_id == target
    with pytest.raises(NotKitResourceError):
        workshop.point_alias(ada, "alias/Apollo/WorkKey", mine.key_id)
