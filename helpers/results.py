"""Small typed results of KMS calls. Field names are the snake_case of the API's response fields.

Reprs never show plaintext or data-key bytes: only their length, so that a result echoed in a
notebook cell is safe to save and to screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Iterator
from typing import Any


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("d_k_m_s", "dkms")


@dataclass(frozen=True)
class KeyMetadata:
    """`KeyMetadata` of CreateKey and DescribeKey."""

    key_id: str
    arn: str
    key_state: str
    key_spec: str
    key_usage: str
    description: str
    creation_date: str
    creator: str
    origin: str
    protection_level: str
    primary_key_version: str
    delete_date: str = ""
    automatic_rotation: str = ""
    deletion_protection: str = ""
    #: "<seconds>s" and a date while AutomaticRotation is Enabled or Suspended, else ""
    rotation_interval: str = ""
    next_rotation_date: str = ""
    #: when the newest key version was made (the key's creation until it first rotates)
    last_rotation_date: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, meta: dict[str, Any]) -> KeyMetadata:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        values = {_snake(k): v for k, v in meta.items()}
        return cls(
            **{k: str(values.get(k, "")) for k in known},
            extra={k: v for k, v in values.items() if k not in known},
        )


@dataclass(frozen=True)
class Page:
    """One page of a List* call."""

    items: list[dict[str, str]]
    total_count: int
    page_number: int
    page_size: int

    @classmethod
    def from_wire(cls, body: dict[str, Any], outer: str, inner: str) -> Page:
        """`{"Keys": {"Key": [...]}}`: the API nests list items twice (`outer`, then `inner`)."""
        return cls(
            items=list(body.get(outer, {}).get(inner, [])),
            total_count=int(body.get("TotalCount", 0)),
            page_number=int(body.get("PageNumber", 1)),
            page_size=int(body.get("PageSize", 0)),
        )

    @staticmethod
    def every(fetch: Callable[[int], Page]) -> Iterator[dict[str, str]]:
        """Every item of every page, fetching page 1, 2, ... until TotalCount items were seen."""
        number, seen = 1, 0
        while True:
            page = fetch(number)
            yield from page.items
            seen += len(page.items)
            if not page.items or seen >= page.total_count:
                return
            number += 1


@dataclass(frozen=True)
class EncryptResult:
    key_id: str
    key_version_id: str
    ciphertext_blob: str
    request_id: str

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> EncryptResult:
        return cls(body["KeyId"], body["KeyVersionId"], body["CiphertextBlob"], body.get("RequestId", ""))


@dataclass(frozen=True)
class DecryptResult:
    """Decrypt's answer; `plaintext` is `str` (text round trip) or `bytes` (binary=True)."""

    key_id: str
    key_version_id: str
    plaintext: str | bytes = field(repr=False)
    request_id: str

    def __repr__(self) -> str:
        return (
            f"DecryptResult(key_id={self.key_id!r}, key_version_id={self.key_version_id!r}, "
            f"plaintext=<{len(self.plaintext)} {'bytes' if isinstance(self.plaintext, bytes) else 'chars'} hidden>, "
            f"request_id={self.request_id!r})"
        )


@dataclass(frozen=True)
class DataKey:
    """A data key from GenerateDataKey: `plaintext` is the raw key (use, then drop), and
    `ciphertext_blob` is what you store next to the data."""

    key_id: str
    key_version_id: str
    ciphertext_blob: str
    plaintext: bytes = field(repr=False)
    request_id: str = ""

    def __repr__(self) -> str:
        return (
            f"DataKey(key_id={self.key_id!r}, key_version_id={self.key_version_id!r}, "
            f"ciphertext_blob=<{len(self.ciphertext_blob)} chars>, "
            f"plaintext=<{len(self.plaintext)} bytes hidden>)"
        )


