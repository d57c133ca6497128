"""Key versions and automatic rotation: the rules, without storage (``backend.py`` applies them).

A key has one or more versions; the *primary* one encrypts, every version keeps decrypting its
own blobs (the blob names its version). Automatic rotation makes a new primary version when
``LastRotationDate + RotationInterval`` has passed; ``LastRotationDate`` is the creation of the
newest version (https://www.alibabacloud.com/help/doc-detail/134270.htm).

The emulator has no background job: rotation is evaluated lazily, when a key is read, against
the emulator's data clock. [I] However many intervals have passed, one read makes *one* new
version, dated at that read, and the next rotation is one interval after it: the real service
rotates on time, so "several intervals missed" only happens here, and one version per missed
interval would date versions at instants nobody observed (and could fill the 50-version quota
in one jump of a notebook's clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import errors, models
from .models import Key

DAY = 86400
#: [I] the UpdateRotationPolicy page now says 365 d for default keys and 7-365 d for instance keys;
#: tea 3.3.1 and the 2021 CreateKey page say 7-730 d: the widest documented range is accepted.
MIN_INTERVAL, MAX_INTERVAL = 7 * DAY, 730 * DAY
#: [I] CreateKey with EnableAutomaticRotation=true and no RotationInterval (the documented default period)
DEFAULT_INTERVAL = 365 * DAY

ENABLED, DISABLED, SUSPENDED = "Enabled", "Disabled", "Suspended"


def status(key: Key) -> str:
    """DescribeKey's AutomaticRotation: a Disabled or PendingDeletion key's rotation is Suspended."""
    if key.rotation_interval is None:
        return DISABLED
    return ENABLED if key.state == models.ENABLED else SUSPENDED


def next_rotation(key: Key) -> datetime | None:
    if key.rotation_interval is None:
        return None
    return key.last_rotation + timedelta(seconds=key.rotation_interval)


def due(key: Key, now: datetime) -> bool:
    """Cheap enough for every read: only keys with rotation on and Enabled compute a date."""
    if key.rotation_interval is None or key.state != models.ENABLED:
        return False
    return key.last_rotation + timedelta(seconds=key.rotation_interval) <= now


def has_room(versions_of_key: int, versions_of_account: int) -> bool:
    return versions_of_key < models.MAX_VERSIONS_PER_KEY and versions_of_account < models.MAX_VERSIONS


def check_version_quota(versions_of_key: int, versions_of_account: int) -> None:
    """50 versions per key, 10,000 per account and region -> 400 Rejected.LimitExceeded."""
    if not has_room(versions_of_key, versions_of_account):
        raise errors.LimitExceeded("The key version quota is exceeded (50 per key, 10000 per region).")


def _check_state(key: Key) -> None:
    if key.state == models.PENDING_IMPORT:
        raise errors.RejectedUnsupportedOperation("The key has no key material yet (PendingImport).")
    models.check_usable(key)  # Disabled / PendingDeletion -> 409 Rejected.<State>


def check_new_version(key: Key) -> None:
    """CreateKeyVersion: KMS-made material only; Enabled keys only (409 for Disabled/PendingDeletion)."""
    if key.origin != "Aliyun_KMS":
        # BYOK keys never get more versions (the rotation page).
        raise errors.RejectedUnsupportedOperation("Keys with imported material (EXTERNAL) have one version only.")
    _check_state(key)


def check_policy_change(key: Key) -> None:
    """UpdateRotationPolicy: symmetric, KMS-made, Enabled keys only."""
    if not key.symmetric:
        raise errors.RejectedUnsupportedOperation("Only symmetric keys rotate automatically.")
    if key.origin != "Aliyun_KMS":
        raise errors.RejectedUnsupportedOperation("Keys with imported material (EXTERNAL) cannot rotate.")
    _check_state(key)
