"""Remove what the workshop created for one learner: a plan you can review, then an apply you confirm.

`plan(kms)` reads the account (ListAliases, ListKeys, then DescribeKey and ListResourceTags of every
key) and sorts each key and alias into *act on* or *keep*, with the reason, by the ownership rule of
`helpers.workshop`. Nothing is chosen by its name alone, and a kit key that an alias outside the
namespace still points at is kept: something other than the workshop may be using it.

`apply(kms, plan, confirm=...)` re-reads the account, and goes on only if the fresh plan is the one
reviewed (same token) and the confirmation is that plan's token. On the emulator and replay nothing
real is at stake, so `confirm=None` confirms the plan itself and says so; on the cloud it refuses.

KMS never deletes a key at once: ScheduleKeyDeletion starts a waiting period (7 days at least),
during which CancelKeyDeletion brings the key back. Cleanup deletes the learner's aliases and
schedules their keys with the shortest window; running it twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field

from .errors import AccessDeniedError, KeyNotFoundError, KmsError
from .errors import ConfirmationRequired as ConfirmationRequired  # re-exported (errors.py has them all)
from .errors import StalePlanError as StalePlanError
from .kms import Kms
from .workshop import NAMESPACE, inspect_key, learner_of, namespace

#: the shortest PendingWindowInDays ScheduleKeyDeletion accepts (7-366)
MIN_PENDING_DAYS = 7
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
    only_keys: frozenset[str] | None = None  # the restriction it was made with, re-used by apply()

    @property
    def empty(self) -> bool:
        return not (self.aliases or self.keys)

    @property
    def token(self) -> str:
        """Names exactly this plan's actions: the confirmation apply() asks for."""
        facts = {
            "learner": self.learner, "region": self.region,
            "aliases": sorted((a.name, a.key_id) for a in self.aliases),
            "keys": sorted((k.arn, k.state) for k in self.keys),
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
        kept = [k.line() for k in self.kept_keys] + [a.line() for a in self.kept_aliases]
        out.append(f"Kept, not touched: {len(self.kept_keys)} key(s), {len(self.kept_aliases)} alias(es)")
        out += kept[:SHOW_KEPT]
        if len(kept) > SHOW_KEPT:
            out.append(f"  … and {len(kept) - SHOW_KEPT} more kept")
        if self.empty:
            out.append("Nothing to do.")
        else:
            out.append(f"Confirmation token for this plan: {self.token}")
        return "\n".join(out)


def plan(kms: Kms, *, only_keys: Collection[str] | None = None) -> CleanupPlan:
    """Read the account and sort every key and alias into act-on or keep, with the reason.

    `only_keys` limits the keys acted on to those ids (the recorder passes the keys a recording
    created); every other key is kept even when it is the learner's.
    """
    conn = kms.connection
    result = CleanupPlan(learner_of(kms), conn.region, conn.backend,
                         only_keys=None if only_keys is None else frozenset(only_keys))
    space = namespace(kms)
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
        if act and only_keys is not None and meta.key_id not in only_keys:
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
    return result


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
                "Nothing was deleted. Review the plan printed above: every key and alias it lists will be "
                f"removed from your {kms.connection.region} account. To go ahead, pass its token: "
                f"apply(kms, plan, confirm=\"{reviewed.token}\")."
            )
        confirm = reviewed.token
    if not isinstance(confirm, str) or confirm.strip() != reviewed.token:
        raise StalePlanError(
            f"Confirmation {confirm!r} is not this plan's token ({reviewed.token}): it belongs to another "
            "plan. Nothing was deleted; re-run the plan cell, review it, and confirm its own token."
        )
    fresh = plan(kms, only_keys=reviewed.only_keys)
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
    return result
