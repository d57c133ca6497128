"""One method per KMS action the workshop uses; names and parameters are the API's in snake_case.

API reference: https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-overview
Each method makes exactly one SDK call (plus retries for idempotent calls, see `retry.py`).
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .context import encode_context as encode_context
from .errors import PlaintextTooLargeError
from .results import Connection, DataKey, DecryptResult, EncryptResult, KeyMetadata, Page

if TYPE_CHECKING:
    from .retry import Attempt
    from .transport import Transport

#: Encrypt takes at most 6 KB of plaintext, counted here as UTF-8 bytes of what is sent [I].
MAX_PLAINTEXT_BYTES = 6144


def encode_plaintext(plaintext: str | bytes) -> str:
    """Text is sent as is (Decrypt returns the same string); bytes are sent as Base64 text."""
    if isinstance(plaintext, bytes | bytearray):
        text = base64.b64encode(bytes(plaintext)).decode("ascii")
    elif isinstance(plaintext, str):
        text = plaintext
    else:
        raise TypeError(f"plaintext must be str or bytes, not {type(plaintext).__name__}")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError("plaintext text is not valid Unicode; pass bytes instead") from exc
    if size > MAX_PLAINTEXT_BYTES:
        raise PlaintextTooLargeError(
            f"Plaintext is {size} bytes as sent; KMS Encrypt takes at most {MAX_PLAINTEXT_BYTES}. "
            "Use envelope encryption for larger data (helpers.envelope / GenerateDataKey)."
        )
    return text


class Kms:
    """A KMS client for one backend and region; create it with `helpers.connect()`."""

    def __init__(self, transport: Transport, connection: Connection) -> None:
        self._transport = transport
        self.connection = connection

    def __repr__(self) -> str:
        return f"<Kms {self.connection.describe()}>"

    def close(self) -> None:
        """Close the SDK's pooled keep-alive connections (also on leaving a `with` block)."""
        self._transport.acs.session.close()

    def __enter__(self) -> Kms:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def sdk_client(self) -> Any:
        """The configured classic-SDK `AcsClient`, for showing a raw SDK request once."""
        return self._transport.acs

    @property
    def retries(self) -> list[Attempt]:
        """Every retry the helpers made on this client, oldest first."""
        return self._transport.history

    @property
    def last_request(self) -> str:
        """The last signed request line, with credentials and data masked."""
        return self._transport.signer.last_url

    @property
    def last_response(self) -> dict[str, Any]:
        return self._transport.last_response

    def _call(self, action: str, **params: Any) -> dict[str, Any]:
        module = importlib.import_module(f"aliyunsdkkms.request.v20160120.{action}Request")
        request = getattr(module, f"{action}Request")()
        for name, value in params.items():
            # Only set what we have: the SDK str()s every value, so None would go out as "None".
            if value is not None:
                getattr(request, f"set_{name}")(value)
        return self._transport.call(request)

    # Keys ---------------------------------------------------------------------------------
    def create_key(
        self,
        description: str = "",
        key_spec: str = "Aliyun_AES_256",
        key_usage: str = "ENCRYPT/DECRYPT",
        protection_level: str | None = None,
        tags: Mapping[str, str] | None = None,
        dkms_instance_id: str | None = None,
    ) -> KeyMetadata:
        """CreateKey: a new customer master key. Never retried (it is not idempotent).

        `dkms_instance_id` (`kst-…`) creates the key in that KMS instance, which accounts opened
        since 2022-03-31 need for custom keys (docs/cloud.md).
        """
        tag_list = None if tags is None else json.dumps(
            [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
        )
        body = self._call(
            "CreateKey", Description=description, KeySpec=key_spec, KeyUsage=key_usage,
            ProtectionLevel=protection_level, Tags=tag_list, DKMSInstanceId=dkms_instance_id,
        )
        return KeyMetadata.from_wire(body["KeyMetadata"])

    def describe_key(self, key_id: str) -> KeyMetadata:
        """DescribeKey: metadata of a key, by id, alias or ARN."""
        return KeyMetadata.from_wire(self._call("DescribeKey", KeyId=key_id)["KeyMetadata"])

    def list_keys(
        self, page_number: int = 1, page_size: int = 10, filters: list[dict[str, Any]] | None = None
    ) -> Page:
        """ListKeys: one page of `{"KeyId", "KeyArn"}` items."""
        body = self._call(
            "ListKeys", PageNumber=page_number, PageSize=page_size,
            Filters=None if filters is None else json.dumps(filters),
        )
        return _page(body, "Keys", "Key")

    def iter_keys(self, page_size: int = 100) -> Iterator[dict[str, str]]:
        """Every key of the account and region, page after page."""
        return _pages(lambda n: self.list_keys(n, page_size))

    def update_key_description(self, key_id: str, description: str) -> None:
        """UpdateKeyDescription."""
        self._call("UpdateKeyDescription", KeyId=key_id, Description=description)

    def enable_key(self, key_id: str) -> None:
        """EnableKey."""
        self._call("EnableKey", KeyId=key_id)

    def disable_key(self, key_id: str) -> None:
        """DisableKey: the key stays, but Encrypt and Decrypt are refused until it is enabled."""
        self._call("DisableKey", KeyId=key_id)

    def schedule_key_deletion(self, key_id: str, pending_window_in_days: int = 7) -> None:
        """ScheduleKeyDeletion: PendingDeletion for 7-366 days, then the key is gone for good."""
        self._call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=pending_window_in_days)

    def cancel_key_deletion(self, key_id: str) -> None:
        """CancelKeyDeletion: back to Enabled."""
        self._call("CancelKeyDeletion", KeyId=key_id)

    # Aliases ------------------------------------------------------------------------------
    def create_alias(self, alias_name: str, key_id: str) -> None:
        """CreateAlias: `alias/...` → key id."""
        self._call("CreateAlias", AliasName=alias_name, KeyId=key_id)

    def update_alias(self, alias_name: str, key_id: str) -> None:
        """UpdateAlias: point an existing alias at another key (rotation without code changes)."""
        self._call("UpdateAlias", AliasName=alias_name, KeyId=key_id)

    def delete_alias(self, alias_name: str) -> None:
        """DeleteAlias: the key is untouched."""
        self._call("DeleteAlias", AliasName=alias_name)

    def list_aliases(self, page_number: int = 1, page_size: int = 10) -> Page:
        """ListAliases: one page of `{"AliasName", "AliasArn", "KeyId"}` items."""
        return _page(self._call("ListAliases", PageNumber=page_number, PageSize=page_size), "Aliases", "Alias")

    def list_aliases_by_key_id(self, key_id: str, page_number: int = 1, page_size: int = 10) -> Page:
        """ListAliasesByKeyId."""
        body = self._call("ListAliasesByKeyId", KeyId=key_id, PageNumber=page_number, PageSize=page_size)
        return _page(body, "Aliases", "Alias")

    def iter_aliases(self, page_size: int = 100) -> Iterator[dict[str, str]]:
        return _pages(lambda n: self.list_aliases(n, page_size))

    # Cryptography -------------------------------------------------------------------------
    def encrypt(
        self, key_id: str, plaintext: str | bytes, encryption_context: Mapping[str, str] | None = None
    ) -> EncryptResult:
        """Encrypt at most 6144 bytes. Text goes as is; bytes go Base64-encoded.

        Raises:
            PlaintextTooLargeError: before any network call, if the plaintext is too large.
        """
        body = self._call(
            "Encrypt", KeyId=key_id, Plaintext=encode_plaintext(plaintext),
            EncryptionContext=encode_context(encryption_context),
        )
        return EncryptResult(body["KeyId"], body["KeyVersionId"], body["CiphertextBlob"], body.get("RequestId", ""))

    def decrypt(
        self,
        ciphertext_blob: str,
        encryption_context: Mapping[str, str] | None = None,
        *,
        binary: bool = False,
    ) -> DecryptResult:
        """Decrypt; pass `binary=True` when bytes were encrypted, to get the bytes back."""
        if not isinstance(ciphertext_blob, str):
            raise TypeError(f"ciphertext_blob must be the Base64 str from Encrypt, not {type(ciphertext_blob).__name__}")
        body = self._call(
            "Decrypt", CiphertextBlob=ciphertext_blob, EncryptionContext=encode_context(encryption_context)
        )
        plaintext: str | bytes = body["Plaintext"]
        if binary:
            plaintext = _b64decode(body["Plaintext"])
        return DecryptResult(body["KeyId"], body["KeyVersionId"], plaintext, body.get("RequestId", ""))

    def generate_data_key(
        self,
        key_id: str,
        key_spec: str | None = "AES_256",
        number_of_bytes: int | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> DataKey:
        """GenerateDataKey: a fresh data key, in the clear and encrypted under `key_id`.

        `Decrypt(ciphertext_blob, binary=True)` gives the same key bytes back.
        """
        body = self._call(
            "GenerateDataKey", KeyId=key_id, KeySpec=key_spec, NumberOfBytes=number_of_bytes,
            EncryptionContext=encode_context(encryption_context),
        )
        return DataKey(body["KeyId"], body["KeyVersionId"], body["CiphertextBlob"],
                       _b64decode(body["Plaintext"]), body.get("RequestId", ""))

    def generate_data_key_without_plaintext(
        self, key_id: str, key_spec: str | None = "AES_256", number_of_bytes: int | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> EncryptResult:
        """GenerateDataKeyWithoutPlaintext: only the encrypted data key, for later use."""
        body = self._call(
            "GenerateDataKeyWithoutPlaintext", KeyId=key_id, KeySpec=key_spec,
            NumberOfBytes=number_of_bytes, EncryptionContext=encode_context(encryption_context),
        )
        return EncryptResult(body["KeyId"], body["KeyVersionId"], body["CiphertextBlob"], body.get("RequestId", ""))

    def re_encrypt(
        self, ciphertext_blob: str, destination_key_id: str,
        source_encryption_context: Mapping[str, str] | None = None,
        destination_encryption_context: Mapping[str, str] | None = None,
    ) -> EncryptResult:
        """ReEncrypt: move a ciphertext to another key without the plaintext leaving KMS."""
        body = self._call(
            "ReEncrypt", CiphertextBlob=ciphertext_blob, DestinationKeyId=destination_key_id,
            SourceEncryptionContext=encode_context(source_encryption_context),
            DestinationEncryptionContext=encode_context(destination_encryption_context),
        )
        return EncryptResult(body["KeyId"], body["KeyVersionId"], body["CiphertextBlob"], body.get("RequestId", ""))

    # Tags and regions ---------------------------------------------------------------------
    def tag_resource(self, key_id: str, tags: Mapping[str, str]) -> None:
        """TagResource."""
        self._call("TagResource", KeyId=key_id,
                   Tags=json.dumps([{"TagKey": k, "TagValue": v} for k, v in tags.items()]))

    def untag_resource(self, key_id: str, tag_keys: list[str]) -> None:
        """UntagResource."""
        self._call("UntagResource", KeyId=key_id, TagKeys=json.dumps(list(tag_keys)))

    def list_resource_tags(self, key_id: str) -> dict[str, str]:
        """ListResourceTags, as a dict."""
        tags = self._call("ListResourceTags", KeyId=key_id).get("Tags", {}).get("Tag", [])
        return {t["TagKey"]: t["TagValue"] for t in tags}

    def describe_regions(self) -> list[str]:
        """DescribeRegions."""
        return [r["RegionId"] for r in self._call("DescribeRegions")["Regions"]["Region"]]


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(
            "The plaintext is not Base64: it was encrypted as text; call decrypt() without binary=True."
        ) from exc


def _page(body: dict[str, Any], outer: str, inner: str) -> Page:
    return Page(
        items=list(body.get(outer, {}).get(inner, [])),
        total_count=int(body.get("TotalCount", 0)),
        page_number=int(body.get("PageNumber", 1)),
        page_size=int(body.get("PageSize", 0)),
    )


def _pages(fetch: Any) -> Iterator[dict[str, str]]:
    number, seen = 1, 0
    while True:
        page = fetch(number)
        yield from page.items
        seen += len(page.items)
        if not page.items or seen >= page.total_count:
            return
        number += 1
