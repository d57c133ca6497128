"""The rules of KMS secrets (Generic secrets of Secrets Manager): names, versions, stage labels,
the deletion window, and sealing each value under a CMK. No HTTP, JSON or Base64 here.

Each version's value is sealed by the key backend's own ``encrypt``/``decrypt`` when the secret
names an ``EncryptionKeyId``, so a disabled or pending-deletion CMK gives the key's usual 409
codes. Without one, a *default secrets key* of the account and region seals it: [I] the service
encrypts such secrets with a key it manages and never lists; the emulator keeps that key in its
own table (``secret_service_keys``), so it appears in neither ListKeys nor DescribeKey and cannot
be disabled or deleted, and DescribeSecret reports ``EncryptionKeyId`` as "" for it [I].

Every sealed value is bound (as its EncryptionContext) to its secret's name and version id, so a
row copied onto another secret or version fails to open instead of serving the wrong value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from . import crypto, errors, models
from .backend import KmsBackend
from .models import Scope
from .secret_store import Secret, SecretStore, SecretVersion

CURRENT, PREVIOUS = "ACSCurrent", "ACSPrevious"
BUILT_IN_STAGES = (CURRENT, PREVIOUS)
GENERIC = "Generic"
DATA_TYPES = ("text", "binary")
MAX_SECRET_DATA_BYTES = 30720
MAX_VERSIONS = 10  # per Generic secret; beyond, the oldest version without a stage label is dropped
MAX_TAGS = models.MAX_TAGS  # [I] 20 as at CreateSecret (the TagResource page says 10)
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS, DEFAULT_WINDOW_DAYS = 7, 30, 30
# [I] the documented character set (letters, digits, _/+=.-@); the "64 Chinese characters" are not modelled.
_NAME = re.compile(r"^(?!acs/)[A-Za-z0-9_/+=.@-]{1,192}$")
_VERSION_ID = re.compile(r"^[A-Za-z0-9_/+=.@-]{1,64}$")  # [I] only the 64-character limit is documented
_STAGE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # [I] stage labels' rules are undocumented


@dataclass(frozen=True)
class Value:
    """One version's value as GetSecretValue returns it."""

    secret: Secret
    version: SecretVersion
    data: bytes
    stages: tuple[str, ...]


@dataclass(frozen=True)
class VersionInfo:
    version_id: str
    create_time: datetime
    stages: tuple[str, ...]


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise errors.InvalidParameter.named(
            "SecretName", "Use 1-192 letters, digits or _/+=.@- characters, not starting with acs/.")


def check_version_id(version_id: str) -> None:
    if not _VERSION_ID.match(version_id):
        raise errors.InvalidParameter.named("VersionId", "Use 1-64 letters, digits or _/+=.@- characters.")


def check_stage(stage: str, name: str = "VersionStage") -> None:
    if not _STAGE.match(stage):
        raise errors.InvalidParameter.named(name, "Use 1-64 letters, digits or _.- characters.")


def check_data(data: bytes) -> None:
    if len(data) > MAX_SECRET_DATA_BYTES:
        raise errors.InvalidParameter.named("SecretData", f"It must be at most {MAX_SECRET_DATA_BYTES} bytes.")


