"""Domain objects and rules of KMS: keys, versions, aliases, states, quotas (no HTTP, JSON or Base64)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from . import errors
from .entropy import OS, Entropy

MAX_KEYS = 200  # per account and region (https://alibabacloud.com/help/en/kms/key-management-service/support/limits)
MAX_ALIASES = 300
MAX_TAGS = 20  # CreateKey's current limit; the 2021 TagResource page said 10 ([I] which applies)
MAX_PLAINTEXT_BYTES = 6144  # [I] counted on the UTF-8 Plaintext parameter, see §4
MAX_VERSIONS_PER_KEY = 50  # the 2021 CreateKeyVersion page
MAX_VERSIONS = 10_000  # per account and region (the limits page above)

# Key specs and the usages each allows (the CreateKey and AsymmetricSign/AsymmetricEncrypt pages).
ENCRYPT_DECRYPT, SIGN_VERIFY = "ENCRYPT/DECRYPT", "SIGN/VERIFY"
SYMMETRIC_SPECS = frozenset({"Aliyun_AES_256", "Aliyun_AES_128", "Aliyun_AES_192", "Aliyun_SM4"})
ASYMMETRIC_USAGES: dict[str, tuple[str, ...]] = {
    "RSA_2048": (SIGN_VERIFY, ENCRYPT_DECRYPT), "RSA_3072": (SIGN_VERIFY, ENCRYPT_DECRYPT),
    "EC_P256": (SIGN_VERIFY,), "EC_P256K": (SIGN_VERIFY,),
}  # fmt: skip

ENABLED, DISABLED = "Enabled", "Disabled"
PENDING_DELETION, PENDING_IMPORT = "PendingDeletion", "PendingImport"

# Short region codes used in newer key ids. Only "hzz" (cn-hangzhou) appears in the docs;
# the others follow the same pattern and are [I].
_REGION_CODES = {
    "cn-hangzhou": "hzz", "cn-shanghai": "shh", "cn-beijing": "bjj", "cn-shenzhen": "szz",
    "cn-hongkong": "hkk", "ap-southeast-1": "sgg",
}  # fmt: skip
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_SUFFIX_LENGTH = 18  # the documented samples (key-hzz62f1cb66fa42qo8r9v) carry 18 chars
_ALIAS = re.compile(r"^alias/(?!acs)[a-zA-Z0-9_/-]{1,249}$")  # [I] the API metadata's and the user guide's rules combined


@dataclass(frozen=True)
class Scope:
    """Whose resources a request sees: keys of one account and region are invisible to others."""

    account_id: str
    region: str

    def arn(self, resource: str) -> str:
        return f"acs:kms:{self.region}:{self.account_id}:{resource}"


# The server's own record of a key. `helpers.results.KeyMetadata` has similar fields on the
# client side; they stay separate because the emulator never imports the rest of the kit.
@dataclass
class Key:
    key_id: str
    account_id: str
    region: str
    creation_date: datetime
    primary_version: str
    description: str = ""
    key_spec: str = "Aliyun_AES_256"
    key_usage: str = "ENCRYPT/DECRYPT"
    origin: str = "Aliyun_KMS"
    protection_level: str = "SOFTWARE"
    state: str = ENABLED
    delete_date: datetime | None = None
    rotation_interval: int | None = None  # seconds; None = automatic rotation disabled
    #: creation of the newest version (None in rows from before versions had dates: creation_date)
    last_rotation_date: datetime | None = None

    @property
    def symmetric(self) -> bool:
        return self.key_spec in SYMMETRIC_SPECS

    @property
    def last_rotation(self) -> datetime:
        return self.last_rotation_date or self.creation_date

    @property
    def arn(self) -> str:
        return Scope(self.account_id, self.region).arn(f"key/{self.key_id}")

    def with_state(self, state: str, delete_date: datetime | None = None) -> Key:
        return replace(self, state=state, delete_date=delete_date)


@dataclass(frozen=True)
class Alias:
    alias_name: str
    key_id: str
    scope: Scope = field(compare=False)

    @property
    def arn(self) -> str:
        return self.scope.arn(self.alias_name)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_key_id(region: str, entropy: Entropy = OS) -> str:
    code = _REGION_CODES.get(region) or (region.split("-")[1][:3] if "-" in region else "loc")
    return f"key-{code}" + entropy.string(_ID_ALPHABET, _ID_SUFFIX_LENGTH)


def new_version_id(entropy: Entropy = OS) -> str:
    return entropy.uuid4()


def check_alias_name(name: str) -> None:
    if len(name) > 255 or not _ALIAS.match(name):
        raise errors.InvalidParameter.named("AliasName")


# --- the key-state matrix (the help page on the impact of key states on API calls) ------------------------------------------------
_CRYPTO_REJECT: dict[str, type[errors.KmsApiError]] = {
    DISABLED: errors.Disabled,
    PENDING_DELETION: errors.PendingDeletion,
    PENDING_IMPORT: errors.PendingImport,
}
_ALLOWED_FROM: dict[str, frozenset[str]] = {
    "EnableKey": frozenset({ENABLED, DISABLED}),
    "DisableKey": frozenset({ENABLED, DISABLED}),
    "ScheduleKeyDeletion": frozenset({ENABLED, DISABLED, PENDING_IMPORT}),
    "CancelKeyDeletion": frozenset({PENDING_DELETION}),
    "CreateAlias": frozenset({ENABLED, DISABLED, PENDING_IMPORT}),
}


def check_usable(key: Key) -> None:
    """Encrypt/Decrypt/GenerateDataKey/ReEncrypt need an Enabled key (409 Rejected.<State>)."""
    rejection = _CRYPTO_REJECT.get(key.state)
    if rejection is not None:
        raise rejection()


def check_transition(action: str, key: Key) -> None:
    """State-changing actions allowed only from the states in the matrix (409 StateModifiedFailed)."""
    if key.state not in _ALLOWED_FROM[action]:
        raise errors.StateModifiedFailed()


def check_alias_target(key: Key) -> None:
    """UpdateAlias depends on the target key only: PendingDeletion -> 409 Rejected.PendingDeletion."""
    if key.state == PENDING_DELETION:
        raise errors.PendingDeletion()


def deletion_date(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


def default_usage(key_spec: str) -> str:
    """[I] KeyUsage when CreateKey omits it: tea says SIGN/VERIFY where the spec can sign, the
    API metadata's default says ENCRYPT/DECRYPT; symmetric keys can only encrypt."""
    return ENCRYPT_DECRYPT if key_spec in SYMMETRIC_SPECS else SIGN_VERIFY


def check_spec_usage(key_spec: str, key_usage: str) -> None:
    """[I] An impossible pair (EC_P256 + ENCRYPT/DECRYPT, Aliyun_AES_256 + SIGN/VERIFY) -> 400 InvalidParameter."""
    allowed = (ENCRYPT_DECRYPT,) if key_spec in SYMMETRIC_SPECS else ASYMMETRIC_USAGES[key_spec]
    if key_usage not in allowed:
        raise errors.InvalidParameter.named("KeyUsage", f"{key_spec} keys allow {' or '.join(allowed)}.")


@dataclass(frozen=True)
class KeyFilter:
    """One ListKeys filter: AND across filters, OR within ``values``."""

    name: str
    values: tuple[str, ...]

    FIELDS = ("KeyState", "KeySpec", "KeyUsage", "ProtectionLevel", "CreatorType", "DKMSInstanceId")

    def matches(self, key: Key) -> bool:
        actual = {
            "KeyState": key.state, "KeySpec": key.key_spec, "KeyUsage": key.key_usage,
            "ProtectionLevel": key.protection_level, "CreatorType": "User", "DKMSInstanceId": "",
        }[self.name]  # fmt: skip
        return actual in self.values
