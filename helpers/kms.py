"""The facade the notebooks call: one method per KMS action, names and parameters the API's in
snake_case, each building its classic-SDK request with the SDK's own typed setters.

Every method makes exactly one SDK call (plus retries for idempotent calls, see `retry.py`), and its
docstring ends with the action's API page, so Shift-Tab in a notebook shows where to read more.
Values are encoded by `encoding.py`; results are the small types of `results.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aliyunsdkkms.request.v20160120.CancelKeyDeletionRequest import CancelKeyDeletionRequest
from aliyunsdkkms.request.v20160120.CreateAliasRequest import CreateAliasRequest
from aliyunsdkkms.request.v20160120.CreateKeyRequest import CreateKeyRequest
from aliyunsdkkms.request.v20160120.DecryptRequest import DecryptRequest
from aliyunsdkkms.request.v20160120.DeleteAliasRequest import DeleteAliasRequest
from aliyunsdkkms.request.v20160120.DescribeKeyRequest import DescribeKeyRequest
from aliyunsdkkms.request.v20160120.DescribeRegionsRequest import DescribeRegionsRequest
from aliyunsdkkms.request.v20160120.DisableKeyRequest import DisableKeyRequest
from aliyunsdkkms.request.v20160120.EnableKeyRequest import EnableKeyRequest
from aliyunsdkkms.request.v20160120.EncryptRequest import EncryptRequest
from aliyunsdkkms.request.v20160120.GenerateDataKeyRequest import GenerateDataKeyRequest
from aliyunsdkkms.request.v20160120.GenerateDataKeyWithoutPlaintextRequest import (
    GenerateDataKeyWithoutPlaintextRequest,
)
from aliyunsdkkms.request.v20160120.ListAliasesByKeyIdRequest import ListAliasesByKeyIdRequest
from aliyunsdkkms.request.v20160120.ListAliasesRequest import ListAliasesRequest
from aliyunsdkkms.request.v20160120.ListKeysRequest import ListKeysRequest
from aliyunsdkkms.request.v20160120.ListResourceTagsRequest import ListResourceTagsRequest
from aliyunsdkkms.request.v20160120.ReEncryptRequest import ReEncryptRequest
from aliyunsdkkms.request.v20160120.ScheduleKeyDeletionRequest import ScheduleKeyDeletionRequest
from aliyunsdkkms.request.v20160120.TagResourceRequest import TagResourceRequest
from aliyunsdkkms.request.v20160120.UntagResourceRequest import UntagResourceRequest
from aliyunsdkkms.request.v20160120.UpdateAliasRequest import UpdateAliasRequest
from aliyunsdkkms.request.v20160120.UpdateKeyDescriptionRequest import UpdateKeyDescriptionRequest

from .encoding import decode_binary, encode_context, encode_plaintext, encode_tags
from .results import Connection, DataKey, DecryptResult, EncryptResult, KeyMetadata, Page

if TYPE_CHECKING:
    from .retry import Attempt
    from .transport import Transport

F = TypeVar("F", bound=Callable[..., Any])
API = "https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-"


def api(page: str) -> Callable[[F], F]:
    """Append the action's API page to a method's docstring: Shift-Tab in a notebook shows it."""

    def mark(method: F) -> F:
        method.__doc__ = f"{(method.__doc__ or '').rstrip()}\n\n        API reference: {API}{page}\n"
        return method

    return mark


def _set(setter: Callable[[Any], None], value: Any) -> None:
    """Call a request's setter only with a value: the SDK str()s everything, so None would go out
    as the text "None"."""
    if value is not None:
        setter(value)


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

    def _send(self, request: Any) -> dict[str, Any]:
        return self._transport.call(request)

    # Keys ---------------------------------------------------------------------------------
    @api("createkey")
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
        request = CreateKeyRequest()
        request.set_Description(description)
        request.set_KeySpec(key_spec)
        request.set_KeyUsage(key_usage)
        _set(request.set_ProtectionLevel, protection_level)
        _set(request.set_Tags, None if tags is None else encode_tags(tags))
        _set(request.set_DKMSInstanceId, dkms_instance_id)
        return KeyMetadata.from_wire(self._send(request)["KeyMetadata"])

    @api("describekey")
    def describe_key(self, key_id: str) -> KeyMetadata:
        """DescribeKey: metadata of a key, by id, alias or ARN."""
        request = DescribeKeyRequest()
        request.set_KeyId(key_id)
        return KeyMetadata.from_wire(self._send(request)["KeyMetadata"])

    @api("listkeys")
    def list_keys(
        self, page_number: int = 1, page_size: int = 10, filters: list[dict[str, Any]] | None = None
    ) -> Page:
        """ListKeys: one page of `{"KeyId", "KeyArn"}` items."""
        request = ListKeysRequest()
        request.set_PageNumber(page_number)
        request.set_PageSize(page_size)
        _set(request.set_Filters, None if filters is None else json.dumps(filters))
        return Page.from_wire(self._send(request), "Keys", "Key")

    def iter_keys(self, page_size: int = 100) -> Iterator[dict[str, str]]:
        """Every key of the account and region, page after page (ListKeys)."""
        return Page.every(lambda n: self.list_keys(n, page_size))

    @api("updatekeydescription")
    def update_key_description(self, key_id: str, description: str) -> None:
        """UpdateKeyDescription: replace a key's description."""
        request = UpdateKeyDescriptionRequest()
        request.set_KeyId(key_id)
        request.set_Description(description)
        self._send(request)

    @api("enablekey")
    def enable_key(self, key_id: str) -> None:
        """EnableKey: a disabled key works again."""
        request = EnableKeyRequest()
        request.set_KeyId(key_id)
        self._send(request)

    @api("disablekey")
    def disable_key(self, key_id: str) -> None:
        """DisableKey: the key stays, but Encrypt and Decrypt are refused until it is enabled.
"""
        request = DisableKeyRequest()
        request.set_KeyId(key_id)
        self._send(request)

    @api("schedulekeydeletion")
    def schedule_key_deletion(self, key_id: str, pending_window_in_days: int = 7) -> None:
        """ScheduleKeyDeletion: PendingDeletion for 7-366 days, then the key is gone for good.
"""
        request = ScheduleKeyDeletionRequest()
        request.set_KeyId(key_id)
        request.set_PendingWindowInDays(pending_window_in_days)
        self._send(request)

    @api("cancelkeydeletion")
    def cancel_key_deletion(self, key_id: str) -> None:
        """CancelKeyDeletion: a key pending deletion is back (Enabled)."""
        request = CancelKeyDeletionRequest()
        request.set_KeyId(key_id)
        self._send(request)

    # Aliases ------------------------------------------------------------------------------
    @api("createalias")
    def create_alias(self, alias_name: str, key_id: str) -> None:
        """CreateAlias: `alias/...` → key id."""
        request = CreateAliasRequest()
        request.set_AliasName(alias_name)
        request.set_KeyId(key_id)
        self._send(request)

    @api("updatealias")
    def update_alias(self, alias_name: str, key_id: str) -> None:
        """UpdateAlias: point an existing alias at another key (rotation without code changes).
"""
        request = UpdateAliasRequest()
        request.set_AliasName(alias_name)
        request.set_KeyId(key_id)
        self._send(request)

    @api("deletealias")
    def delete_alias(self, alias_name: str) -> None:
        """DeleteAlias: the key is untouched."""
        request = DeleteAliasRequest()
        request.set_AliasName(alias_name)
        self._send(request)

    @api("listaliases")
    def list_aliases(self, page_number: int = 1, page_size: int = 10) -> Page:
        """ListAliases: one page of `{"AliasName", "AliasArn", "KeyId"}` items."""
        request = ListAliasesRequest()
        request.set_PageNumber(page_number)
        request.set_PageSize(page_size)
        return Page.from_wire(self._send(request), "Aliases", "Alias")

    @api("listaliasesbykeyid")
    def list_aliases_by_key_id(self, key_id: str, page_number: int = 1, page_size: int = 10) -> Page:
        """ListAliasesByKeyId: one page of a key's aliases."""
        request = ListAliasesByKeyIdRequest()
        request.set_KeyId(key_id)
        request.set_PageNumber(page_number)
        request.set_PageSize(page_size)
        return Page.from_wire(self._send(request), "Aliases", "Alias")

    def iter_aliases(self, page_size: int = 100) -> Iterator[dict[str, str]]:
        """Every alias of the account and region, page after page (ListAliases)."""
        return Page.every(lambda n: self.list_aliases(n, page_size))

    # Cryptography -------------------------------------------------------------------------
    @api("encrypt")
    def encrypt(
        self, key_id: str, plaintext: str | bytes, encryption_context: Mapping[str, str] | None = None
    ) -> EncryptResult:
        """Encrypt at most 6144 bytes. Text goes as is; bytes go Base64-encoded.

        Raises:
            PlaintextTooLargeError: before any network call, if the plaintext is too large.
        """
        request = EncryptRequest()
        request.set_KeyId(key_id)
        request.set_Plaintext(encode_plaintext(plaintext))
        _set(request.set_EncryptionContext, encode_context(encryption_context))
        return EncryptResult.from_wire(self._send(request))

    @api("decrypt")
    def decrypt(
        self,
        ciphertext_blob: str,
        encryption_context: Mapping[str, str] | None = None,
        *,
        binary: bool = False,
    ) -> DecryptResult:
        """Decrypt; pass `binary=True` when bytes were encrypted, to get the bytes back.
"""
        if not isinstance(ciphertext_blob, str):
            raise TypeError(f"ciphertext_blob must be the Base64 str from Encrypt, not {type(ciphertext_blob).__name__}")
        request = DecryptRequest()
        request.set_CiphertextBlob(ciphertext_blob)
        _set(request.set_EncryptionContext, encode_context(encryption_context))
        body = self._send(request)
        plaintext: str | bytes = decode_binary(body["Plaintext"]) if binary else body["Plaintext"]
        return DecryptResult(body["KeyId"], body["KeyVersionId"], plaintext, body.get("RequestId", ""))

    @api("generatedatakey")
    def generate_data_key(
        self,
        key_id: str,
        key_spec: str | None = "AES_256",
        number_of_bytes: int | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> DataKey:
        """GenerateDataKey: a fresh data key, in the clear and encrypted under `key_id`.

        `Decrypt(ciphertext_blob, binary=True)` gives the same key bytes back: the blob decrypts to
        the key's Base64 text.
        """
        request = GenerateDataKeyRequest()
        request.set_KeyId(key_id)
        _set(request.set_KeySpec, key_spec)
        _set(request.set_NumberOfBytes, number_of_bytes)
        _set(request.set_EncryptionContext, encode_context(encryption_context))
        body = self._send(request)
        return DataKey(body["KeyId"], body["KeyVersionId"], body["CiphertextBlob"],
                       decode_binary(body["Plaintext"]), body.get("RequestId", ""))

    @api("generatedatakeywithoutplaintext")
    def generate_data_key_without_plaintext(
        self, key_id: str, key_spec: str | None = "AES_256", number_of_bytes: int | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> EncryptResult:
        """GenerateDataKeyWithoutPlaintext: only the encrypted data key, for later use.
"""
        request = GenerateDataKeyWithoutPlaintextRequest()
        request.set_KeyId(key_id)
        _set(request.set_KeySpec, key_spec)
        _set(request.set_NumberOfBytes, number_of_bytes)
        _set(request.set_EncryptionContext, encode_context(encryption_context))
        return EncryptResult.from_wire(self._send(request))

    @api("reencrypt")
    def re_encrypt(
        self, ciphertext_blob: str, destination_key_id: str,
        source_encryption_context: Mapping[str, str] | None = None,
        destination_encryption_context: Mapping[str, str] | None = None,
    ) -> EncryptResult:
        """ReEncrypt: move a ciphertext to another key without the plaintext leaving KMS.
"""
        request = ReEncryptRequest()
        request.set_CiphertextBlob(ciphertext_blob)
        request.set_DestinationKeyId(destination_key_id)
        _set(request.set_SourceEncryptionContext, encode_context(source_encryption_context))
        _set(request.set_DestinationEncryptionContext, encode_context(destination_encryption_context))
        return EncryptResult.from_wire(self._send(request))

    # Tags and regions ---------------------------------------------------------------------
    @api("tagresource")
    def tag_resource(self, key_id: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or change tags on a key."""
        request = TagResourceRequest()
        request.set_KeyId(key_id)
        request.set_Tags(encode_tags(tags))
        self._send(request)

    @api("untagresource")
    def untag_resource(self, key_id: str, tag_keys: list[str]) -> None:
        """UntagResource: remove tags from a key by their keys."""
        request = UntagResourceRequest()
        request.set_KeyId(key_id)
        request.set_TagKeys(json.dumps(list(tag_keys)))
        self._send(request)

    @api("listresourcetags")
    def list_resource_tags(self, key_id: str) -> dict[str, str]:
        """ListResourceTags, as a dict of tag key to value."""
        request = ListResourceTagsRequest()
        request.set_KeyId(key_id)
        tags = self._send(request).get("Tags", {}).get("Tag", [])
        return {t["TagKey"]: t["TagValue"] for t in tags}

    @api("describeregions")
    def describe_regions(self) -> list[str]:
        """DescribeRegions: the region ids where KMS is available."""
        return [r["RegionId"] for r in self._send(DescribeRegionsRequest())["Regions"]["Region"]]
