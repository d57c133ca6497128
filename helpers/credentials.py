"""Where cloud credentials come from, without ever typing them into a notebook.

The classic SDK reads only `ALIYUN_ACCESS_KEY_*`, never the CLI profile, and lets those variables
silently override an explicit credential (see docs/sdk-behaviour.md, Credentials). So the kit resolves
credentials with the maintained `alibabacloud-credentials` providers and signs every request with
whatever they return at that moment (STS and RAM-role credentials refresh themselves).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aliyunsdkcore.auth.signers.signer import Signer

from .errors import ConfigError

#: The emulator's documented test pair (the docs' signature example, docs/emulator.md): what an
#: emulator started in memory or with `serve --test-account` accepts.
EMULATOR_ACCESS_KEY = ("testid", "testsecret")
#: A standalone emulator's pair, as its second output line prints it; read for the emulator backend only.
EMULATOR_ENV_PAIR = ("KMS_WORKSHOP_ACCESS_KEY_ID", "KMS_WORKSHOP_ACCESS_KEY_SECRET")

_ENV_PAIRS = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SECURITY_TOKEN"),
)


@dataclass(frozen=True)
class CredentialSource:
    """A credentials provider plus a description of it that is safe to print."""

    provider: Any  # an alibabacloud_credentials ICredentialsProvider
    description: str

    def __repr__(self) -> str:
        return f"CredentialSource({self.description!r})"


@dataclass(frozen=True)
class _Pair:
    access_key_id: str
    access_key_secret: str = field(repr=False)

    def get_access_key_id(self) -> str:
        return self.access_key_id

    def get_access_key_secret(self) -> str:
        return self.access_key_secret

    def get_security_token(self) -> None:
        return None


class FixedPairProvider:
    """A fixed AccessKey pair behind the provider interface, for the emulator and replay.

    Their pair never changes, so the provider chain of `alibabacloud-credentials` (which loads
    aiohttp and a scheduler, about 0.24 s of every notebook's first cell) is loaded only for the
    cloud backend.
    """

    def __init__(self, access_key_id: str, access_key_secret: str) -> None:
        self._credentials = _Pair(access_key_id, access_key_secret)

    def get_credentials(self) -> _Pair:
        return self._credentials


class ProviderSigner(Signer):
    """A classic-SDK signer that asks a credentials provider for fresh credentials on each call."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    @property
    def provider(self) -> Any:
        """The alibabacloud-credentials provider asked on every call."""
        return self._provider

    def sign(self, region_id: str, request: Any) -> tuple[Any, Any]:
        cred = self._provider.get_credentials()
        key_id, secret = cred.get_access_key_id(), cred.get_access_key_secret()
        token = cred.get_security_token()
        if token:
            request.add_query_param("SecurityToken", token)
        header = request.get_signed_header(region_id, key_id, secret)
        url = request.get_url(region_id, key_id, secret)
        return header, url


def emulator_endpoint_pair(backend: str) -> CredentialSource:
    """The pair for an emulator (or replay stub) at an endpoint the kit did not start itself.

    `KMS_WORKSHOP_ACCESS_KEY_ID`/`_SECRET` for the emulator backend (what `serve` prints on its second
    line); else the documented test pair, which an in-memory `Emulator()` or `serve --test-account`
    accepts. Never consulted for the cloud: these variables are not cloud credentials.
    """
    id_var, secret_var = EMULATOR_ENV_PAIR
    key_id, secret = os.environ.get(id_var), os.environ.get(secret_var)
    if backend == "emulator" and (key_id or secret):
        if not (key_id and secret):
            raise ConfigError(
                f"Only one of {id_var} and {secret_var} is set; set both (the second line `serve` prints), "
                "or neither."
            )
        return CredentialSource(FixedPairProvider(key_id, secret), f"environment ({id_var})")
    return CredentialSource(FixedPairProvider(*EMULATOR_ACCESS_KEY), f"{backend} test account ({EMULATOR_ACCESS_KEY[0]})")


def cli_config_path() -> Path:
    return Path.home() / ".aliyun" / "config.json"


def cli_profile(name: str | None = None) -> dict[str, Any] | None:
    """The aliyun CLI profile in use (`ALIBABA_CLOUD_PROFILE`, else the file's `current`), if any."""
    path = cli_config_path()
    if not path.is_file() or os.environ.get("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "").lower() == "true":
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the aliyun CLI config {path}: {exc}. Fix or remove it.") from exc
    wanted = name or os.environ.get("ALIBABA_CLOUD_PROFILE") or config.get("current") or "default"
    for profile in config.get("profiles", []):
        if profile.get("name") == wanted:
            return dict(profile)
    return None


def resolve() -> CredentialSource:
    """Find cloud credentials in the standard places, in the order the official chain uses.

    1. `ALIBABA_CLOUD_ACCESS_KEY_ID`/`_SECRET` (+ `ALIBABA_CLOUD_SECURITY_TOKEN`), then the classic
       `ALIYUN_ACCESS_KEY_ID`/`_SECRET`;
    2. the aliyun CLI profile in `~/.aliyun/config.json` (`ALIBABA_CLOUD_PROFILE` picks one);
    3. an ECS RAM role, when `ALIBABA_CLOUD_ECS_METADATA` names it.

    The ECS step is opt-in (unlike the SDK's default chain) so that a laptop never sends a request
    to the instance-metadata address and waits for it to time out.
    """
    from alibabacloud_credentials.provider import (
        CLIProfileCredentialsProvider,
        EcsRamRoleCredentialsProvider,
        StaticAKCredentialsProvider,
        StaticSTSCredentialsProvider,
    )

    for id_var, secret_var, token_var in _ENV_PAIRS:
        key_id, secret = os.environ.get(id_var), os.environ.get(secret_var)
        if key_id and secret:
            token = os.environ.get(token_var)
            if token:
                sts = StaticSTSCredentialsProvider(
                    access_key_id=key_id, access_key_secret=secret, security_token=token
                )
                return CredentialSource(sts, f"environment ({id_var}, {token_var})")
            static = StaticAKCredentialsProvider(access_key_id=key_id, access_key_secret=secret)
            return CredentialSource(static, f"environment ({id_var})")
        if key_id or secret:
            raise ConfigError(
                f"Only one of {id_var} and {secret_var} is set; set both, or neither."
            )

    profile = cli_profile()
    if profile is not None:
        provider = CLIProfileCredentialsProvider(
            profile_name=profile["name"], profile_file=str(cli_config_path())
        )
        return CredentialSource(
            provider, f"aliyun CLI profile {profile['name']!r} ({profile.get('mode', 'AK')})"
        )

    role = os.environ.get("ALIBABA_CLOUD_ECS_METADATA")
    if role:
        return CredentialSource(EcsRamRoleCredentialsProvider(role_name=role), f"ECS RAM role {role!r}")

    raise ConfigError(
        "No Alibaba Cloud credentials found for the cloud backend. Set ALIBABA_CLOUD_ACCESS_KEY_ID "
        "and ALIBABA_CLOUD_ACCESS_KEY_SECRET in the shell that starts JupyterLab, or run "
        "`aliyun configure` to create a CLI profile, or on ECS set ALIBABA_CLOUD_ECS_METADATA to "
        "the instance's RAM role. Never type an AccessKey into a notebook cell."
    )