@dataclass(frozen=True)
class SecretMetadata:
    """A secret as CreateSecret, DescribeSecret and ListSecrets describe it (never its value).

    Fields a call does not return are "" (CreateSecret gives only the name, ARN, type and
    `version_id`); `planned_delete_time` is set while a deletion is scheduled."""

    secret_name: str
    secret_type: str = ""
    arn: str = ""
    description: str = ""
    encryption_key_id: str = ""
    create_time: str = ""
    update_time: str = ""
    planned_delete_time: str = ""
    version_id: str = ""
    tags: dict[str, str] = field(default_factory=dict, compare=False)
    request_id: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> SecretMetadata:
        known = {f for f in cls.__dataclass_fields__ if f != "tags"}
        values = {_snake(k): v for k, v in body.items()}
        tags = {t["TagKey"]: t["TagValue"] for t in (body.get("Tags") or {}).get("Tag", [])}
        return cls(**{k: str(values[k]) for k in known if k in values}, tags=tags)


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret (PutSecretValue, ListSecretVersionIds): its id and stage labels."""

    version_id: str
    version_stages: tuple[str, ...]
    create_time: str = ""

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> SecretVersion:
        stages = (body.get("VersionStages") or {}).get("VersionStage", [])
        return cls(body["VersionId"], tuple(stages), str(body.get("CreateTime", "")))


@dataclass(frozen=True)
class SecretValue:
    """GetSecretValue's answer. `data` is the secret itself: the repr shows only its length."""

    secret_name: str
    version_id: str
    version_stages: tuple[str, ...]
    data: str = field(repr=False)
    data_type: str = "text"
    secret_type: str = "Generic"
    create_time: str = ""
    request_id: str = ""

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> SecretValue:
        return cls(body["SecretName"], body["VersionId"],
                   tuple((body.get("VersionStages") or {}).get("VersionStage", [])),
                   body["SecretData"], body.get("SecretDataType", "text"), body.get("SecretType", "Generic"),
                   body.get("CreateTime", ""), body.get("RequestId", ""))  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"SecretValue(secret_name={self.secret_name!r}, version_id={self.version_id!r}, "
            f"version_stages={self.version_stages!r}, data=<{len(self.data)} chars hidden>, "
            f"data_type={self.data_type!r})"
        )


@dataclass(frozen=True)
class KeyVersion:
    """One version of a key (CreateKeyVersion, DescribeKeyVersion, ListKeyVersions items)."""

    key_id: str
    key_version_id: str
    creation_date: str

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> KeyVersion:
        return cls(body["KeyId"], body["KeyVersionId"], str(body.get("CreationDate", "")))


@dataclass(frozen=True)
class PublicKey:
    """GetPublicKey's answer: `public_key` is PEM (SubjectPublicKeyInfo), usable with `cryptography`."""

    key_id: str
    key_version_id: str
    public_key: str
    request_id: str = ""


@dataclass(frozen=True)
class Signature:
    """AsymmetricSign's answer: `value` is the raw signature (RSA: k bytes; ECDSA: DER)."""

    key_id: str
    key_version_id: str
    value: bytes
    request_id: str = ""


@dataclass(frozen=True)
class Connection:
    """What a client talks to; safe to print (it never holds a secret)."""

    backend: str
    region: str
    endpoint: str
    credential_source: str
    #: whose namespace the workshop helpers use (`helpers.workshop`)
    learner: str
    #: the emulator or replay stub this process started itself, on a free loopback port
    in_process: bool = False
    #: replay only: the backend the recording was made on (the cassette's `upstream`, e.g.
    #: "emulator"), so saved notebook outputs say where their answers came from
    recorded_on: str | None = None

    def describe(self) -> str:
        # An in-process server's port is new in every kernel and means nothing to a reader.
        where = f"in-process {self.backend} on 127.0.0.1" if self.in_process else self.endpoint
        return (
            f"backend={self.backend_label()} region={self.region} endpoint={where} "
            f"credentials={self.credential_source} learner={self.learner}"
        )

    def backend_label(self) -> str:
        """The backend's name; for replay with where its recording was made: `replay (recorded on the emulator)`."""
        where = {"emulator": "the emulator", "cloud": "Alibaba Cloud"}.get(self.recorded_on or "")
        return f"replay (recorded on {where})" if self.backend == "replay" and where else self.backend
