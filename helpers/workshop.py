"""What the notebooks share: find-or-create the workshop's key, and recognise what the kit made.

Each notebook runs in a fresh kernel, so it re-derives its key from the alias instead of relying
on an earlier notebook's variables. Everything the kit creates is recognisable for cleanup:
aliases start with `alias/kms-workshop-` (or the seed's `alias/Apollo/WorkKey`), descriptions with
`kms-workshop:`, and keys carry the tag `created-by=kms-workshop`.
"""

from __future__ import annotations

from .errors import KeyNotFoundError
from .kms import Kms
from .results import KeyMetadata

DESCRIPTION_PREFIX = "kms-workshop:"
ALIAS_PREFIX = "alias/kms-workshop-"
SEED_ALIAS = "alias/Apollo/WorkKey"
TAGS = {"created-by": "kms-workshop"}


def is_kit_alias(alias_name: str) -> bool:
    return alias_name.startswith(ALIAS_PREFIX) or alias_name == SEED_ALIAS


def ensure_key(kms: Kms, alias_name: str, purpose: str = "workshop key") -> KeyMetadata:
    """The key behind `alias_name`, creating the key and the alias if the alias does not exist.

    A disabled key or one pending deletion is returned as it is: the caller decides what to do.
    """
    try:
        return kms.describe_key(alias_name)
    except KeyNotFoundError:
        pass
    key = kms.create_key(description=f"{DESCRIPTION_PREFIX} {purpose}", tags=TAGS)
    kms.create_alias(alias_name, key.key_id)
    return key
