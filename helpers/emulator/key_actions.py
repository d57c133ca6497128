"""Wire format of the asymmetric-key and key-version actions, merged into ``responses.ACTIONS``.

Same shape as ``responses.py``: one short handler per action (read parameters -> backend ->
body without ``RequestId``), its docstring the API reference page. The rules live in
``backend.py``, ``rotation.py`` (versions, rotation) and ``asymmetric.py`` (key pairs).
Imported at the end of ``responses.py``, after every name used here exists.
"""

from __future__ import annotations

from datetime import datetime

from . import asymmetric, crypto, errors, params, rotation
from .models import Key
from .responses import Body, Call, Handler, _dry_run, _paged, _refuse_recipient, _time

_MAX_BASE64 = 4096  # [I] far above any digest, signature or RSA_3072 ciphertext (512 Base64 chars)


def _target(call: Call) -> tuple[str, str]:
    return params.required(call.params, "KeyId"), params.required(call.params, "KeyVersionId", max_length=128)


def _echo(key: Key, version_id: str) -> Body:
    return {"KeyId": key.key_id, "KeyVersionId": version_id}


def _digest(call: Call) -> bytes:
    digest = params.base64_bytes(call.params, "Digest", _MAX_BASE64)
    if len(digest) != asymmetric.DIGEST_LENGTH:
        # [I] the service's answer to a digest of the wrong length is undocumented
        raise errors.InvalidParameter.named("Digest", "It must be the Base64 of a 32-byte SHA-256 digest.")
    return digest


def _algorithm(call: Call, allowed: tuple[str, ...]) -> str:
    params.required(call.params, "Algorithm", max_length=64)
    return params.choice(call.params, "Algorithm", allowed, "")


def get_public_key(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-getpublickey"""
    key_ref, version_id = _target(call)
    key, pem = call.backend.public_key(call.scope, key_ref, version_id)
    _dry_run(call)
    return _echo(key, version_id) | {"PublicKey": pem}


def asymmetric_sign(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-asymmetricsign"""
    key_ref, version_id = _target(call)
    algorithm, digest = _algorithm(call, asymmetric.SIGN_ALGORITHMS), _digest(call)
    key, signature = call.backend.sign(call.scope, key_ref, version_id, algorithm, digest)
    _dry_run(call)
    return _echo(key, version_id) | {"Value": crypto.encode_blob(signature)}


def asymmetric_verify(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-asymmetricverify"""
    key_ref, version_id = _target(call)
    algorithm, digest = _algorithm(call, asymmetric.SIGN_ALGORITHMS), _digest(call)
    signature = params.base64_bytes(call.params, "Value", _MAX_BASE64)
    key, valid = call.backend.verify(call.scope, key_ref, version_id, algorithm, digest, signature)
    _dry_run(call)
    return _echo(key, version_id) | {"Value": valid}  # a boolean on the wire, unlike every other field


def asymmetric_encrypt(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-asymmetricencrypt"""
    key_ref, version_id = _target(call)
    algorithm = _algorithm(call, asymmetric.ENCRYPT_ALGORITHMS)
    # Unlike symmetric Encrypt, the server decodes this Plaintext: it is the Base64 of raw bytes.
    plaintext = params.base64_bytes(call.params, "Plaintext", _MAX_BASE64)
    key, ciphertext = call.backend.asymmetric_encrypt(call.scope, key_ref, version_id, algorithm, plaintext)
    _dry_run(call)
    # The raw OAEP output, no envelope or version id: what a local public-key encryption produces too.
    return _echo(key, version_id) | {"CiphertextBlob": crypto.encode_blob(ciphertext)}


def asymmetric_decrypt(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-asymmetricdecrypt"""
    _refuse_recipient(call)
    key_ref, version_id = _target(call)
    algorithm = _algorithm(call, asymmetric.ENCRYPT_ALGORITHMS)
    ciphertext = params.base64_bytes(call.params, "CiphertextBlob", _MAX_BASE64)
    key, plaintext = call.backend.asymmetric_decrypt(call.scope, key_ref, version_id, algorithm, ciphertext)
    _dry_run(call)
    return _echo(key, version_id) | {"Plaintext": crypto.encode_blob(plaintext)}


def _version(key: Key, version_id: str, created: datetime) -> Body:
    return {"KeyId": key.key_id, "KeyVersionId": version_id, "CreationDate": _time(created)}


def create_key_version(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-createkeyversion"""
    key, version_id, created = call.backend.create_key_version(call.scope, params.required(call.params, "KeyId"))
    return {"KeyVersion": _version(key, version_id, created)}


def list_key_versions(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listkeyversions"""
    params.page(call.params)  # a bad page is refused before the key is looked up
    key, versions = call.backend.list_key_versions(call.scope, params.required(call.params, "KeyId"))
    return _paged(call, [_version(key, v, when) for v, when in versions], "KeyVersions", "KeyVersion")


def describe_key_version(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-describekeyversion"""
    key_ref, version_id = _target(call)
    key, created = call.backend.describe_key_version(call.scope, key_ref, version_id)
    return {"KeyVersion": _version(key, version_id, created)}


def update_rotation_policy(call: Call) -> Body:
    """https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-updaterotationpolicy"""
    p = call.params
    key_ref = params.required(p, "KeyId")
    params.required(p, "EnableAutomaticRotation", max_length=16)
    enable = params.boolean(p, "EnableAutomaticRotation")
    # Validated even when rotation is turned off ([I] then ignored).
    interval = params.duration(p, "RotationInterval", rotation.MIN_INTERVAL, rotation.MAX_INTERVAL)
    if enable and interval is None:
        raise errors.MissingParameter("RotationInterval")
    call.backend.update_rotation_policy(call.scope, key_ref, interval if enable else None)
    return {}


ACTIONS: dict[str, Handler] = {
    "GetPublicKey": get_public_key,
    "AsymmetricSign": asymmetric_sign,
    "AsymmetricVerify": asymmetric_verify,
    "AsymmetricEncrypt": asymmetric_encrypt,
    "AsymmetricDecrypt": asymmetric_decrypt,
    "CreateKeyVersion": create_key_version,
    "ListKeyVersions": list_key_versions,
    "DescribeKeyVersion": describe_key_version,
    "UpdateRotationPolicy": update_rotation_policy,
}
