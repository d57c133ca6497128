"""Remove what the workshop created for one learner: a plan you can review, then an apply you confirm.

`plan(kms)` reads the account (ListAliases, ListKeys, then DescribeKey and ListResourceTags of every
key; ListSecrets, then DescribeSecret with FetchTags=true of every secret in the learner's namespace)
and sorts each key, alias and secret into *act on* or *keep*, with the reason, by the ownership rules
of `helpers.workshop`. Nothing is chosen by its name alone, and a kit key that an alias outside the
namespace still points at is kept: something other than the workshop may be using it.

`apply(kms, plan, confirm=...)` re-reads the account, and goes on only if the fresh plan is the one
reviewed (same token) and the confirmation is that plan's token. On the emulator and replay nothing
real is at stake, so `confirm=None` confirms the plan itself and says so; on the cloud it refuses.

KMS never deletes a key at once: ScheduleKeyDeletion starts a waiting period (7 days at least),
during which CancelKeyDeletion brings the key back. Cleanup deletes the learner's aliases and
schedules their keys with the shortest window; running it twice changes nothing the second time.

Secrets get the same treatment on every backend: DeleteSecret with the shortest recovery window
(7 days; RestoreSecret brings one back), never ForceDeleteWithoutRecovery. Forcing would be
harmless on the emulator, but it cannot be undone, so a wrong verdict would be final; and with the
same requests everywhere, the output replayed in CI shows exactly what the cloud will do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field

from .errors import AccessDeniedError, KeyNotFoundError, KmsError, SecretNotFoundError
from .errors import ConfirmationRequired as ConfirmationRequired  # re-exported (errors.py has them all)
from .errors import StalePlanError as StalePlanError
from .kms import Kms
from .workshop import NAMESPACE, SECRET_NAMESPACE, inspect_key, inspect_secret, judge_secret, learner_of, namespace

#: the shortest PendingWindowInDays ScheduleKeyDeletion accepts (7-366)
MIN_PENDING_DAYS = 7
#: the shortest RecoveryWindowInDays DeleteSecret accepts (7-30)
MIN_RECOVERY_DAYS = 7
#: backends whose keys are throwaway, where apply() may confirm a plan itself
LOCAL_BACKENDS = frozenset({"emulator", "replay"})
#: kept resources shown in the plan; the rest are counted (a real account may hold hundreds)
SHOW_KEPT = 20


@dataclass(frozen=True)
class KeyItem:
    key_id: str
    arn: str
    description: str
    creation_date: str
    state: str
    aliases: tuple[str, ...]
    reason: str

    def line(self) -> str:
        names = ", ".join(self.aliases) or "no alias"
        return (f"  - {self.key_id}  {self.state}  created {self.creation_date or '?'}  "
                f"{self.description!r}\n      aliases: {names}\n      why: {self.reason}")


@dataclass(frozen=True)
class AliasItem:
    name: str
    key_id: str
    reason: str

    def line(self) -> str:
        return f"  - {self.name} -> {self.key_id}\n      why: {self.reason}"


@dataclass(frozen=True)
class SecretItem:
    name: str
    create_time: str
    planned_delete_time: str
    reason: str

    def line(self) -> str:
        when = f"deletion planned {self.planned_delete_time}" if self.planned_delete_time \
            else f"created {self.create_time or '?'}"
        return f"  - secret {self.name}  {when}\n      why: {self.reason}"


@dataclass
class CleanupPlan:
    """What cleanup would do for one learner in one account and region, and what it keeps."""

    learner: str
    region: str
    backend: str
    aliases: list[AliasItem] = field(default_factory=list)  # to delete
    keys: list[KeyItem] = field(default_factory=list)  # to schedule for deletion
    already_pending: list[KeyItem] = field(default_factory=list)
    kept_keys: list[KeyItem] = field(default_factory=list)
    kept_aliases: list[AliasItem] = field(default_factory=list)
    secrets: list[SecretItem] = field(default_factory=list)  # to delete, with the recovery window
    secrets_pending: list[SecretItem] = field(default_factory=list)
    kept_secrets: list[SecretItem] = field(default_factory=list)
    only_keys: frozenset[str] | None = None  # the restriction it was made with, re-used by apply()
    only_secrets: frozenset[str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.aliases or self.keys or self.secrets)

    @property
    def token(self) -> str:
        """Names exactly this plan's actions: the confirmation apply() asks for."""
        facts = {
            "learner": self.learner, "region": self.region,
            "aliases": sorted((a.name, a.key_id) for a in self.aliases),
            "keys": sorted((k.arn, k.state) for k in self.keys),
            "secrets": sorted(s.name for s in self.secrets),
        }
        text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return f"{digest[:4]}-{digest[4:8]}"

    def describe(self) -> str:
        out = [f"Cleanup plan for learner {self.learner} in {self.region} ({self.backend} backend)",
               f"Delete {len(self.aliases)} alias(es):"]
        out += [a.line() for a in self.aliases]
        out.append(f"Schedule {len(self.keys)} key(s) for deletion in {MIN_PENDING_DAYS} days:")
        out += [k.line() for k in self.keys]
        out.append(f"Already pending deletion, left as they are: {len(self.already_pending)}")
        out += [f"  - {k.key_id}  {k.description!r}" for k in self.already_pending]
        out.append(f"Delete {len(self.secrets)} secret(s), recoverable for {MIN_RECOVERY_DAYS} days:")
        out += [s.line() for s in self.secrets]
        out.append(f"Secrets already pending deletion, left as they are: {len(self.secrets_pending)}")
        out += [f"  - secret {s.name}  deletion planned {s.planned_delete_time}" for s in self.secrets_pending]
        kept = [k.line() for k in self.kept_keys] + [a.line() for a in self.kept_aliases]
        kept += [s.line() for s in self.kept_secrets]
        out.append(f"Kept, not touched: {len(self.kept_keys)} key(s), {len(self.kept_aliases)} alias(es), "
                   f"{len(self.kept_secrets)} secret(s)")
        out += kept[:SHOW_KEPT]
        if len(kept) > SHOW_KEPT:
            out.append(f"  … and {len(kept) - SHOW_KEPT} more kept")
        if self.empty:
            out.append("Nothing to do.")
        else:
            out.append(f"Confirmation token for this plan: {self.token}")
        return "\n".join(out)


