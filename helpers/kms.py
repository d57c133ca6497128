"""The facade the notebooks call: one method per KMS action, names and parameters the API's in
snake_case, each building its classic-SDK request with the SDK's own typed setters.

Every method makes exactly one SDK call (plus retries for idempotent calls, see `retry.py`), and its
docstring ends with the action's API page, so Shift-Tab in a notebook shows where to read more.
Values are encoded by `encoding.py`; results are the small types of `results.py`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aliyunsdkkms.request.v20160120.AsymmetricDecryptRequest import AsymmetricDecryptRequest
from aliyunsdkkms.request.v20160120.AsymmetricEncryptRequest import AsymmetricEncryptRequest
from aliyunsdkkms.request.v20160120.AsymmetricSignRequest import AsymmetricSignRequest
from aliyunsdkkms.request.v20160120.AsymmetricVerifyRequest import AsymmetricVerifyRequest
from aliyunsdkkms.request.v20160120.CancelKeyDeletionRequest import CancelKeyDeletionRequest
from aliyunsdkkms.request.v20160120.CreateAliasRequest import CreateAliasRequest
from aliyunsdkkms.request.v20160120.CreateKeyRequest import CreateKeyRequest
from aliyunsdkkms.request.v20160120.CreateKeyVersionRequest import CreateKeyVersionRequest
from aliyunsdkkms.request.v20160120.CreateSecretRequest import CreateSecretRequest
from aliyunsdkkms.request.v20160120.DecryptRequest import DecryptRequest
from aliyunsdkkms.request.v20160120.DeleteAliasRequest import DeleteAliasRequest
from aliyunsdkkms.request.v20160120.DeleteSecretRequest import DeleteSecretRequest
from aliyunsdkkms.request.v20160120.DescribeKeyRequest import DescribeKeyRequest
from aliyunsdkkms.request.v20160120.DescribeKeyVersionRequest import DescribeKeyVersionRequest
from aliyunsdkkms.request.v20160120.DescribeRegionsRequest import DescribeRegionsRequest
from aliyunsdkkms.request.v20160120.DescribeSecretRequest import DescribeSecretRequest
from aliyunsdkkms.request.v20160120.DisableKeyRequest import DisableKeyRequest
from aliyunsdkkms.request.v20160120.EnableKeyRequest import EnableKeyRequest
from aliyunsdkkms.request.v20160120.EncryptRequest import EncryptRequest
from aliyunsdkkms.request.v20160120.GenerateDataKeyRequest import GenerateDataKeyRequest
from aliyunsdkkms.request.v20160120.GenerateDataKeyWithoutPlaintextRequest import (
    GenerateDataKeyWithoutPlaintextRequest,
)
from aliyunsdkkms.request.v20160120.GetPublicKeyRequest import GetPublicKeyRequest
from aliyunsdkkms.request.v20160120.GetRandomPasswordRequest import GetRandomPasswordRequest
from aliyunsdkkms.request.v20160120.GetSecretValueRequest import GetSecretValueRequest
from aliyunsdkkms.request.v20160120.ListAliasesByKeyIdRequest import ListAliasesByKeyIdRequest
from aliyunsdkkms.request.v20160120.ListAliasesRequest import ListAliasesRequest
from aliyunsdkkms.request.v20160120.ListKeysRequest import ListKeysRequest
from aliyunsdkkms.request.v20160120.ListKeyVersionsRequest import ListKeyVersionsRequest
from aliyunsdkkms.request.v20160120.ListResourceTagsRequest import ListResourceTagsRequest
from aliyunsdkkms.request.v20160120.ListSecretsRequest import ListSecretsRequest
from aliyunsdkkms.request.v20160120.ListSecretVersionIdsRequest import ListSecretVersionIdsRequest
from aliyunsdkkms.request.v20160120.PutSecretValueRequest import PutSecretValueRequest
from aliyunsdkkms.request.v20160120.ReEncryptRequest import ReEncryptRequest
from aliyunsdkkms.request.v20160120.RestoreSecretRequest import RestoreSecretRequest
from aliyunsdkkms.request.v20160120.ScheduleKeyDeletionRequest import ScheduleKeyDeletionRequest
from aliyunsdkkms.request.v20160120.TagResourceRequest import TagResourceRequest
from aliyunsdkkms.request.v20160120.UntagResourceRequest import UntagResourceRequest
from aliyunsdkkms.request.v20160120.UpdateAliasRequest import UpdateAliasRequest
from aliyunsdkkms.request.v20160120.UpdateKeyDescriptionRequest import UpdateKeyDescriptionRequest
from aliyunsdkkms.request.v20160120.UpdateRotationPolicyRequest import UpdateRotationPolicyRequest
from aliyunsdkkms.request.v20160120.UpdateSecretRequest import UpdateSecretRequest
from aliyunsdkkms.request.v20160120.UpdateSecretVersionStageRequest import UpdateSecretVersionStageRequest

from .encoding import decode_binary, encode_context, encode_plaintext, encode_tags
from .results import KeyVersion, PublicKey, Signature
from .results import (Connection, DataKey, DecryptResult, EncryptResult, KeyMetadata, Page, SecretMetadata,
                      SecretValue, SecretVersion)

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


def _one_target(key_id: str | None, secret_name: str | None) -> str | None:
    """TagResource/UntagResource tag exactly one resource: a key or a secret."""
    if (key_id is None) == (secret_name is None):
        raise TypeError("pass exactly one of key_id and secret_name")
    return secret_name


def _b64(name: str, data: bytes) -> str:
    """Raw bytes for the asymmetric actions' Base64 parameters (the server decodes these)."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"{name} must be bytes, not {type(data).__name__}")
    return base64.b64encode(bytes(data)).decode("ascii")


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
    def credential_provider(self) -> Any:
        """The credentials provider this client signs with (alibabacloud-credentials), so a script's
        own client can be given the same credentials (`helpers.client.script_settings`)."""
        return self._transport.signer.inner.provider

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
        key_usage: str | None = None,
        protection_level: str | None = None,
        tags: Mapping[str, str] | None = None,
        dkms_instance_id: str | None = None,
        enable_automatic_rotation: bool | None = None,
        rotation_interval: str | None = None,
    ) -> KeyMetadata:
        """CreateKey: a new customer master key. Never retried (it is not idempotent).

        `key_spec`: `Aliyun_AES_256` (default), `Aliyun_SM4`, `RSA_2048`, `RSA_3072`, `EC_P256`,
        `EC_P256K`, `EC_SM2`. `key_usage` defaults to `ENCRYPT/DECRYPT` for symmetric specs
        (`Aliyun_...`) and `SIGN/VERIFY` for the others; RSA keys may also `ENCRYPT/DECRYPT`.
        `rotation_interval` is `<int>[dhms]` (`"30d"`), for symmetric keys with
        `enable_automatic_rotation=True`. `dkms_instance_id` (`kst-…`) creates the key in that
        KMS instance, which accounts opened since 2022-03-31 need for custom keys (docs/cloud.md).
        """
        request = CreateKeyRequest()
        request.set_Description(description)
        request.set_KeySpec(key_spec)
        request.set_KeyUsage(key_usage or ("ENCRYPT/DECRYPT" if key_spec.startswith("Aliyun_") else "SIGN/VERIFY"))
        _set(request.set_EnableAutomaticRotation, None if enable_automatic_rotation is None
             else ("true" if enable_automatic_rotation else "false"))  # fmt: skip
        _set(request.set_RotationInterval, rotation_interval)
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

    # Asymmetric keys ----------------------------------------------------------------------
    @api("getpublickey")
    def get_public_key(self, key_id: str, key_version_id: str) -> PublicKey:
        """GetPublicKey: the PEM public key of one version of an asymmetric key (the private key never leaves KMS)."""
        request = GetPublicKeyRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(key_version_id)
        body = self._send(request)
        return PublicKey(body["KeyId"], body["KeyVersionId"], body["PublicKey"], body.get("RequestId", ""))

    @api("asymmetricsign")
    def asymmetric_sign(self, key_id: str, key_version_id: str, algorithm: str, digest: bytes) -> Signature:
        """AsymmetricSign: sign a digest you computed (32 raw bytes, e.g. `hashlib.sha256(data).digest()`);
        sent Base64-encoded. Algorithms: `RSA_PSS_SHA_256`, `RSA_PKCS1_SHA_256`, `ECDSA_SHA_256`."""
        request = AsymmetricSignRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(key_version_id)
        request.set_Algorithm(algorithm)
        request.set_Digest(_b64("digest", digest))
        body = self._send(request)
        return Signature(body["KeyId"], body["KeyVersionId"], decode_binary(body["Value"]), body.get("RequestId", ""))

    @api("asymmetricverify")
    def asymmetric_verify(self, key_id: str, key_version_id: str, algorithm: str, digest: bytes,
                          value: bytes) -> bool:  # fmt: skip
        """AsymmetricVerify: whether `value` (raw signature bytes) signs `digest` (raw bytes)."""
        request = AsymmetricVerifyRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(key_version_id)
        request.set_Algorithm(algorithm)
        request.set_Digest(_b64("digest", digest))
        request.set_Value(_b64("value", value))
        return self._send(request)["Value"] is True

    @api("asymmetricencrypt")
    def asymmetric_encrypt(self, key_id: str, key_version_id: str, algorithm: str, plaintext: bytes) -> EncryptResult:
        """AsymmetricEncrypt: RSA-OAEP (`RSAES_OAEP_SHA_256` or `RSAES_OAEP_SHA_1`) of a few raw bytes
        (at most 190/214 for RSA_2048); the same as encrypting locally with the public key."""
        request = AsymmetricEncryptRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(key_version_id)
        request.set_Algorithm(algorithm)
        request.set_Plaintext(_b64("plaintext", plaintext))
        return EncryptResult.from_wire(self._send(request))

    @api("asymmetricdecrypt")
    def asymmetric_decrypt(self, key_id: str, key_version_id: str, algorithm: str,
                           ciphertext_blob: str) -> DecryptResult:  # fmt: skip
        """AsymmetricDecrypt: the raw bytes (`plaintext`) of a Base64 RSA-OAEP ciphertext."""
        if not isinstance(ciphertext_blob, str):
            raise TypeError(f"ciphertext_blob must be Base64 str, not {type(ciphertext_blob).__name__}")
        request = AsymmetricDecryptRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(key_version_id)
        request.set_Algorithm(algorithm)
        request.set_CiphertextBlob(ciphertext_blob)
        body = self._send(request)
        return DecryptResult(body["KeyId"], body["KeyVersionId"], decode_binary(body["Plaintext"]),
                             body.get("RequestId", ""))  # fmt: skip

    # Key versions and rotation ------------------------------------------------------------
    @api("createkeyversion")
    def create_key_version(self, key_id: str) -> KeyVersion:
        """CreateKeyVersion: a new version now; for a symmetric key it becomes the primary one
        (Encrypt uses it, older versions still decrypt). Never retried (not idempotent)."""
        request = CreateKeyVersionRequest()
        request.set_KeyId(key_id)
        return KeyVersion.from_wire(self._send(request)["KeyVersion"])

    @api("listkeyversions")
    def list_key_versions(self, key_id: str, page_number: int = 1, page_size: int = 10) -> Page:
        """ListKeyVersions: one page of `{"KeyId", "KeyVersionId", "CreationDate"}` items, oldest first."""
        request = ListKeyVersionsRequest()
        request.set_KeyId(key_id)
        request.set_PageNumber(page_number)
        request.set_PageSize(page_size)
        return Page.from_wire(self._send(request), "KeyVersions", "KeyVersion")

    @api("describekeyversion")
    def describe_key_version(self, key_id: str, key_version_id: str) -> KeyVersion:
        """DescribeKeyVersion: one version's id and creation date."""
        request = DescribeKeyVersionRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(key_version_id)
        return KeyVersion.from_wire(self._send(request)["KeyVersion"])

    @api("updaterotationpolicy")
    def update_rotation_policy(self, key_id: str, enable_automatic_rotation: bool,
                               rotation_interval: str | None = None) -> None:  # fmt: skip
        """UpdateRotationPolicy: automatic rotation on (every `rotation_interval`, `<int>[dhms]`,
        7-730 days) or off, for a symmetric key."""
        request = UpdateRotationPolicyRequest()
        request.set_KeyId(key_id)
        request.set_EnableAutomaticRotation("true" if enable_automatic_rotation else "false")
        _set(request.set_RotationInterval, rotation_interval)
        self._send(request)

    # Tags and regions ---------------------------------------------------------------------
    @api("tagresource")
    def tag_resource(self, key_id: str | None, tags: Mapping[str, str], *, secret_name: str | None = None) -> None:
        """TagResource: add or change tags on a key, or on a secret (`key_id=None, secret_name=...`)."""
        request = TagResourceRequest()
        _set(request.set_KeyId, key_id)
        _set(request.set_SecretName, _one_target(key_id, secret_name))
        request.set_Tags(encode_tags(tags))
        self._send(request)

    @api("untagresource")
    def untag_resource(self, key_id: str | None, tag_keys: list[str], *, secret_name: str | None = None) -> None:
        """UntagResource: remove tags from a key (or a secret, `secret_name=`) by their keys."""
        request = UntagResourceRequest()
        _set(request.set_KeyId, key_id)
        _set(request.set_SecretName, _one_target(key_id, secret_name))
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

    # Secrets ------------------------------------------------------------------------------
    @api("createsecret")
    def create_secret(
        self,
        secret_name: str,
        secret_data: str,
        version_id: str = "v1",
        secret_data_type: str = "text",
        encryption_key_id: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> SecretMetadata:
        """CreateSecret: a Generic secret whose first version (`version_id`) is labelled ACSCurrent.

        `secret_data` is stored as given (text; `binary` secrets are Base64 text by convention). It
        is encrypted under `encryption_key_id`, or under KMS's default key for secrets if omitted.
        Never retried (it is not idempotent).
        """
        if not isinstance(secret_data, str):
            raise TypeError(f"secret_data must be str (Base64 text for binary secrets), not {type(secret_data).__name__}")
        request = CreateSecretRequest()
        request.set_SecretName(secret_name)
        request.set_SecretData(secret_data)
        request.set_VersionId(version_id)
        request.set_SecretDataType(secret_data_type)
        _set(request.set_EncryptionKeyId, encryption_key_id)
        _set(request.set_Description, description)
        _set(request.set_Tags, None if tags is None else encode_tags(tags))
        return SecretMetadata.from_wire(self._send(request))

    @api("getsecretvalue")
    def get_secret_value(
        self, secret_name: str, version_stage: str | None = None, version_id: str | None = None
    ) -> SecretValue:
        """GetSecretValue: one version's value, ACSCurrent unless a stage or version id is given."""
        request = GetSecretValueRequest()
        request.set_SecretName(secret_name)
        _set(request.set_VersionStage, version_stage)
        _set(request.set_VersionId, version_id)
        return SecretValue.from_wire(self._send(request))

    @api("putsecretvalue")
    def put_secret_value(
        self,
        secret_name: str,
        secret_data: str,
        version_id: str,
        secret_data_type: str = "text",
        version_stages: list[str] | None = None,
    ) -> SecretVersion:
        """PutSecretValue: a new version, ACSCurrent by default (the former one becomes ACSPrevious).

        Putting the same `version_id` with the same data again changes nothing, so it is safe to retry.
        """
        if not isinstance(secret_data, str):
            raise TypeError(f"secret_data must be str, not {type(secret_data).__name__}")
        request = PutSecretValueRequest()
        request.set_SecretName(secret_name)
        request.set_SecretData(secret_data)
        request.set_VersionId(version_id)
        request.set_SecretDataType(secret_data_type)
        _set(request.set_VersionStages, None if version_stages is None else json.dumps(list(version_stages)))
        return SecretVersion.from_wire(self._send(request))

    @api("describesecret")
    def describe_secret(self, secret_name: str, fetch_tags: bool = False) -> SecretMetadata:
        """DescribeSecret: a secret's metadata (never its value), with its tags if `fetch_tags`."""
        request = DescribeSecretRequest()
        request.set_SecretName(secret_name)
        request.set_FetchTags("true" if fetch_tags else "false")
        return SecretMetadata.from_wire(self._send(request))

    @api("listsecrets")
    def list_secrets(
        self, page_number: int = 1, page_size: int = 10, fetch_tags: bool = False,
        filters: list[dict[str, Any]] | None = None,
    ) -> Page:
        """ListSecrets: one page of secret summaries (`{"SecretName", "SecretType", ...}`)."""
        request = ListSecretsRequest()
        request.set_PageNumber(page_number)
        request.set_PageSize(page_size)
        request.set_FetchTags("true" if fetch_tags else "false")
        _set(request.set_Filters, None if filters is None else json.dumps(filters))
        return Page.from_wire(self._send(request), "SecretList", "Secret")

    def iter_secrets(self, page_size: int = 100, fetch_tags: bool = False) -> Iterator[SecretMetadata]:
        """Every secret of the account and region, page after page (ListSecrets)."""
        for item in Page.every(lambda n: self.list_secrets(n, page_size, fetch_tags)):
            yield SecretMetadata.from_wire(item)

    @api("listsecretversionids")
    def list_secret_version_ids(
        self, secret_name: str, include_deprecated: bool = False, page_number: int = 1, page_size: int = 20
    ) -> list[SecretVersion]:
        """ListSecretVersionIds: one page of a secret's versions, oldest first; versions without a
        stage label only with `include_deprecated`."""
        request = ListSecretVersionIdsRequest()
        request.set_SecretName(secret_name)
        request.set_IncludeDeprecated("true" if include_deprecated else "false")
        request.set_PageNumber(page_number)
        request.set_PageSize(page_size)
        page = Page.from_wire(self._send(request), "VersionIds", "VersionId")
        return [SecretVersion.from_wire(item) for item in page.items]

    @api("updatesecret")
    def update_secret(self, secret_name: str, description: str) -> None:
        """UpdateSecret: replace a secret's description."""
        request = UpdateSecretRequest()
        request.set_SecretName(secret_name)
        request.set_Description(description)
        self._send(request)

    @api("updatesecretversionstage")
    def update_secret_version_stage(
        self, secret_name: str, version_stage: str, move_to_version: str | None = None,
        remove_from_version: str | None = None,
    ) -> None:
        """UpdateSecretVersionStage: move a stage label to `move_to_version` (moving ACSCurrent makes
        the old current ACSPrevious), or remove a custom label from `remove_from_version`."""
        request = UpdateSecretVersionStageRequest()
        request.set_SecretName(secret_name)
        request.set_VersionStage(version_stage)
        _set(request.set_MoveToVersion, move_to_version)
        _set(request.set_RemoveFromVersion, remove_from_version)
        self._send(request)

    @api("deletesecret")
    def delete_secret(
        self, secret_name: str, recovery_window_in_days: int | None = None, force_delete_without_recovery: bool = False
    ) -> str:
        """DeleteSecret: schedule the deletion (7-30 days, default 30; restore_secret() undoes it),
        or delete at once with `force_delete_without_recovery`. Returns PlannedDeleteTime."""
        request = DeleteSecretRequest()
        request.set_SecretName(secret_name)
        _set(request.set_RecoveryWindowInDays, recovery_window_in_days)
        if force_delete_without_recovery:
            request.set_ForceDeleteWithoutRecovery("true")
        return str(self._send(request).get("PlannedDeleteTime", ""))

    @api("restoresecret")
    def restore_secret(self, secret_name: str) -> None:
        """RestoreSecret: a secret scheduled for deletion is back, with all its versions."""
        request = RestoreSecretRequest()
        request.set_SecretName(secret_name)
        self._send(request)

    @api("getrandompassword")
    def get_random_password(
        self,
        password_length: int = 32,
        exclude_characters: str | None = None,
        exclude_lowercase: bool = False,
        exclude_uppercase: bool = False,
        exclude_numbers: bool = False,
        exclude_punctuation: bool = False,
        require_each_included_type: bool = True,
    ) -> str:
        """GetRandomPassword: a random password made by KMS (for a new secret's value)."""
        request = GetRandomPasswordRequest()
        request.set_PasswordLength(str(password_length))
        _set(request.set_ExcludeCharacters, exclude_characters)
        request.set_ExcludeLowercase(str(exclude_lowercase).lower())
        request.set_ExcludeUppercase(str(exclude_uppercase).lower())
        request.set_ExcludeNumbers(str(exclude_numbers).lower())
        request.set_ExcludePunctuation(str(exclude_punctuation).lower())
        request.set_RequireEachIncludedType(str(require_each_included_type).lower())
        return str(self._send(request)["RandomPassword"])
