"""KMS operations on the domain objects: the part of the emulator that knows the service's rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from . import crypto, errors, models
from .models import Alias, Key, KeyFilter, Scope
from .entropy import OS, Entropy
from .store import Store

Context = Mapping[str, str] | None


class KmsBackend:
    def __init__(self, store: Store, clock: Callable[[], datetime] = models.utc_now,
                 entropy: Entropy = OS) -> None:
        self.store = store
        self.clock = clock
        self.entropy = entropy  # ids, key material, IVs, data keys: seeded only for recordings
        # Versions never change once written, so their material can be cached per process;
        # key *state* is always re-read, since another process may have disabled the key.
        self._versions: dict[tuple[Scope, str], tuple[str, bytes | None]] = {}

    def _version(self, scope: Scope, version_id: str) -> tuple[str, bytes | None] | None:
        found = self._versions.get((scope, version_id))
        if found is None:
            found = self.store.get_version(scope, version_id)
            if found is not None:
                if len(self._versions) >= 10_000:
                    self._versions.clear()
                self._versions[(scope, version_id)] = found
        return found

    # --- lookups ------------------------------------------------------------------------------
    def _load(self, scope: Scope, key_id: str) -> Key:
        key = self.store.get_key(scope, key_id)
        if key is None:
            raise errors.KeyNotFound()
        if key.state == models.PENDING_DELETION and key.delete_date and key.delete_date <= self.clock():
            # Deletion is lazy: a key past its DeleteDate disappears the first time anyone looks.
            with self.store.transaction():
                self.store.delete_key(scope, key_id)
            # The deleted key's material must not outlive it in this process either.
            for cached, (owner, _) in list(self._versions.items()):
                if cached[0] == scope and owner == key_id:
                    self._versions.pop(cached, None)
            raise errors.KeyNotFound()
        return key

    def resolve(self, scope: Scope, ref: str, *, allow_alias: bool = True) -> Key:
        """A KeyId parameter: key id, ``alias/...`` (where the API allows it) or an ARN."""
        prefix = scope.arn("")
        if ref.startswith("acs:kms:"):
            if not ref.startswith(prefix):
                raise errors.KeyNotFound()  # another account's or region's ARN: invisible here
            ref = ref[len(prefix) :]
            if ref.startswith("key/"):
                ref = ref[4:]
        if ref.startswith("alias/"):
            if not allow_alias:
                raise errors.KeyNotFound()
            alias = self.store.get_alias(scope, ref)
            if alias is None:
                raise errors.AliasNotFound()
            ref = alias.key_id
        return self._load(scope, ref)

    # --- key lifecycle ------------------------------------------------------------------------
    def create_key(self, scope: Scope, *, description: str = "", key_spec: str = "Aliyun_AES_256",
                   key_usage: str = "ENCRYPT/DECRYPT", origin: str = "Aliyun_KMS",
                   protection_level: str = "SOFTWARE", rotation_interval: int | None = None,
                   tags: Sequence[tuple[str, str]] = ()) -> Key:  # fmt: skip
        version_id = models.new_version_id(self.entropy)
        key = Key(key_id=models.new_key_id(scope.region, self.entropy), account_id=scope.account_id, region=scope.region,
                  creation_date=self.clock().replace(microsecond=0), primary_version=version_id,
                  description=description, key_spec=key_spec, key_usage=key_usage, origin=origin,
                  protection_level=protection_level, rotation_interval=rotation_interval,
                  state=models.PENDING_IMPORT if origin == "EXTERNAL" else models.ENABLED)  # fmt: skip
        # EXTERNAL keys wait for imported material, which this emulator cannot import: no material.
        material = None if origin == "EXTERNAL" else crypto.new_key_material(self.entropy)
        with self.store.transaction():
            if self.store.count_keys(scope) >= models.MAX_KEYS:
                raise errors.LimitExceeded()
            self.store.put_key(key)
            self.store.add_version(scope, key.key_id, version_id, material)
            for tag_key, tag_value in tags:
                self.store.put_tag(scope, key.key_id, tag_key, tag_value)
        return key

    def _transition(self, scope: Scope, action: str, key_id: str, state: str, days: int | None = None) -> None:
        with self.store.transaction():
            key = self._load(scope, key_id)
            models.check_transition(action, key)
            when = models.deletion_date(self.clock().replace(microsecond=0), days) if days else None
            self.store.put_key(key.with_state(state, when))

    def enable_key(self, scope: Scope, key_id: str) -> None:
        self._transition(scope, "EnableKey", key_id, models.ENABLED)

    def disable_key(self, scope: Scope, key_id: str) -> None:
        self._transition(scope, "DisableKey", key_id, models.DISABLED)

    def schedule_key_deletion(self, scope: Scope, key_id: str, days: int) -> None:
        self._transition(scope, "ScheduleKeyDeletion", key_id, models.PENDING_DELETION, days)

    def cancel_key_deletion(self, scope: Scope, key_id: str) -> None:
        self._transition(scope, "CancelKeyDeletion", key_id, models.ENABLED)

    def update_description(self, scope: Scope, key_id: str, description: str) -> None:
        with self.store.transaction():
            self.store.put_key(replace(self._load(scope, key_id), description=description))

    def list_keys(self, scope: Scope, filters: Sequence[KeyFilter] = ()) -> list[Key]:
        now = self.clock()
        keys = [k for k in self.store.list_keys(scope) if not (k.delete_date and k.delete_date <= now)]
        return [k for k in keys if all(f.matches(k) for f in filters)]

    # --- aliases ------------------------------------------------------------------------------
    def create_alias(self, scope: Scope, alias_name: str, key_id: str) -> None:
        models.check_alias_name(alias_name)
        with self.store.transaction():
            key = self.resolve(scope, key_id, allow_alias=False)
            models.check_transition("CreateAlias", key)
            if self.store.get_alias(scope, alias_name) is not None:
                raise errors.AliasAlreadyExists()
            if self.store.count_aliases(scope) >= models.MAX_ALIASES:
                raise errors.LimitExceeded()
            self.store.put_alias(Alias(alias_name, key.key_id, scope))

    def update_alias(self, scope: Scope, alias_name: str, key_id: str) -> None:
        models.check_alias_name(alias_name)
        with self.store.transaction():
            key = self.resolve(scope, key_id, allow_alias=False)
            if self.store.get_alias(scope, alias_name) is None:
                raise errors.AliasNotFound()  # [I] code exists in the common table only
            models.check_alias_target(key)
            self.store.put_alias(Alias(alias_name, key.key_id, scope))

    def delete_alias(self, scope: Scope, alias_name: str) -> None:
        with self.store.transaction():
            if self.store.get_alias(scope, alias_name) is None:
                raise errors.AliasNotFound()  # [I]
            self.store.delete_alias(scope, alias_name)

    def list_aliases(self, scope: Scope, key_id: str | None = None) -> list[Alias]:
        if key_id is not None:
            key_id = self.resolve(scope, key_id, allow_alias=False).key_id
        return self.store.list_aliases(scope, key_id)

    # --- tags ---------------------------------------------------------------------------------
    def tag_resource(self, scope: Scope, key_id: str, tags: Sequence[tuple[str, str]]) -> None:
        with self.store.transaction():
            key = self._load(scope, key_id)
            merged = self.store.get_tags(scope, key.key_id) | dict(tags)
            if len(merged) > models.MAX_TAGS:
                raise errors.LimitExceeded()  # [I] code for too many tags on one key
            for tag_key, tag_value in tags:
                self.store.put_tag(scope, key.key_id, tag_key, tag_value)

    def untag_resource(self, scope: Scope, key_id: str, tag_keys: Sequence[str]) -> None:
        with self.store.transaction():
            key = self._load(scope, key_id)
            for tag_key in tag_keys:
                self.store.delete_tag(scope, key.key_id, tag_key)

    def list_tags(self, scope: Scope, key_id: str) -> dict[str, str]:
        return self.store.get_tags(scope, self._load(scope, key_id).key_id)

    # --- cryptography -------------------------------------------------------------------------
    def encrypt(self, scope: Scope, key_ref: str, plaintext: bytes, context: Context) -> tuple[Key, bytes]:
        """Seal under the primary version; returns the key and the raw (not yet Base64) blob."""
        key = self.resolve(scope, key_ref)
        models.check_usable(key)
        found = self._version(scope, key.primary_version)
        if found is None or found[1] is None:
            raise errors.KeyVersionNotFound()
        return key, crypto.seal(found[1], key.primary_version, plaintext, context, self.entropy)

    def decrypt(self, scope: Scope, blob: bytes, context: Context) -> tuple[Key, str, bytes]:
        """Find the version named in the blob, in this account only, then authenticate and open it.

        Unknown version (including another account's blob) -> 404 Forbidden.KeyNotFound: to this
        caller the key does not exist. Malformed, truncated, tampered or wrong context -> 400
        InvalidParameter ([I] the real code is undocumented).
        """
        try:
            version_id = crypto.blob_version_id(blob)
        except crypto.BlobError as exc:
            raise errors.InvalidParameter.named("CiphertextBlob") from exc
        found = self._version(scope, version_id)
        if found is None:
            raise errors.KeyNotFound()
        key = self._load(scope, found[0])
        models.check_usable(key)
        if found[1] is None:
            raise errors.KeyVersionNotFound()
        try:
            return key, version_id, crypto.open_blob(found[1], blob, context)
        except crypto.BlobError as exc:
            raise errors.InvalidParameter.named("CiphertextBlob", "Decryption failed: the blob or EncryptionContext does not match.") from exc
