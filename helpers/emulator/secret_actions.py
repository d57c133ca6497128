"""Wire format of the secrets actions: one handler per action, like ``responses.py``, whose
``ACTIONS`` table takes these in (``with_secrets``). Each reads its parameters, calls the vault
(``vault.py``) and returns the JSON-ready body; its docstring is the API reference page.

SecretData is opaque text, stored and returned byte for byte: ``binary`` secrets are, by
convention only, Base64 text, which neither the service nor the official clients decode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from . import errors, params
from .secret_store import Secret
from .vault import (DATA_TYPES, DEFAULT_WINDOW_DAYS, GENERIC, MAX_SECRET_DATA_BYTES, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS,
                    Vault, check_stage)

if TYPE_CHECKING:
    from .responses import Call

Body = dict[str, object]
Handler = Callable[["Call"], Body]
_REF = 512  # a name (192) or an ARN around it
#: the punctuation GetRandomPassword draws from (the API page's ExcludeCharacters list: no space or backtick)
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_{|}~"
_CLASSES = {
    "ExcludeLowercase": "abcdefghijklmnopqrstuvwxyz",
    "ExcludeUppercase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "ExcludeNumbers": "0123456789",
    "ExcludePunctuation": PUNCTUATION,
}
_SECRET_FILTERS = ("SecretName", "Description", "TagKey", "TagValue", "DKMSInstanceId", "SecretType", "Creator")


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def _name(call: Call) -> str:
    return params.required(call.params, "SecretName", max_length=_REF)


def _data(call: Call) -> tuple[bytes, str]:
    data = params.required(call.params, "SecretData", max_length=MAX_SECRET_DATA_BYTES).encode("utf-8")
    # [I] accepted in any case, answered in lower case: both official clients compare with "text" exactly.
    kind = params.optional(call.params, "SecretDataType", "text").lower() or "text"
    if kind not in DATA_TYPES:
        raise errors.InvalidParameter.named("SecretDataType", "Allowed values: text, binary.")
    return data, kind


def _stages(labels: tuple[str, ...]) -> Body:
    return {"VersionStage": list(labels)}  # an object, not a list: Tea's from_map calls .get on it


def _tags(tags: Mapping[str, str]) -> Body:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}


def _summary(vault: Vault, call: Call, secret: Secret, *, fetch_tags: bool) -> Body:
    body: Body = {"SecretName": secret.name, "SecretType": secret.secret_type,
                  "CreateTime": _time(secret.create_time), "UpdateTime": _time(secret.update_time)}  # fmt: skip
    if secret.planned_delete_time:  # [I] present only while the deletion is scheduled
        body["PlannedDeleteTime"] = _time(secret.planned_delete_time)
    if fetch_tags:
        body["Tags"] = _tags(vault.tags(call.scope, secret))
    return body


def create_secret(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-createsecret"""
    p = call.params
    name = params.required(p, "SecretName", max_length=192)
    if params.optional(p, "SecretType", GENERIC) not in ("", GENERIC):
        # [I] only Generic secrets are emulated; the managed types need the database or RAM they rotate.
        raise errors.InvalidParameter.named("SecretType", "The emulator supports Generic secrets only.")
    if params.optional(p, "DKMSInstanceId"):
        raise errors.DKMSInstanceNotFound()
    params.optional(p, "Policy", max_length=32768)  # only meaningful for instance secrets
    params.optional(p, "ExtendedConfig", max_length=1024)  # [I] ignored: it configures managed types only
    params.boolean(p, "EnableAutomaticRotation")  # [I] ignored: Generic secrets are not rotated by KMS
    version_id = params.required(p, "VersionId", max_length=64)
    data, kind = _data(call)
    vault = Vault(call.backend)
    secret = vault.create(call.scope, name, version_id, data, kind, description=params.optional(p, "Description"),
                          encryption_key_id=params.optional(p, "EncryptionKeyId", max_length=_REF),
                          tags=params.tags(p))  # fmt: skip
    return {"Arn": call.scope.arn(f"secret/{secret.name}"), "SecretName": secret.name,
            "SecretType": secret.secret_type, "VersionId": version_id}  # fmt: skip


