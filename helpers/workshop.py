"""What the kit owns in an account, how it proves it, and the only ways the notebooks write.

A KMS account may hold keys and aliases that matter to someone: an application's, a colleague's,
or a learner's own from Alibaba's getting-started page (which tells everyone to create
`alias/Apollo/WorkKey`). The kit therefore never decides by a name alone:

* every alias it makes lives in one learner's namespace, `alias/kms-workshop/<learner>/…`;
* every key it makes has a description starting `kms-workshop:` and two tags,
  `created-by=kms-workshop` and `kms-workshop-learner=<learner>`, read back with ListResourceTags;
* a key is *the kit's, for this learner* only if all three hold; an alias only if it lies in the
  learner's namespace and points at such a key;
* a secret only if its name lies in `kms-workshop/<learner>/` and DescribeSecret (FetchTags=true)
  shows both tags.

The learner is `KMS_WORKSHOP_LEARNER`, else the login name (made to fit the alias rules), so many
learners can share one account or one emulator without touching each other's resources.
Functions here that write (`ensure_key`, `point_alias`) refuse to use, re-point or delete anything
that is not proven the kit's, with `NotKitResourceError` saying what exists and what to do.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, KeyNotFoundError
from .errors import NotKitResourceError as NotKitResourceError  # re-exported (errors.py has them all)

if TYPE_CHECKING:
    from .kms import Kms
    from .results import KeyMetadata, SecretMetadata

DESCRIPTION_PREFIX = "kms-workshop:"
KIT_TAG_KEY, KIT_TAG_VALUE = "created-by", "kms-workshop"
LEARNER_TAG_KEY = "kms-workshop-learner"
NAMESPACE = "alias/kms-workshop/"
LEARNER_ENV = "KMS_WORKSHOP_LEARNER"
#: The learner `make record` records as, and so the one replay is (its name is in the requests).
RECORDING_LEARNER = "ada"
#: the KMS instance (`kst-…`) new keys go into on the cloud backend (docs/cloud.md)
INSTANCE_ENV = "KMS_WORKSHOP_INSTANCE_ID"
#: One path segment of an alias: the alias rules' letters, digits, `_` and `-` (no `/`), kept
#: short so that `alias/kms-workshop/<learner>/<name>` stays far below the 255-character limit.
_LEARNER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ALIAS_TAIL = re.compile(r"[A-Za-z0-9_/-]+")


def learner_name(explicit: str | None = None) -> str:
    """The learner whose namespace the kit uses: the argument, `KMS_WORKSHOP_LEARNER`, else the
    login name with characters an alias cannot hold replaced by `-`.

    Raises:
        ConfigError: an explicit or `KMS_WORKSHOP_LEARNER` name that breaks the alias rules, or no
            login name to fall back on.
    """
    given = explicit if explicit is not None else os.environ.get(LEARNER_ENV, "").strip()
    if given:
        if not _LEARNER.fullmatch(given):
            raise ConfigError(
                f"Learner name {given!r} cannot be part of an alias: use 1-64 letters, digits, '_' "
                f"or '-' (no '/' or spaces), e.g. {LEARNER_ENV}=ada, then restart the kernel."
            )
        return given
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        login = ""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", login).strip("-")[:64]
    if not name:
        raise ConfigError(
            f"No login name to name your workshop namespace after: set {LEARNER_ENV}=<your name> "
            "(letters, digits, '_' or '-') and restart the kernel."
        )
    return name


def learner_of(kms: Kms) -> str:
    return kms.connection.learner


def namespace(kms: Kms) -> str:
    """`alias/kms-workshop/<learner>/`: where every alias this learner's notebooks make lives."""
    return f"{NAMESPACE}{learner_of(kms)}/"


def alias(kms: Kms, name: str) -> str:
    """The full alias for `name` in the learner's namespace: `alias(kms, "Apollo/WorkKey")` is
    `alias/kms-workshop/<learner>/Apollo/WorkKey`. A full alias already in it is returned as is."""
    if name.startswith("alias/"):
        if not name.startswith(namespace(kms)):
            raise NotKitResourceError(
                f"{name} is outside your workshop namespace {namespace(kms)}: the kit only makes and "
                f"changes aliases there. Pass a short name such as 'Apollo/WorkKey' instead."
            )
        return name
    if not _ALIAS_TAIL.fullmatch(name) or name.startswith("/") or "//" in name or len(namespace(kms) + name) > 255:
        raise ConfigError(
            f"Alias name {name!r} breaks the alias rules: letters, digits, '_', '-' and single '/' "
            "between parts, 255 characters in all with the namespace."
        )
    return namespace(kms) + name