def plan(kms: Kms, *, only_keys: Collection[str] | None = None,
         only_secrets: Collection[str] | None = None) -> CleanupPlan:
    """Read the account and sort every key, alias and secret into act-on or keep, with the reason.

    `only_keys` limits the keys acted on to those ids (the recorder passes the keys a recording
    created); every other key is kept even when it is the learner's. `only_secrets` does the same
    for secret names; either restriction alone keeps every secret (or key) it does not name.
    """
    conn = kms.connection
    result = CleanupPlan(learner_of(kms), conn.region, conn.backend,
                         only_keys=None if only_keys is None else frozenset(only_keys),
                         only_secrets=None if only_secrets is None else frozenset(only_secrets))
    space = namespace(kms)
    restricted = only_keys is not None or only_secrets is not None
    keys_named = frozenset(only_keys or ()) if restricted else None
    by_key: dict[str, list[str]] = {}
    for item in kms.iter_aliases():
        by_key.setdefault(item["KeyId"], []).append(item["AliasName"])
    ours: set[str] = set()
    for item in kms.iter_keys():
        try:
            meta, verdict = inspect_key(kms, item["KeyId"])
        except KeyNotFoundError:  # deleted while we were listing: nothing to do with it
            continue
        except AccessDeniedError as exc:  # a least-privilege policy hides keys that are not the kit's
            names = tuple(sorted(by_key.get(item["KeyId"], [])))
            result.kept_keys.append(KeyItem(item["KeyId"], item.get("KeyArn", ""), "?", "", "?", names,
                                            f"you may not read it ({exc.code}): not provably yours"))
            continue
        names = tuple(sorted(by_key.get(meta.key_id, [])))
        reason = verdict.reason
        act = verdict.ours
        outside = [n for n in names if not n.startswith(space)]
        if act and keys_named is not None and meta.key_id not in keys_named:
            act, reason = False, "yours, but not created by this recording"
        if act and outside and meta.key_state != "PendingDeletion":
            act, reason = False, (f"yours, but {', '.join(outside)} outside your namespace still points at it: "
                                  "something else may use it; delete or re-point that alias first")
        entry = KeyItem(meta.key_id, meta.arn, meta.description, meta.creation_date, meta.key_state, names, reason)
        if not act:
            result.kept_keys.append(entry)
            continue
        ours.add(meta.key_id)
        (result.already_pending if meta.key_state == "PendingDeletion" else result.keys).append(entry)
    for key_id, alias_names in sorted(by_key.items()):
        for name in sorted(alias_names):
            if name.startswith(NAMESPACE) and not name.startswith(space):
                owner = name[len(NAMESPACE):].split("/", 1)[0]
                result.kept_aliases.append(AliasItem(name, key_id, f"in learner {owner}'s namespace, not yours"))
            elif not name.startswith(space):
                result.kept_aliases.append(AliasItem(name, key_id, f"outside your namespace {space}"))
            elif key_id in ours:
                result.aliases.append(AliasItem(name, key_id, "in your namespace, points at a key of yours"))
            else:
                result.kept_aliases.append(AliasItem(name, key_id, "in your namespace, but the key it points at "
                                                     "is kept (see its reason above)"))
    result.aliases.sort(key=lambda a: a.name)
    result.kept_aliases.sort(key=lambda a: a.name)
    _plan_secrets(kms, result, frozenset(only_secrets or ()) if restricted else None)
    return result