class Vault:
    """Secrets of every account, over the key backend (for sealing) and its store."""

    def __init__(self, backend: KmsBackend) -> None:
        self.backend = backend
        self.rows = SecretStore(backend.store)

    def _now(self) -> datetime:
        return self.backend.clock().replace(microsecond=0)

    # --- lookups ------------------------------------------------------------------------------
    def name_of(self, scope: Scope, ref: str) -> str:
        """A SecretName parameter: the name, or this account's ARN ``acs:kms:<region>:<uid>:secret/<name>``."""
        if ref.startswith("acs:"):
            prefix = scope.arn("secret/")
            if not ref.startswith(prefix):
                raise errors.ResourceNotFound()  # another account's or region's secret: invisible here
            ref = ref[len(prefix) :]
        return ref

    def load(self, scope: Scope, ref: str, *, writable: bool = False) -> Secret:
        """The secret, or 404; ``writable``: 409 while it waits for deletion (reads are allowed)."""
        name = self.name_of(scope, ref)
        secret = self.rows.get(scope, name)
        if secret is None:
            raise errors.ResourceNotFound()
        if secret.planned_delete_time is not None and secret.planned_delete_time <= self.backend.clock():
            # Deletion is lazy, as for keys: past its PlannedDeleteTime the secret goes at first sight.
            with self.rows.transaction():
                self.rows.delete(scope, name)
            raise errors.ResourceNotFound()
        if writable and secret.planned_delete_time is not None:
            raise errors.ResourceInDeleteWindow()
        return secret

    def secrets(self, scope: Scope) -> list[Secret]:
        now = self.backend.clock()
        return [s for s in self.rows.secrets(scope) if not (s.planned_delete_time and s.planned_delete_time <= now)]

    def tags(self, scope: Scope, secret: Secret) -> dict[str, str]:
        return self.rows.tags(scope, secret.name)

    # --- sealing ------------------------------------------------------------------------------
    def _context(self, name: str, version_id: str) -> dict[str, str]:
        return {"SecretName": name, "VersionId": version_id}

    def _seal(self, scope: Scope, key_id: str, name: str, version_id: str, data: bytes) -> bytes:
        context = self._context(name, version_id)
        if key_id:
            return self.backend.encrypt(scope, key_id, data, context)[1]
        version, material = self._service_key(scope)
        return crypto.seal(material, version, data, context, self.backend.entropy)

    def _open(self, scope: Scope, secret: Secret, version: SecretVersion) -> bytes:
        context = self._context(secret.name, version.version_id)
        if secret.encryption_key_id:
            return self.backend.decrypt(scope, version.blob, context)[2]
        found = self.rows.service_key(scope)
        if found is None:
            raise errors.InternalFailure()
        try:
            return crypto.open_blob(found[1], version.blob, context)
        except crypto.BlobError as exc:
            raise errors.InternalFailure() from exc

    def _service_key(self, scope: Scope) -> tuple[str, bytes]:
        found = self.rows.service_key(scope)
        if found is None:
            with self.rows.transaction():
                self.rows.add_service_key(scope, models.new_version_id(self.backend.entropy),
                                          crypto.new_key_material(self.backend.entropy))  # fmt: skip
                found = self.rows.service_key(scope)  # another process may have made it first
        assert found is not None
        return found

    def _key_id(self, scope: Scope, ref: str) -> str:
        """EncryptionKeyId (id, alias or ARN) -> the CMK's id; unknown -> 404 ResourceNotFound [I]."""
        try:
            key = self.backend.resolve(scope, ref)
        except (errors.KeyNotFound, errors.AliasNotFound) as exc:
            raise errors.ResourceNotFound("The specified EncryptionKeyId is not found.") from exc
        models.check_usable(key)  # the §6 codes: Rejected.Disabled / PendingDeletion / PendingImport
        return key.key_id

    # --- secrets ------------------------------------------------------------------------------
    def create(self, scope: Scope, name: str, version_id: str, data: bytes, data_type: str, *,
               description: str = "", encryption_key_id: str = "",
               tags: Sequence[tuple[str, str]] = ()) -> Secret:  # fmt: skip
        check_name(name)
        check_version_id(version_id)
        check_data(data)
        key_id = self._key_id(scope, encryption_key_id) if encryption_key_id else ""
        now = self._now()
        blob = self._seal(scope, key_id, name, version_id, data)
        secret = Secret(name, GENERIC, description, key_id, now, now)
        with self.rows.transaction():
            existing = self.rows.get(scope, name)
            if existing is not None and existing.planned_delete_time and existing.planned_delete_time <= self.backend.clock():
                self.rows.delete(scope, name)  # its window is over: the name is free again
                existing = None
            if existing is not None:
                raise errors.ResourceInDeleteWindow() if existing.planned_delete_time else errors.ResourceExist()
            self.rows.put(scope, secret)
            self.rows.add_version(scope, name, SecretVersion(version_id, data_type, blob, now))
            self.rows.set_stage(scope, name, CURRENT, version_id)
            for key, value in tags:
                self.rows.put_tag(scope, name, key, value)
        return secret

    def get_value(self, scope: Scope, ref: str, version_id: str = "", stage: str = "") -> Value:
        secret = self.load(scope, ref, writable=True)  # [I] pending deletion -> 409 ResourceInDeleteWindow
        stages = self.rows.stages(scope, secret.name)
        if not version_id:
            version_id = stages.get(stage or CURRENT, "")
        elif stage and stages.get(stage) != version_id:
            raise errors.ResourceNotFound()  # [I] VersionId and VersionStage must name the same version
        version = self.rows.version(scope, secret.name, version_id) if version_id else None
        if version is None:
            raise errors.ResourceNotFound()  # [I] unknown stage or version
        data = self._open(scope, secret, version)
        return Value(secret, version, data, _labels(stages, version.version_id))

    def put_value(self, scope: Scope, ref: str, version_id: str, data: bytes, data_type: str,
                  stages: Sequence[str] | None = None) -> tuple[Secret, tuple[str, ...]]:  # fmt: skip
        """A new version, labelled ACSCurrent (or ``stages``); the former ACSCurrent becomes ACSPrevious."""
        check_version_id(version_id)
        check_data(data)
        secret = self.load(scope, ref, writable=True)
        wanted = list(dict.fromkeys(stages)) if stages else [CURRENT]
        with self.rows.transaction():
            existing = self.rows.version(scope, secret.name, version_id)
            if existing is not None:
                # Same VersionId: success without change if it holds the same value, else 409.
                if existing.data_type != data_type or self._open(scope, secret, existing) != data:
                    raise errors.ResourceExist("The VersionId already exists with another value.")
                return secret, _labels(self.rows.stages(scope, secret.name), version_id)
            now = self._now()
            blob = self._seal(scope, secret.encryption_key_id, secret.name, version_id, data)
            self.rows.add_version(scope, secret.name, SecretVersion(version_id, data_type, blob, now))
            for stage in wanted:
                self._assign(scope, secret.name, stage, version_id)
            self._evict(scope, secret.name)
            self.rows.put(scope, replace(secret, update_time=now))
            return secret, _labels(self.rows.stages(scope, secret.name), version_id)

    def _assign(self, scope: Scope, name: str, stage: str, version_id: str) -> None:
        """Give ``stage`` to ``version_id`` (one label, one version); moving ACSCurrent hands
        ACSPrevious to the version that held ACSCurrent ([I] for the shift of an old ACSPrevious)."""
        held = self.rows.stages(scope, name)
        if stage == CURRENT and held.get(CURRENT) not in (None, version_id):
            self.rows.set_stage(scope, name, PREVIOUS, held[CURRENT])
        self.rows.set_stage(scope, name, stage, version_id)

    def _evict(self, scope: Scope, name: str) -> None:
        """At most MAX_VERSIONS versions: drop the oldest versions that hold no stage label."""
        versions = self.rows.versions(scope, name)
        labelled = set(self.rows.stages(scope, name).values())
        spare = [v for v in versions if v.version_id not in labelled]
        excess = len(versions) - MAX_VERSIONS
        if excess > len(spare):
            raise errors.LimitExceeded("The secret already has 10 versions that each hold a stage label.")  # [I]
        for version in spare[: max(excess, 0)]:
            self.rows.delete_version(scope, name, version.version_id)

    def version_ids(self, scope: Scope, ref: str, include_deprecated: bool) -> tuple[Secret, list[VersionInfo]]:
        secret = self.load(scope, ref)
        stages = self.rows.stages(scope, secret.name)
        infos = [VersionInfo(v.version_id, v.create_time, _labels(stages, v.version_id))
                 for v in self.rows.versions(scope, secret.name)]  # fmt: skip
        return secret, [i for i in infos if i.stages or include_deprecated]

    def update(self, scope: Scope, ref: str, description: str | None) -> Secret:
        secret = self.load(scope, ref, writable=True)
        changed = replace(secret, update_time=self._now(),
                          description=secret.description if description is None else description)  # fmt: skip
        with self.rows.transaction():
            self.rows.put(scope, changed)
        return changed

    def update_stage(self, scope: Scope, ref: str, stage: str, remove_from: str, move_to: str) -> Secret:
        """Add (``move_to`` only), remove (``remove_from`` only, custom labels) or move (both)."""
        check_stage(stage)
        secret = self.load(scope, ref, writable=True)
        if not remove_from and not move_to:
            raise errors.MissingParameter("MoveToVersion")
        if stage in BUILT_IN_STAGES and not move_to:
            raise errors.InvalidRequest(f"{stage} can only be moved: MoveToVersion is needed.")  # [I] code
        with self.rows.transaction():
            held = self.rows.stages(scope, secret.name)
            for version_id in (remove_from, move_to):
                if version_id and self.rows.version(scope, secret.name, version_id) is None:
                    raise errors.ResourceNotFound()  # [I] an unknown version
            if remove_from and held.get(stage) != remove_from:
                raise errors.InvalidRequest(f"The version {remove_from} does not hold {stage}.")  # [I]
            if move_to:
                self._assign(scope, secret.name, stage, move_to)
            else:
                self.rows.remove_stage(scope, secret.name, stage)
            self.rows.put(scope, replace(secret, update_time=self._now()))
        return secret

    def delete(self, scope: Scope, ref: str, *, force: bool, window_days: int | None) -> datetime:
        """Schedule the deletion (the secret can be restored until the returned time) or, with
        ``force``, delete it now (the name is free at once [I])."""
        secret = self.load(scope, ref, writable=True)
        now = self._now()
        with self.rows.transaction():
            if force:
                self.rows.delete(scope, secret.name)
                return now
            planned = now + timedelta(days=window_days or DEFAULT_WINDOW_DAYS)
            self.rows.put(scope, replace(secret, planned_delete_time=planned))
        return planned

    def restore(self, scope: Scope, ref: str) -> Secret:
        secret = self.load(scope, ref)
        if secret.planned_delete_time is None:
            raise errors.ResourceInUse()
        restored = replace(secret, planned_delete_time=None, update_time=self._now())
        with self.rows.transaction():
            self.rows.put(scope, restored)
        return restored

    # --- tags ---------------------------------------------------------------------------------
    def tag(self, scope: Scope, ref: str, tags: Sequence[tuple[str, str]]) -> None:
        secret = self.load(scope, ref)
        with self.rows.transaction():
            if len(self.rows.tags(scope, secret.name) | dict(tags)) > MAX_TAGS:
                raise errors.LimitExceeded()  # [I] as for keys
            for key, value in tags:
                self.rows.put_tag(scope, secret.name, key, value)

    def untag(self, scope: Scope, ref: str, tag_keys: Sequence[str]) -> None:
        secret = self.load(scope, ref)
        with self.rows.transaction():
            for key in tag_keys:
                self.rows.delete_tag(scope, secret.name, key)


def _labels(stages: dict[str, str], version_id: str) -> tuple[str, ...]:
    return tuple(s for s, v in stages.items() if v == version_id)
