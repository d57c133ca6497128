"""Hostile input for the secrets actions and their store (hypothesis, gateway in process).

The promise, as in test_hostile_wire.py: every answer is a documented 4xx in the service's JSON
error shape (or a 200 where the input may be valid), never a 500, an escaped exception or a hang;
a secret's value never appears in an answer that did not ask for it, and never in another
account's answer. ``KMS_WORKSHOP_HOSTILE_EXAMPLES=N`` scales it up (``make reliability``);
``OUTCOMES`` (shared with test_hostile_wire.py) counts what was answered.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from helpers.emulator import DEFAULT_ACCOUNTS
from helpers.emulator.gateway import Gateway
from tests.test_hostile_wire import budget, call, check, encode, new_gateway, signed

_ACTIONS = ("CreateSecret", "GetSecretValue", "PutSecretValue", "DescribeSecret", "ListSecrets", "ListSecretVersionIds",
            "UpdateSecret", "UpdateSecretVersionStage", "DeleteSecret", "RestoreSecret", "GetRandomPassword",
            "TagResource", "UntagResource")  # fmt: skip
_PARAMS = ("SecretName", "VersionId", "VersionStage", "VersionStages", "SecretData", "SecretDataType", "EncryptionKeyId",
           "Description", "Tags", "TagKeys", "RecoveryWindowInDays", "ForceDeleteWithoutRecovery", "RemoveFromVersion",
           "MoveToVersion", "FetchExtendedConfig", "FetchTags", "IncludeDeprecated", "PageNumber", "PageSize",
           "Filters", "PasswordLength", "ExcludeCharacters", "ExcludeLowercase", "ExcludeUppercase",
           "ExcludeNumbers", "ExcludePunctuation", "RequireEachIncludedType", "DryRun", "ExtendedConfig")  # fmt: skip
#: the planted secret's value: any answer that shows it without GetSecretValue asking is a leak
PLANTED = "planted-value-7f3a"  # not a real secret: a marker the tests look for
_junk = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "ACSCurrent", "ACSPrevious", "acscurrent", "v1", "v2", "7", "0", "-1", "31", "true", "True",
                     "false", "text", "binary", "TEXT", "[]", "[\"ACSCurrent\"]", "{}", "[{\"TagKey\":\"k\"}]",
                     "alias/none", "x" * 300, "\u00e9", "😀", "../etc", "kms-workshop/ada/tls"]),
)  # fmt: skip


class SecretWorld:
    """One gateway with a planted secret (two versions) in the first account."""

    def __init__(self) -> None:
        self.gw = new_gateway()
        for action, params in (("CreateSecret", {"SecretName": "planted", "VersionId": "v1", "SecretData": PLANTED}),
                               ("PutSecretValue", {"SecretName": "planted", "VersionId": "v2", "SecretData": PLANTED + "2"})):  # fmt: skip
            status, body = call(self.gw, "POST", encode(signed(action, **params)))
            assert status == 200, body


_worlds: dict[str, SecretWorld] = {}


def world(name: str = "random") -> SecretWorld:
    """One world per property: the random one may delete or overwrite the planted secret."""
    if name not in _worlds:
        _worlds[name] = SecretWorld()
    return _worlds[name]


def answer(family: str, gw: Gateway, action: str, params: dict[str, str], account: Any = None) -> dict[str, Any]:
    who = {"key_id": account.access_key_id, "secret": account.access_key_secret} if account else {}
    status, body = call(gw, "POST", encode(signed(action, **who, **params)))
    assert status < 500, (status, body)
    check(family, status, body, allow_ok=True)
    if action != "GetSecretValue" or account is not None:
        assert PLANTED not in str(body), (action, params, body)
    return body


@budget(150)
@given(action=st.sampled_from(_ACTIONS), data=st.data())
def test_hostile_secrets_random_parameters(action: str, data: st.DataObject) -> None:
    w = world()
    names = list(dict.fromkeys(["SecretName"] * data.draw(st.booleans())
                               + data.draw(st.lists(st.sampled_from(_PARAMS), unique=True, max_size=8))))  # fmt: skip
    params: dict[str, str] = {}
    for name in names:
        if name == "SecretName":
            params[name] = data.draw(st.one_of(st.just("planted"), _junk))
        else:
            params[name] = data.draw(_junk)
    params = {k: v for k, v in params.items() if "\x00" not in k + v}
    body = answer(f"secrets: random {action} parameters", w.gw, action, params)
    if action == "GetSecretValue" and "SecretData" in body:
        assert body["SecretDataType"] in ("text", "binary")


@budget(60)
@given(action=st.sampled_from(("GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "PutSecretValue",
                                "DeleteSecret", "UpdateSecretVersionStage")),
       stage=_junk, version=_junk)  # fmt: skip
def test_hostile_secrets_another_account_never_sees_the_planted_secret(action: str, stage: str, version: str) -> None:
    """By name or by the first account's ARN, from the second account: not found, never the value."""
    w = world("isolation")
    for name in ("planted", "acs:kms:cn-hangzhou:1234567890123456:secret/planted"):
        params = {"SecretName": name, "VersionStage": stage, "VersionId": version, "SecretData": "overwrite"}  # pragma: allowlist secret
        params = {k: v for k, v in params.items() if v and "\x00" not in v}
        body = answer("secrets: another account's secret", w.gw, action, params, account=DEFAULT_ACCOUNTS[1])
        assert "Code" in body, body
    status, body = call(w.gw, "POST", encode(signed("GetSecretValue", SecretName="planted")))
    assert status == 200 and body["SecretData"] == PLANTED + "2"  # the owner's value is untouched
