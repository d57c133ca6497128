"""Wire format: one function per KMS action, dispatched through the explicit ``ACTIONS`` table.

Each handler reads its parameters (the API reference, https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-overview), calls the backend and returns the JSON-ready
body without ``RequestId`` (the gateway adds it). Its docstring is the API reference page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from . import crypto, errors, models, params, rotation
from .backend import KmsBackend
from .models import Alias, Key, KeyFilter, Scope

Body = dict[str, object]


@dataclass(frozen=True)
class Call:
    backend: KmsBackend
    scope: Scope
    params: Mapping[str, str]


Handler = Callable[[Call], Body]
_REGIONS = (
    "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-hongkong", "ap-southeast-1",
    "ap-southeast-2", "ap-southeast-3", "ap-southeast-5", "ap-northeast-1", "ap-south-1",
    "eu-central-1", "eu-west-1", "me-east-1", "us-east-1", "us-west-1",
)  # fmt: skip
#: documented KeySpecs the emulator cannot back with `cryptography` (why: asymmetric.py)
_UNSUPPORTED_SPECS = ("EC_SM2",)
_KEY_SPECS = ("Aliyun_AES_256", "Aliyun_AES_128", "Aliyun_AES_192", "Aliyun_SM4", "RSA_2048", "RSA_3072",
              "EC_P256", "EC_P256K")  # fmt: skip


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def _metadata(key: Key, *, describe: bool = False) -> Body:
    """KeyMetadata with empty strings where the service returns them (docs2021 CreateKey sample)."""
    automatic = rotation.status(key)
    body: Body = {
        "KeyId": key.key_id, "Arn": key.arn, "CreationDate": _time(key.creation_date),
        "Creator": key.account_id, "Description": key.description, "KeySpec": key.key_spec,
        "KeyUsage": key.key_usage, "KeyState": key.state, "Origin": key.origin,
        "ProtectionLevel": key.protection_level, "PrimaryKeyVersion": key.primary_version,
        # LastRotationDate: the newest version's creation; the other two "" when rotation is off.
        "LastRotationDate": _time(key.last_rotation), "AutomaticRotation": automatic,
        "RotationInterval": f"{key.rotation_interval}s" if key.rotation_interval is not None else "",
        "NextRotationDate": _time(rotation.next_rotation(key)),
        "DeleteDate": _time(key.delete_date), "MaterialExpireTime": "", "DKMSInstanceId": "",
    }  # fmt: skip
    if describe:
        body |= {"DeletionProtection": "Disabled", "DeletionProtectionDescription": ""}
    return body


def _paged(call: Call, items: list[Body], container: str, item: str) -> Body:
    number, size = params.page(call.params)
    chunk = items[(number - 1) * size : number * size]
    return {"PageNumber": number, "PageSize": size, "TotalCount": len(items), container: {item: chunk}}


def _alias(alias: Alias) -> Body:
    return {"AliasName": alias.alias_name, "AliasArn": alias.arn, "KeyId": alias.key_id}


def _plaintext(call: Call) -> bytes:
    # Plaintext is opaque text: never Base64-decoded; Decrypt returns exactly this string.
    data = params.required(call.params, "Plaintext", max_length=models.MAX_PLAINTEXT_BYTES).encode()
    if len(data) > models.MAX_PLAINTEXT_BYTES:
        raise errors.InvalidParameter.named("Plaintext", "At most 6144 bytes can be encrypted.")
    return data


def _blob(call: Call, name: str = "CiphertextBlob") -> bytes:
    try:
        return crypto.decode_blob(params.required(call.params, name, max_length=65536))
    except crypto.BlobError as exc:
        raise errors.InvalidParameter.named(name) from exc


def _refuse_recipient(call: Call) -> None:
    """Recipient asks KMS to seal the plaintext for a TEE (confidential computing) and return
    CiphertextForRecipient instead of Plaintext. The emulator has no TEE attestation, and ignoring
    the parameter would hand plaintext to a caller who asked that it never be sent in the clear."""
    if params.optional(call.params, "Recipient", max_length=1 << 20):
        # [I] the service's code for a Recipient it cannot serve; UnsupportedOperation is its nearest.
        raise errors.UnsupportedOperation("Recipient (confidential computing) is not supported by the emulator.")


def _dry_run(call: Call) -> None:
    if params.boolean(call.params, "DryRun"):
        raise errors.DryRunOperationError()


def create_key(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-createkey"""
    p = call.params
    spec = params.optional(p, "KeySpec", "Aliyun_AES_256") or "Aliyun_AES_256"
    if spec in _UNSUPPORTED_SPECS:
        # [I] the code for a documented spec the emulator cannot serve
        raise errors.UnsupportedOperation(f"KeySpec {spec} is not supported by the emulator: the cryptography "
                                          "package offers no SM2 signature or encryption.")  # fmt: skip
    spec = params.choice(p, "KeySpec", _KEY_SPECS, spec)
    if spec == "Aliyun_SM4" and not crypto.sm4_available():
        raise errors.UnsupportedOperation("KeySpec Aliyun_SM4 needs SM4-GCM, which this OpenSSL does not offer.")  # [I]
    usage = params.choice(p, "KeyUsage", (models.ENCRYPT_DECRYPT, models.SIGN_VERIFY), models.default_usage(spec))
    models.check_spec_usage(spec, usage)
    origin = params.choice(p, "Origin", ("Aliyun_KMS", "EXTERNAL"), "Aliyun_KMS")
    if origin == "EXTERNAL" and spec not in models.SYMMETRIC_SPECS:
        raise errors.UnsupportedOperation("Imported key material (EXTERNAL) is for symmetric keys only.")  # [I]
    if params.optional(p, "DKMSInstanceId"):
        raise errors.DKMSInstanceNotFound()
    params.optional(p, "Policy", max_length=32768)  # only meaningful for instance keys
    rotate = params.boolean(p, "EnableAutomaticRotation")
    interval = params.duration(p, "RotationInterval", rotation.MIN_INTERVAL, rotation.MAX_INTERVAL)
    if rotate and (spec not in models.SYMMETRIC_SPECS or origin == "EXTERNAL"):
        # [I] only symmetric keys with KMS-made material rotate (tea's DescribeKey; the rotation page)
        raise errors.RejectedUnsupportedOperation("Automatic rotation is for symmetric keys with KMS key material.")
    key = call.backend.create_key(
        call.scope, description=params.optional(p, "Description"), key_spec=spec, key_usage=usage, origin=origin,
        protection_level=params.choice(p, "ProtectionLevel", ("SOFTWARE", "HSM"), "SOFTWARE"),
        rotation_interval=(interval or rotation.DEFAULT_INTERVAL) if rotate else None, tags=params.tags(p),
    )  # fmt: skip
    return {"KeyMetadata": _metadata(key)}


