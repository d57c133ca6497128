"""Find and remove what the workshop created, safely and as often as you like.

KMS never deletes a key at once: ScheduleKeyDeletion starts a waiting period (7 days at least),
during which CancelKeyDeletion brings the key back. Cleanup therefore deletes the kit's aliases
and schedules its keys for deletion with the shortest window. Running it twice changes nothing
the second time: keys already pending deletion are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .kms import Kms
from .workshop import DESCRIPTION_PREFIX, TAGS, is_kit_alias

MIN_PENDING_DAYS = 7


@dataclass
class CleanupPlan:
    aliases: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # keys to schedule for deletion
    already_pending: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{len(self.aliases)} alias(es) to delete:"]
        lines += [f"  - {name}" for name in self.aliases]
        lines.append(f"{len(self.keys)} key(s) to schedule for deletion in {MIN_PENDING_DAYS} days")
        lines.append(f"{len(self.already_pending)} key(s) already pending deletion (left as they are)")
        return "\n".join(lines)


def find_kit_resources(kms: Kms) -> CleanupPlan:
    """Aliases with the kit's prefixes, and keys with the kit's description prefix or tag."""
    plan = CleanupPlan()
    alias_keys = set()
    for alias in kms.iter_aliases():
        if is_kit_alias(alias["AliasName"]):
            plan.aliases.append(alias["AliasName"])
            alias_keys.add(alias["KeyId"])
    for item in kms.iter_keys():
        meta = kms.describe_key(item["KeyId"])
        ours = meta.key_id in alias_keys or meta.description.startswith(DESCRIPTION_PREFIX)
        if not ours:
            tags = kms.list_resource_tags(meta.key_id)
            ours = all(tags.get(k) == v for k, v in TAGS.items())
        if ours:
            (plan.already_pending if meta.key_state == "PendingDeletion" else plan.keys).append(meta.key_id)
    return plan


def apply(kms: Kms, plan: CleanupPlan) -> None:
    """Delete the plan's aliases and schedule its keys for deletion (minimum window)."""
    for name in plan.aliases:
        kms.delete_alias(name)
    for key_id in plan.keys:
        kms.schedule_key_deletion(key_id, MIN_PENDING_DAYS)