def _plan_secrets(kms: Kms, result: CleanupPlan, only: frozenset[str] | None) -> None:
    """Sort every secret: only those in the learner's namespace are described (with their tags);
    a name outside it is reason enough to keep a secret, never to act on one."""
    learner = learner_of(kms)
    for listed in sorted(kms.iter_secrets(), key=lambda m: m.secret_name):
        name = listed.secret_name
        meta, verdict = listed, judge_secret(listed, learner)
        if name.startswith(f"{SECRET_NAMESPACE}{learner}/"):
            try:
                meta, verdict = inspect_secret(kms, name)
            except SecretNotFoundError:  # deleted while we were listing
                continue
            except AccessDeniedError as exc:
                result.kept_secrets.append(SecretItem(name, "", "", f"you may not read it ({exc.code}): "
                                                      "not provably yours"))
                continue
        reason, act = verdict.reason, verdict.ours
        if act and only is not None and name not in only:
            act, reason = False, "yours, but not created by this recording"
        entry = SecretItem(name, meta.create_time, meta.planned_delete_time, reason)
        if not act:
            result.kept_secrets.append(entry)
        elif meta.planned_delete_time:
            result.secrets_pending.append(entry)
        else:
            result.secrets.append(entry)


@dataclass
class CleanupResult:
    plan: CleanupPlan
    self_confirmed: bool
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        how = (f"confirmed automatically: the {self.plan.backend} backend holds only throwaway keys "
               "(on the cloud, apply() needs confirm=<the plan's token>)") if self.self_confirmed \
            else f"confirmed with token {self.plan.token}"
        lines = [f"Applied plan {self.plan.token}, {how}."] + [f"  {d}" for d in self.done]
        lines += [f"  ! {p}" for p in self.problems]
        if not self.done and not self.problems:
            lines.append("  nothing to do")
        return "\n".join(lines)


def apply(kms: Kms, reviewed: CleanupPlan, confirm: str | None = None) -> CleanupResult:
    """Carry out `reviewed`, once confirmed, after checking the account still matches it.

    Raises:
        ConfirmationRequired: on the cloud with no `confirm`; nothing was deleted.
        StalePlanError: `confirm` is not `reviewed`'s token, or the account changed since the plan
            was made (re-run the plan, review it, confirm the new token); nothing was deleted.
    """
    local = kms.connection.backend in LOCAL_BACKENDS
    self_confirmed = confirm is None
    if confirm is None:
        if not local:
            raise ConfirmationRequired(
                "Nothing was deleted. Review the plan printed above: every key, alias and secret it lists will be "
                f"removed from your {kms.connection.region} account. To go ahead, pass its token: "
                f"apply(kms, plan, confirm=\"{reviewed.token}\")."
            )
        confirm = reviewed.token
    if not isinstance(confirm, str) or confirm.strip() != reviewed.token:
        raise StalePlanError(
            f"Confirmation {confirm!r} is not this plan's token ({reviewed.token}): it belongs to another "
            "plan. Nothing was deleted; re-run the plan cell, review it, and confirm its own token."
        )
    fresh = plan(kms, only_keys=reviewed.only_keys, only_secrets=reviewed.only_secrets)
    if fresh.token != reviewed.token:
        raise StalePlanError(
            "The account changed since the plan was made, so the plan you confirmed is out of date. "
            "Nothing was deleted: re-run the plan cell, review the new plan, and confirm its token."
        )
    result = CleanupResult(fresh, self_confirmed)
    for item in fresh.aliases:
        try:
            kms.delete_alias(item.name)
            result.done.append(f"deleted alias {item.name}")
        except KmsError as exc:
            result.problems.append(f"alias {item.name}: {exc.code} (left as is)")
    for key in fresh.keys:
        try:
            kms.schedule_key_deletion(key.key_id, MIN_PENDING_DAYS)
            result.done.append(f"scheduled key {key.key_id} for deletion in {MIN_PENDING_DAYS} days")
        except KmsError as exc:
            result.problems.append(f"key {key.key_id}: {exc.code} (left as is)")
    for secret in fresh.secrets:
        try:
            kms.delete_secret(secret.name, recovery_window_in_days=MIN_RECOVERY_DAYS)
            result.done.append(f"scheduled secret {secret.name} for deletion in {MIN_RECOVERY_DAYS} days")
        except KmsError as exc:
            result.problems.append(f"secret {secret.name}: {exc.code} (left as is)")
    return result