def kit_tags(kms: Kms, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The tags that mark a key as the kit's and this learner's (plus any `extra` of yours)."""
    tags = dict(extra or {})
    tags.update({KIT_TAG_KEY: KIT_TAG_VALUE, LEARNER_TAG_KEY: learner_of(kms)})
    return tags


def new_key(kms: Kms, purpose: str, *, tags: Mapping[str, str] | None = None, **create: Any) -> KeyMetadata:
    """CreateKey with the kit's description prefix and tags, so that `99_cleanup` can prove it
    is the kit's. `create` passes on to `Kms.create_key` (key_spec, key_usage, ...). On the cloud
    backend, `KMS_WORKSHOP_INSTANCE_ID` names the KMS instance the key goes into."""
    instance = os.environ.get(INSTANCE_ENV, "").strip() or None
    if kms.connection.backend == "cloud" and instance and "dkms_instance_id" not in create:
        create["dkms_instance_id"] = instance
    return kms.create_key(description=f"{DESCRIPTION_PREFIX} {purpose}", tags=kit_tags(kms, tags), **create)


# Proof of ownership ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ownership:
    """Whether a key is the kit's for this learner, and the reason in words."""

    ours: bool
    reason: str


def judge_key(meta: KeyMetadata, tags: Mapping[str, str], learner: str) -> Ownership:
    """The rule, in one place: kit tag *and* description prefix *and* this learner's tag."""
    prefixed = meta.description.startswith(DESCRIPTION_PREFIX)
    kit_tag = tags.get(KIT_TAG_KEY)
    if kit_tag is None:
        why = "its description starts with 'kms-workshop:' but it has no created-by tag" if prefixed \
            else "no created-by=kms-workshop tag"
        return Ownership(False, why)
    if kit_tag != KIT_TAG_VALUE:
        return Ownership(False, f"tagged created-by={kit_tag}, not created-by={KIT_TAG_VALUE}")
    if not prefixed:
        return Ownership(False, "tagged by the kit, but its description does not start with 'kms-workshop:'")
    owner = tags.get(LEARNER_TAG_KEY)
    if owner is None:
        return Ownership(False, "the kit's, but with no learner tag: not provably yours")
    if owner != learner:
        return Ownership(False, f"the kit's, but learner {owner}'s, not yours ({learner})")
    return Ownership(True, f"tags created-by={KIT_TAG_VALUE} and {LEARNER_TAG_KEY}={learner}, "
                           "description starts with 'kms-workshop:'")


def inspect_key(kms: Kms, key_id: str) -> tuple[KeyMetadata, Ownership]:
    """DescribeKey and ListResourceTags of one key (id, alias or ARN), judged."""
    return _judged(kms, kms.describe_key(key_id))


def _judged(kms: Kms, meta: KeyMetadata) -> tuple[KeyMetadata, Ownership]:
    return meta, judge_key(meta, kms.list_resource_tags(meta.key_id), learner_of(kms))


def _require_ours(kms: Kms, meta: KeyMetadata, doing: str) -> KeyMetadata:
    """`meta` (already described) if its tags prove it the kit's for this learner, else refuse."""
    _, verdict = _judged(kms, meta)
    if not verdict.ours:
        raise NotKitResourceError(
            f"Will not {doing}: key {meta.key_id} ({meta.description or 'no description'!r}) is not the "
            f"kit's for learner {learner_of(kms)}: {verdict.reason}. The kit never uses or changes a "
            f"key it did not create. If this is another learner's name clash, set {LEARNER_ENV} to "
            "another name and restart the kernel."
        )
    return meta


def _behind(kms: Kms, alias_name: str) -> KeyMetadata | None:
    """The key an alias points at now, or None if there is no such alias."""
    try:
        return kms.describe_key(alias_name)
    except KeyNotFoundError:
        return None


# The only writes the notebooks make to names ----------------------------------------------------


def ensure_key(kms: Kms, name: str, purpose: str = "workshop key", **create: Any) -> KeyMetadata:
    """The key behind the learner's alias `name`, creating key and alias if the alias is new.

    `name` is short (`"Apollo/WorkKey"`) or a full alias inside the namespace. `create` passes on
    to `new_key` for a new key only (`key_spec="RSA_2048", key_usage="SIGN/VERIFY"`); an existing
    key is returned as it is, as is a disabled key or one pending deletion: the caller decides.

    Raises:
        NotKitResourceError: the alias exists but points at a key that is not the kit's (this
            learner's); nothing is created or changed.
    """
    full = alias(kms, name)
    current = _behind(kms, full)
    if current is not None:
        return _require_ours(kms, current, f"use {full}")
    key = new_key(kms, purpose, **create)
    kms.create_alias(full, key.key_id)
    return key


def point_alias(kms: Kms, name: str, key_id: str) -> str:
    """Create the learner's alias `name`, or re-point it, at the kit's key `key_id`; returns the
    full alias. Both the key it points at now and the new key must be the kit's (this learner's).

    Raises:
        NotKitResourceError: either key is not proven the kit's; nothing was changed.
    """
    full = alias(kms, name)
    new = _require_ours(kms, kms.describe_key(key_id), f"point {full} at key {key_id}")
    current = _behind(kms, full)
    if current is None:
        kms.create_alias(full, new.key_id)
    elif current.key_id != new.key_id:
        _require_ours(kms, current, f"re-point {full}, which points at key {current.key_id} now,")
        kms.update_alias(full, new.key_id)
    return full


def my_aliases(kms: Kms) -> list[str]:
    """The aliases in the learner's namespace, sorted (whatever they point at)."""
    space = namespace(kms)
    return sorted(a["AliasName"] for a in kms.iter_aliases() if a["AliasName"].startswith(space))


# Secrets ----------------------------------------------------------------------------------------
#
# A secret has no alias: its name is the namespace, `kms-workshop/<learner>/<name>` (secret names
# cannot start with `acs/`, and `alias/` would only confuse). It is the kit's for a learner only if
# its name lies in that namespace *and* DescribeSecret(FetchTags=true) shows both kit tags.

SECRET_NAMESPACE = "kms-workshop/"


def secret_namespace(kms: Kms) -> str:
    """`kms-workshop/<learner>/`: where every secret this learner's notebooks make lives."""
    return f"{SECRET_NAMESPACE}{learner_of(kms)}/"


def secret_name(kms: Kms, name: str) -> str:
    """The full secret name for `name` in the learner's namespace (a full name in it is returned as is)."""
    space = secret_namespace(kms)
    if name.startswith(SECRET_NAMESPACE):
        if not name.startswith(space):
            raise NotKitResourceError(f"{name} is outside your workshop namespace {space}: pass a short name "
                                      "such as 'tls-key' instead.")
        return name
    if not _ALIAS_TAIL.fullmatch(name) or name.startswith("/") or "//" in name or len(space + name) > 192:
        raise ConfigError(f"Secret name {name!r} breaks the rules: letters, digits, '_', '-' and single '/' "
                          "between parts, 192 characters in all with the namespace.")
    return space + name


def judge_secret(meta: SecretMetadata, learner: str) -> Ownership:
    """The rule for secrets: this learner's namespace *and* the kit tag *and* this learner's tag
    (`meta` must come from DescribeSecret or ListSecrets with FetchTags=true)."""
    space = f"{SECRET_NAMESPACE}{learner}/"
    if not meta.secret_name.startswith(space):
        if meta.secret_name.startswith(SECRET_NAMESPACE):
            other = meta.secret_name[len(SECRET_NAMESPACE):].split("/", 1)[0]
            return Ownership(False, f"in learner {other}'s namespace, not yours")
        return Ownership(False, f"outside your namespace {space}")
    kit_tag = meta.tags.get(KIT_TAG_KEY)
    if kit_tag is None:
        return Ownership(False, "in your namespace, but no created-by=kms-workshop tag")
    if kit_tag != KIT_TAG_VALUE:
        return Ownership(False, f"tagged created-by={kit_tag}, not created-by={KIT_TAG_VALUE}")
    owner = meta.tags.get(LEARNER_TAG_KEY)
    if owner is None:
        return Ownership(False, "the kit's, but with no learner tag: not provably yours")
    if owner != learner:
        return Ownership(False, f"the kit's, but learner {owner}'s, not yours ({learner})")
    return Ownership(True, f"in your namespace, tags created-by={KIT_TAG_VALUE} and {LEARNER_TAG_KEY}={learner}")


def inspect_secret(kms: Kms, name: str) -> tuple[SecretMetadata, Ownership]:
    """DescribeSecret(FetchTags=true) of one secret, judged."""
    meta = kms.describe_secret(name, fetch_tags=True)
    return meta, judge_secret(meta, learner_of(kms))


def new_secret(kms: Kms, name: str, secret_data: str, *, encryption_key_id: str, replace: bool = False,
               **create: Any) -> SecretMetadata:
    """CreateSecret in the learner's namespace with the kit's tags, encrypted under the kit key
    `encryption_key_id`. `create` passes on to `Kms.create_secret` (version_id, description, ...).

    With `replace`, a secret of that name from an earlier run is deleted first at once (restored
    first if its deletion is scheduled), but only once it is proven the kit's and this learner's:
    re-running a notebook then starts from its first version again.

    Raises:
        NotKitResourceError: the name is taken by a secret that is not the kit's (this learner's),
            or by the learner's own and `replace` is false; nothing was changed.
    """
    from .errors import SecretNotFoundError

    full = secret_name(kms, name)
    _require_ours(kms, kms.describe_key(encryption_key_id), f"encrypt secret {full} under {encryption_key_id}")
    try:
        meta, verdict = inspect_secret(kms, full)
    except SecretNotFoundError:
        meta = None
    if meta is not None:
        if not verdict.ours or not replace:
            why = verdict.reason if not verdict.ours else "it exists (pass replace=True to start it afresh)"
            raise NotKitResourceError(f"Will not create secret {full}: {why}. The kit never changes a secret "
                                      "it cannot prove it made for you.")
        if meta.planned_delete_time:
            kms.restore_secret(full)
        kms.delete_secret(full, force_delete_without_recovery=True)
    return kms.create_secret(full, secret_data, encryption_key_id=encryption_key_id, tags=kit_tags(kms), **create)