def describe_key(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-describekey"""
    key = call.backend.resolve(call.scope, params.required(call.params, "KeyId"))
    return {"KeyMetadata": _metadata(key, describe=True)}


def list_keys(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listkeys"""
    wanted = []
    for name, values in params.filters(call.params):
        if name not in KeyFilter.FIELDS:
            raise errors.InvalidParameter.named("Filters", f"Unknown filter key {name}.")
        wanted.append(KeyFilter(name, values))
    keys = call.backend.list_keys(call.scope, wanted)
    return _paged(call, [{"KeyId": k.key_id, "KeyArn": k.arn} for k in keys], "Keys", "Key")


def _key_action(call: Call, method: Callable[[Scope, str], None]) -> Body:
    method(call.scope, params.required(call.params, "KeyId"))
    return {}


def update_key_description(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-updatekeydescription"""
    description = params.optional(call.params, "Description")
    call.backend.update_description(call.scope, params.required(call.params, "KeyId"), description)
    return {}


def enable_key(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-enablekey"""
    return _key_action(call, call.backend.enable_key)


def disable_key(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-disablekey"""
    return _key_action(call, call.backend.disable_key)


def schedule_key_deletion(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-schedulekeydeletion"""
    days = params.integer(call.params, "PendingWindowInDays", None, 7, 366)
    call.backend.schedule_key_deletion(call.scope, params.required(call.params, "KeyId"), days)
    return {}


def cancel_key_deletion(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-cancelkeydeletion"""
    return _key_action(call, call.backend.cancel_key_deletion)


def create_alias(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-createalias"""
    name, key_id = params.required(call.params, "AliasName"), params.required(call.params, "KeyId")
    call.backend.create_alias(call.scope, name, key_id)
    return {}


def update_alias(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-updatealias"""
    name, key_id = params.required(call.params, "AliasName"), params.required(call.params, "KeyId")
    call.backend.update_alias(call.scope, name, key_id)
    return {}


def delete_alias(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-deletealias"""
    call.backend.delete_alias(call.scope, params.required(call.params, "AliasName"))
    return {}


def list_aliases(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listaliases"""
    return _paged(call, [_alias(a) for a in call.backend.list_aliases(call.scope)], "Aliases", "Alias")


def list_aliases_by_key_id(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listaliasesbykeyid"""
    aliases = call.backend.list_aliases(call.scope, params.required(call.params, "KeyId"))
    return _paged(call, [_alias(a) for a in aliases], "Aliases", "Alias")


def encrypt(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-encrypt"""
    key_ref, data = params.required(call.params, "KeyId"), _plaintext(call)
    context = params.encryption_context(call.params)
    key, blob = call.backend.encrypt(call.scope, key_ref, data, context)
    _dry_run(call)
    return {"KeyId": key.key_id, "KeyVersionId": key.primary_version, "CiphertextBlob": crypto.encode_blob(blob)}


def decrypt(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-decrypt"""
    _refuse_recipient(call)
    blob, context = _blob(call), params.encryption_context(call.params)
    key, version_id, data = call.backend.decrypt(call.scope, blob, context)
    _dry_run(call)
    # Decrypt returns exactly the string Encrypt was given, which was valid UTF-8 on the way in.
    return {"KeyId": key.key_id, "KeyVersionId": version_id, "Plaintext": data.decode("utf-8")}


def _data_key(call: Call) -> tuple[Body, str]:
    p = call.params
    spec = params.choice(p, "KeySpec", ("AES_256", "AES_128"), "AES_256")
    size = params.integer(p, "NumberOfBytes", 32 if spec == "AES_256" else 16, 1, 1024)
    key_ref, context = params.required(p, "KeyId"), params.encryption_context(p)
    # The blob seals the Base64 *text* of the key, so Decrypt(blob).Plaintext == GDK.Plaintext.
    text = crypto.encode_blob(crypto.random_bytes(size, call.backend.entropy))
    key, blob = call.backend.encrypt(call.scope, key_ref, text.encode(), context)
    _dry_run(call)
    body: Body = {"KeyId": key.key_id, "KeyVersionId": key.primary_version, "CiphertextBlob": crypto.encode_blob(blob)}
    return body, text


def generate_data_key(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-generatedatakey"""
    _refuse_recipient(call)
    body, text = _data_key(call)
    return body | {"Plaintext": text}


def generate_data_key_without_plaintext(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-generatedatakeywithoutplaintext"""
    return _data_key(call)[0]


def re_encrypt(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-reencrypt"""
    p = call.params
    blob, destination = _blob(call), params.required(p, "DestinationKeyId")
    if params.optional(p, "SourceKeyId") or params.optional(p, "SourceKeyVersionId") or params.optional(p, "SourceEncryptionAlgorithm"):
        raise errors.UnsupportedOperation("Asymmetric source ciphertext is not supported by the emulator.")
    _, _, data = call.backend.decrypt(call.scope, blob, params.encryption_context(p, "SourceEncryptionContext"))
    key, sealed = call.backend.encrypt(call.scope, destination, data, params.encryption_context(p, "DestinationEncryptionContext"))
    _dry_run(call)
    return {"KeyId": key.key_id, "KeyVersionId": key.primary_version, "CiphertextBlob": crypto.encode_blob(sealed)}


def _tag_target(call: Call) -> str:
    p = call.params
    if p.get("SecretName") or p.get("CertificateId"):
        raise errors.UnsupportedOperation("Only keys can be tagged in the emulator.")
    return params.required(p, "KeyId")


def tag_resource(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-tagresource"""
    key_id, tags = _tag_target(call), params.tags(call.params)
    if not tags:
        raise errors.MissingParameter("Tags")
    call.backend.tag_resource(call.scope, key_id, tags)
    return {}


def untag_resource(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-untagresource"""
    key_id = _tag_target(call)
    call.backend.untag_resource(call.scope, key_id, params.string_list(call.params, "TagKeys"))
    return {}


def list_resource_tags(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listresourcetags"""
    key = call.backend.resolve(call.scope, params.required(call.params, "KeyId"), allow_alias=False)
    tags = call.backend.list_tags(call.scope, key.key_id)
    return {"Tags": {"Tag": [{"KeyId": key.key_id, "TagKey": k, "TagValue": v} for k, v in tags.items()]}}


def describe_regions(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-describeregions"""
    return {"Regions": {"Region": [{"RegionId": r} for r in _REGIONS]}}


ACTIONS: dict[str, Handler] = {
    "CreateKey": create_key,
    "DescribeKey": describe_key,
    "ListKeys": list_keys,
    "UpdateKeyDescription": update_key_description,
    "EnableKey": enable_key,
    "DisableKey": disable_key,
    "ScheduleKeyDeletion": schedule_key_deletion,
    "CancelKeyDeletion": cancel_key_deletion,
    "CreateAlias": create_alias,
    "UpdateAlias": update_alias,
    "DeleteAlias": delete_alias,
    "ListAliases": list_aliases,
    "ListAliasesByKeyId": list_aliases_by_key_id,
    "Encrypt": encrypt,
    "Decrypt": decrypt,
    "GenerateDataKey": generate_data_key,
    "GenerateDataKeyWithoutPlaintext": generate_data_key_without_plaintext,
    "ReEncrypt": re_encrypt,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListResourceTags": list_resource_tags,
    "DescribeRegions": describe_regions,
}

# Secrets (secret_actions.py): their actions, and TagResource/UntagResource given a SecretName.
from .secret_actions import with_secrets  # noqa: E402  (after ACTIONS: secret_actions never imports this module)
ACTIONS.update(with_secrets(ACTIONS))

# Asymmetric keys and key versions (key_actions.py, which imports Call and helpers from above).
from .key_actions import ACTIONS as KEY_ACTIONS  # noqa: E402  (after every name key_actions imports)
ACTIONS.update(KEY_ACTIONS)
