"""KMS operations on the domain objects: the part of the emulator that knows the service's rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from . import asymmetric, crypto, errors, models, rotation
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
        if key.rotation_interval is not None and rotation.due(key, self.clock()):
            key = self._rotate(scope, key_id)
        return key

    def _rotate(self, scope: Scope, key_id: str) -> Key:
        """Automatic rotation, found due by a read: one new primary version, dated now (rotation.py)."""
        with self.store.transaction():
            key = self.store.get_key(scope, key_id)  # another process may have rotated it meanwhile
            if key is None:
                raise errors.KeyNotFound()
            now = self.clock().replace(microsecond=0)
            if not rotation.due(key, now):
                return key
            if not rotation.has_room(self.store.count_versions(scope, key_id), self.store.count_versions(scope)):
                return key  # [I] a key at the version quota keeps its primary version (undocumented)
            return self._new_version(scope, key, now, self._material(key.key_spec))[0]

    def _new_version(self, scope: Scope, key: Key, now: datetime, material: bytes) -> tuple[Key, str]:
        """Add a version (inside the caller's transaction); symmetric keys make it primary."""
        version_id = models.new_version_id(self.entropy)
        self.store.add_version(scope, key.key_id, version_id, material, now)
        # [I] asymmetric keys have no primary version: callers always name one; PrimaryKeyVersion
        # stays the initial version and LastRotationDate still moves.
        key = replace(key, primary_version=version_id if key.symmetric else key.primary_version,
                      last_rotation_date=now)  # fmt: skip
        self.store.put_key(key)
        return key, version_id

    def _material(self, key_spec: str) -> bytes:
        if key_spec in models.SYMMETRIC_SPECS:
            return crypto.new_key_material(self.entropy, key_spec)
        return asymmetric.generate(key_spec, self.entropy)

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
                   key_usage: str = models.ENCRYPT_DECRYPT, origin: str = "Aliyun_KMS",
                   protection_level: str = "SOFTWARE", rotation_interval: int | None = None,
                   tags: Sequence[tuple[str, str]] = ()) -> Key:  # fmt: skip
        version_id = models.new_version_id(self.entropy)
        now = self.clock().replace(microsecond=0)
        key = Key(key_id=models.new_key_id(scope.region, self.entropy), account_id=scope.account_id, region=scope.region,
                  creation_date=now, primary_version=version_id, last_rotation_date=now,
                  description=description, key_spec=key_spec, key_usage=key_usage, origin=origin,
                  protection_level=protection_level, rotation_interval=rotation_interval,
                  state=models.PENDING_IMPORT if origin == "EXTERNAL" else models.ENABLED)  # fmt: skip
        # EXTERNAL keys wait for imported material, which this emulator cannot import: no material.
        # Made before the transaction: an RSA_3072 key pair takes a moment, the write lock should not.
        material = None if origin == "EXTERNAL" else self._material(key_spec)
        with self.store.transaction():
            if self.store.count_keys(scope) >= models.MAX_KEYS or self.store.count_versions(scope) >= models.MAX_VERSIONS:
                raise errors.LimitExceeded()
            self.store.put_key(key)
            self.store.add_version(scope, key.key_id, version_id, material, now)
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
        _check_symmetric(key)
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
        _check_symmetric(key)
        models.check_usable(key)
        if found[1] is None:
            raise errors.KeyVersionNotFound()
        try:
            return key, version_id, crypto.open_blob(found[1], blob, context)
        except crypto.BlobError as exc:
            raise errors.InvalidParameter.named("CiphertextBlob", "Decryption failed: the blob or EncryptionContext does not match.") from exc

    # --- key versions and rotation (rules in rotation.py) -------------------------------------
    def create_key_version(self, scope: Scope, key_ref: str) -> tuple[Key, str, datetime]:
        """A new version now: the primary one for symmetric keys, a new key pair for asymmetric ones."""
        key = self.resolve(scope, key_ref)
        rotation.check_new_version(key)
        material = self._material(key.key_spec)  # outside the write lock (RSA key generation)
        now = self.clock().replace(microsecond=0)
        with self.store.transaction():
            key = self._load(scope, key.key_id)
            rotation.check_new_version(key)
            rotation.check_version_quota(self.store.count_versions(scope, key.key_id), self.store.count_versions(scope))
            key, version_id = self._new_version(scope, key, now, material)
        return key, version_id, now

    def list_key_versions(self, scope: Scope, key_ref: str) -> tuple[Key, list[tuple[str, datetime]]]:
        """Every version of a key, oldest first, in any key state."""
        key = self.resolve(scope, key_ref)
        return key, [(v, when or key.creation_date) for v, when in self.store.list_versions(scope, key.key_id)]

    def describe_key_version(self, scope: Scope, key_ref: str, version_id: str) -> tuple[Key, datetime]:
        key, versions = self.list_key_versions(scope, key_ref)
        for found, when in versions:
            if found == version_id:
                return key, when
        raise errors.KeyVersionNotFound()

    def update_rotation_policy(self, scope: Scope, key_ref: str, interval: int | None) -> Key:
        """``interval`` seconds turns automatic rotation on (or changes its period), None turns it off.

        A shorter period can make the next rotation date pass already: the next read of the key
        rotates it then (the UpdateRotationPolicy page: "rotated immediately")."""
        with self.store.transaction():
            key = self.resolve(scope, key_ref)
            rotation.check_policy_change(key)
            key = replace(key, rotation_interval=interval)
            self.store.put_key(key)
        return key

    # --- asymmetric keys (primitives in asymmetric.py) ----------------------------------------
    def _key_pair(self, scope: Scope, key_ref: str, version_id: str, usage: str | None) -> tuple[Key, bytes]:
        """The private key of one version of an asymmetric key, after the documented checks.

        Symmetric key or usage mismatch -> 400 Rejected.UnsupportedOperation [I]; key state (409);
        unknown version of this key -> 404 Forbidden.KeyVersionNotFound [I]."""
        key = self.resolve(scope, key_ref)
        if key.symmetric:
            if usage is None:  # GetPublicKey [I]
                raise errors.UnsupportedOperation("The key is a symmetric key: it has no public key.")
            raise errors.RejectedUnsupportedOperation("The key is a symmetric key; use Encrypt and Decrypt.")
        if usage is not None and key.key_usage != usage:
            raise errors.RejectedUnsupportedOperation(f"The key's usage is {key.key_usage}.")
        models.check_usable(key)
        found = self._version(scope, version_id)
        if found is None or found[0] != key.key_id or found[1] is None:
            raise errors.KeyVersionNotFound()
        return key, found[1]

    def public_key(self, scope: Scope, key_ref: str, version_id: str) -> tuple[Key, str]:
        key, material = self._key_pair(scope, key_ref, version_id, None)
        return key, asymmetric.public_pem(material)

    @staticmethod
    def _check_algorithm(key: Key, algorithm: str, allowed: tuple[str, ...]) -> None:
        if algorithm not in allowed:
            # [I] an algorithm the key's spec does not offer is a bad parameter
            raise errors.InvalidParameter.named("Algorithm", f"{key.key_spec} keys allow: {', '.join(allowed) or 'none'}.")

    def sign(self, scope: Scope, key_ref: str, version_id: str, algorithm: str, digest: bytes) -> tuple[Key, bytes]:
        key, material = self._key_pair(scope, key_ref, version_id, models.SIGN_VERIFY)
        self._check_algorithm(key, algorithm, asymmetric.ALGORITHMS[key.key_spec].sign)
        return key, asymmetric.sign(material, algorithm, digest)

    def verify(self, scope: Scope, key_ref: str, version_id: str, algorithm: str, digest: bytes,
               signature: bytes) -> tuple[Key, bool]:  # fmt: skip
        key, material = self._key_pair(scope, key_ref, version_id, models.SIGN_VERIFY)
        self._check_algorithm(key, algorithm, asymmetric.ALGORITHMS[key.key_spec].sign)
        return key, asymmetric.verify(material, algorithm, digest, signature)

    def asymmetric_encrypt(self, scope: Scope, key_ref: str, version_id: str, algorithm: str,
                           plaintext: bytes) -> tuple[Key, bytes]:  # fmt: skip
        key, material = self._key_pair(scope, key_ref, version_id, models.ENCRYPT_DECRYPT)
        self._check_algorithm(key, algorithm, asymmetric.ALGORITHMS[key.key_spec].encrypt)
        try:
            return key, asymmetric.encrypt(material, algorithm, plaintext)
        except asymmetric.CryptoInputError as exc:
            raise errors.InvalidParameter.named("Plaintext", str(exc)) from exc

    def asymmetric_decrypt(self, scope: Scope, key_ref: str, version_id: str, algorithm: str,
                           ciphertext: bytes) -> tuple[Key, bytes]:  # fmt: skip
        key, material = self._key_pair(scope, key_ref, version_id, models.ENCRYPT_DECRYPT)
        self._check_algorithm(key, algorithm, asymmetric.ALGORITHMS[key.key_spec].encrypt)
        try:
            return key, asymmetric.decrypt(material, algorithm, ciphertext)
        except asymmetric.CryptoInputError as exc:
            raise errors.InvalidParameter.named("CiphertextBlob", str(exc)) from exc


def _check_symmetric(key: Key) -> None:
    """Encrypt/Decrypt/GenerateDataKey/ReEncrypt on an asymmetric key -> 400 UnsupportedOperation [I]."""
    if not key.symmetric:
        raise errors.UnsupportedOperation("The key is an asymmetric key; use AsymmetricEncrypt/AsymmetricDecrypt.")