def get_secret_value(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-getsecretvalue"""
    p = call.params
    params.boolean(p, "FetchExtendedConfig")  # [I] nothing to fetch: Generic secrets have no ExtendedConfig
    stage = params.optional(p, "VersionStage", max_length=64)
    value = Vault(call.backend).get_value(call.scope, _name(call), params.optional(p, "VersionId", max_length=64), stage)
    if params.boolean(p, "DryRun"):
        raise errors.DryRunOperationError()
    return {"SecretName": value.secret.name, "SecretType": value.secret.secret_type,
            "SecretData": value.data.decode("utf-8"), "SecretDataType": value.version.data_type,
            "VersionId": value.version.version_id, "VersionStages": _stages(value.stages),
            "CreateTime": _time(value.version.create_time)}  # fmt: skip


def put_secret_value(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-putsecretvalue"""
    p = call.params
    version_id = params.required(p, "VersionId", max_length=64)
    data, kind = _data(call)
    stages = params.string_list(p, "VersionStages") if p.get("VersionStages") else None
    for stage in stages or ():
        check_stage(stage, "VersionStages")
    secret, labels = Vault(call.backend).put_value(call.scope, _name(call), version_id, data, kind, stages)
    return {"SecretName": secret.name, "VersionId": version_id, "VersionStages": _stages(labels)}


def describe_secret(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-describesecret"""
    vault = Vault(call.backend)
    secret = vault.load(call.scope, _name(call))
    body = {"SecretName": secret.name, "Arn": call.scope.arn(f"secret/{secret.name}"),
            "SecretType": secret.secret_type, "Description": secret.description,
            "EncryptionKeyId": secret.encryption_key_id}  # [I] "" for the default secrets key  # fmt: skip
    return body | _summary(vault, call, secret, fetch_tags=params.boolean(call.params, "FetchTags"))


def _matches(secret: Secret, tags: Mapping[str, str], creator: str, key: str, values: tuple[str, ...]) -> bool:
    """One ListSecrets filter: any of ``values`` ([I] names and descriptions match by substring)."""
    if key == "SecretName":
        return any(v in secret.name for v in values)
    if key == "Description":
        return any(v in secret.description for v in values)
    if key == "TagKey":
        return any(v in tags for v in values)
    if key == "TagValue":
        return any(v in tags.values() for v in values)
    if key == "SecretType":  # [I] "RDS" in the Tea SDK, "Rds" elsewhere: case-insensitive
        return any(v.lower() == secret.secret_type.lower() for v in values)
    if key == "Creator":
        return creator in values
    return "" in values  # DKMSInstanceId: secrets of the shared service have none


def list_secrets(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listsecrets"""
    wanted = params.filters(call.params)
    for key, _ in wanted:
        if key not in _SECRET_FILTERS:
            raise errors.InvalidParameter.named("Filters", f"Unknown filter key {key}.")
    fetch_tags = params.boolean(call.params, "FetchTags")
    number, size = params.page(call.params)
    vault = Vault(call.backend)
    found = []
    for secret in vault.secrets(call.scope):  # [I] secrets pending deletion are listed too
        tags = vault.tags(call.scope, secret) if wanted else {}
        if all(_matches(secret, tags, call.scope.account_id, k, v) for k, v in wanted):
            found.append(secret)
    chunk = [_summary(vault, call, s, fetch_tags=fetch_tags) for s in found[(number - 1) * size : number * size]]
    return {"PageNumber": number, "PageSize": size, "TotalCount": len(found), "SecretList": {"Secret": chunk}}


def list_secret_version_ids(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listsecretversionids"""
    p = call.params
    # [I] the maximum PageSize is undocumented: 100, as for the other list actions
    number, size = params.integer(p, "PageNumber", 1, 1, 1_000_000), params.integer(p, "PageSize", 20, 1, 100)
    secret, infos = Vault(call.backend).version_ids(call.scope, _name(call), params.boolean(p, "IncludeDeprecated"))
    chunk = [{"VersionId": i.version_id, "CreateTime": _time(i.create_time), "VersionStages": _stages(i.stages)}
             for i in infos[(number - 1) * size : number * size]]  # fmt: skip
    return {"SecretName": secret.name, "PageNumber": number, "PageSize": size, "TotalCount": len(infos),
            "VersionIds": {"VersionId": chunk}}  # fmt: skip


def update_secret(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-updatesecret"""
    p = call.params
    if p.get("ExtendedConfig.CustomData"):
        # [I] custom data belongs to the managed types' ExtendedConfig; Generic secrets have none.
        raise errors.InvalidParameter.named("ExtendedConfig.CustomData", "Generic secrets have no ExtendedConfig.")
    description = params.optional(p, "Description") if "Description" in p else None
    secret = Vault(call.backend).update(call.scope, _name(call), description)
    return {"SecretName": secret.name}


def update_secret_version_stage(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-updatesecretversionstage"""
    p = call.params
    stage = params.required(p, "VersionStage", max_length=64)
    remove_from = params.optional(p, "RemoveFromVersion", max_length=64)
    move_to = params.optional(p, "MoveToVersion", max_length=64)
    secret = Vault(call.backend).update_stage(call.scope, _name(call), stage, remove_from, move_to)
    return {"SecretName": secret.name}


def delete_secret(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-deletesecret"""
    p = call.params
    force = params.boolean(p, "ForceDeleteWithoutRecovery")
    if force and p.get("RecoveryWindowInDays"):
        # [I] the page says the window is not allowed with force; the code for both together is a guess
        raise errors.InvalidParameter.named("RecoveryWindowInDays", "It cannot be used with ForceDeleteWithoutRecovery.")
    days = None if force else params.integer(p, "RecoveryWindowInDays", DEFAULT_WINDOW_DAYS, MIN_WINDOW_DAYS, MAX_WINDOW_DAYS)
    vault = Vault(call.backend)
    name = vault.name_of(call.scope, _name(call))
    planned = vault.delete(call.scope, name, force=force, window_days=days)
    return {"SecretName": name, "PlannedDeleteTime": _time(planned)}


def restore_secret(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-restoresecret"""
    return {"SecretName": Vault(call.backend).restore(call.scope, _name(call)).name}


def get_random_password(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-getrandompassword"""
    p = call.params
    length = params.integer(p, "PasswordLength", 32, 8, 128)
    excluded = set(params.optional(p, "ExcludeCharacters", max_length=256))
    classes = ["".join(c for c in chars if c not in excluded) for flag, chars in _CLASSES.items()
               if not params.boolean(p, flag)]  # fmt: skip
    classes = [c for c in classes if c]  # [I] a class emptied by ExcludeCharacters is not required
    # [I] the page's default field says true, its text false: true
    require_each = params.boolean(p, "RequireEachIncludedType") if p.get("RequireEachIncludedType") else True
    if not classes:
        raise errors.InvalidParameter("Every character class is excluded: nothing to make a password of.")  # [I]
    alphabet = "".join(classes)
    entropy = call.backend.entropy  # the OS CSPRNG (seeded only for recordings)
    for _ in range(10_000):  # rejection sampling keeps every valid password equally likely
        password = entropy.string(alphabet, length)
        if not require_each or all(any(ch in cls for ch in password) for cls in classes):
            return {"RandomPassword": password}
    raise errors.InternalFailure()  # unreachable in practice: at length >= 8 a draw succeeds often


def _tag_secret(call: Call) -> Body:
    tags = params.tags(call.params)
    if not tags:
        raise errors.MissingParameter("Tags")
    Vault(call.backend).tag(call.scope, _name(call), tags)
    return {}


def _untag_secret(call: Call) -> Body:
    raw = call.params.get("TagKeys", "")
    # [I] the Tea SDK's text says comma-separated, the page's example is a JSON array: accept both
    keys = params.string_list(call.params, "TagKeys") if raw.lstrip().startswith("[") or not raw else \
        [k.strip() for k in raw.split(",") if k.strip()]  # fmt: skip
    if not keys:
        raise errors.InvalidParameter.named("TagKeys")
    Vault(call.backend).untag(call.scope, _name(call), keys)
    return {}


def _or_secret(key_handler: Handler, secret_handler: Handler) -> Handler:
    """TagResource/UntagResource take exactly one of KeyId, SecretName, CertificateId."""

    def handler(call: Call) -> Body:
        if "SecretName" not in call.params:
            return key_handler(call)
        if call.params.get("KeyId") or call.params.get("CertificateId"):
            raise errors.InvalidParameter("Give exactly one of KeyId, SecretName and CertificateId.")
        return secret_handler(call)

    handler.__doc__ = key_handler.__doc__
    return handler


ACTIONS: dict[str, Handler] = {
    "CreateSecret": create_secret,
    "GetSecretValue": get_secret_value,
    "PutSecretValue": put_secret_value,
    "DescribeSecret": describe_secret,
    "ListSecrets": list_secrets,
    "ListSecretVersionIds": list_secret_version_ids,
    "UpdateSecret": update_secret,
    "UpdateSecretVersionStage": update_secret_version_stage,
    "DeleteSecret": delete_secret,
    "RestoreSecret": restore_secret,
    "GetRandomPassword": get_random_password,
}


def with_secrets(key_actions: Mapping[str, Handler]) -> dict[str, Handler]:
    """What ``responses.ACTIONS`` is updated with: the secret actions, and TagResource and
    UntagResource that serve a SecretName and hand everything else to the key handlers unchanged.
    (ListResourceTags takes only KeyId; secrets' tags are read with DescribeSecret/ListSecrets FetchTags.)"""
    return ACTIONS | {
        "TagResource": _or_secret(key_actions["TagResource"], _tag_secret),
        "UntagResource": _or_secret(key_actions["UntagResource"], _untag_secret),
    }
