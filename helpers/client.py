"""`connect()`: one switch for three worlds (emulator, replay, cloud).

The backend comes from the argument, else `KMS_WORKSHOP_BACKEND`, else the local emulator, so the
same notebook runs offline, in CI and against Alibaba Cloud without edits.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from pathlib import Path
from typing import Any

from aliyunsdkcore.client import AcsClient

from . import credentials, notebook_errors, workshop
from .errors import ConfigError
from .kms import Kms
from .results import Connection
from .retry import RetryPolicy
from .transport import Transport

BACKENDS = ("emulator", "replay", "cloud")
DEFAULT_REGION = "cn-hangzhou"
# The classic SDK resolves only regions whose first segment is one of these; anything else
# would fall through to a Location-service network lookup (docs/sdk-behaviour.md, Region ids).
_REGION = re.compile(r"^(cn|ap|eu|rus|us|me)-[a-z0-9-]+$")
EMULATOR_ACCESS_KEY = credentials.EMULATOR_ACCESS_KEY  # the documented test pair (docs/emulator.md)

_lock = threading.Lock()
_servers: dict[tuple[str, str], Any] = {}


def connect(
    backend: str | None = None,
    region: str | None = None,
    *,
    session: str | None = None,
    endpoint: str | None = None,
    retry: RetryPolicy | None = None,
    learner: str | None = None,
    verbose: bool = False,
) -> Kms:
    """Return a KMS client for the chosen backend.

    Args:
        backend: ``"emulator"`` (default), ``"replay"`` or ``"cloud"``; else ``KMS_WORKSHOP_BACKEND``.
        region: else ``KMS_WORKSHOP_REGION``, ``ALIBABA_CLOUD_REGION_ID``, the CLI profile's region,
            else ``cn-hangzhou``.
        session: the recording to serve with the replay backend (a notebook's stem, such as
            ``"01_create_key"``); ignored by the other backends.
        endpoint: an endpoint URL to use instead of the backend's own (also
            ``KMS_WORKSHOP_ENDPOINT``), e.g. a standalone emulator or a recording proxy. A standalone
            emulator's pair comes from ``KMS_WORKSHOP_ACCESS_KEY_ID``/``_SECRET`` (the second line
            ``serve`` prints), else the documented test pair (``serve --test-account``).
        retry: the retry policy for idempotent calls.
        learner: whose namespace `helpers.workshop` uses (`alias/kms-workshop/<learner>/`); else
            ``KMS_WORKSHOP_LEARNER``, else the login name. The replay backend uses the recording's.
        verbose: print which backend, region, endpoint and credential source are in use.

    Raises:
        ConfigError: unknown backend, bad region, no credentials for the cloud, no recording, or an
            emulator state file that cannot be used (the message says why and what to do).
    """
    name = _choose_backend(backend)
    region_id = _choose_region(region)
    endpoint = endpoint or os.environ.get("KMS_WORKSHOP_ENDPOINT") or None
    # Replay serves a recording whose requests name the recording learner's aliases, so it is that
    # learner whatever the login name; the in-process stub reads the name from the cassette.
    who = workshop.learner_name(learner) if name != "replay" else (learner or workshop.RECORDING_LEARNER)
    in_process = False
    recorded_on = None
    if name == "cloud":
        source = credentials.resolve()
        endpoint = endpoint or f"https://kms.{region_id}.aliyuncs.com"
    elif endpoint is not None:
        source = credentials.emulator_endpoint_pair(name)
    else:
        in_process = True
        server = _local_server(name, session)
        endpoint = server.endpoint
        if getattr(server, "ca_bundle", None):
            os.environ.setdefault("ALIBABA_CLOUD_CA_BUNDLE", server.ca_bundle)
        recorded_learner = getattr(server, "learner", None)
        recorded_on = getattr(server, "recorded_on", None)
        if name == "replay" and learner is None and recorded_learner:
            who = recorded_learner
        if name == "emulator":
            # The in-process emulator accepts only its state file's own pair (emulator/access_keys.py).
            pair = credentials.FixedPairProvider(server.access_key_id, server.access_key_secret)
            source = credentials.CredentialSource(pair, f"emulator AccessKey of its state file ({server.access_key_id})")
        else:
            source = credentials.emulator_endpoint_pair(name)
    info = Connection(name, region_id, endpoint, source.description, who, in_process, recorded_on)
    acs = AcsClient(
        # Placeholders: the real signer below replaces the SDK's. The pair must be non-empty only
        # so the SDK's constructor accepts it; it is never sent.
        "unused",
        "unused",
        region_id,
        # None for both schemes: the SDK would otherwise send loopback calls to *_PROXY and it
        # ignores NO_PROXY (docs/sdk-behaviour.md, Proxies). A cloud user behind a proxy sets it explicitly.
        proxy=_proxy_for(endpoint),
        pool_size=16,
    )
    acs.add_endpoint(region_id, "Kms", endpoint)
    kms = Kms(Transport(acs, credentials.ProviderSigner(source.provider), retry or RetryPolicy()), info)
    notebook_errors.install()  # in a notebook: short InvalidSignature/InvalidTag errors too
    if verbose:
        print(info.describe())
    return kms


def _choose_backend(backend: str | None) -> str:
    name = (backend or os.environ.get("KMS_WORKSHOP_BACKEND") or "emulator").strip().lower()
    if not isinstance(name, str) or name not in BACKENDS:
        raise ConfigError(
            f"Unknown backend {name!r}: use one of {', '.join(BACKENDS)} "
            "(argument or KMS_WORKSHOP_BACKEND)."
        )
    return name


def _choose_region(region: str | None) -> str:
    if region is not None and not isinstance(region, str):
        raise TypeError(f"region must be a string such as 'cn-hangzhou', not {type(region).__name__}")
    profile = credentials.cli_profile() if region is None else None
    chosen = (
        region
        or os.environ.get("KMS_WORKSHOP_REGION")
        or os.environ.get("ALIBABA_CLOUD_REGION_ID")
        or (profile or {}).get("region_id")
        or DEFAULT_REGION
    )
    if not _REGION.match(chosen):
        raise ConfigError(
            f"Region {chosen!r} is not an Alibaba Cloud region id such as 'cn-hangzhou' or "
            "'ap-southeast-1'."
        )
    return chosen


def _proxy_for(endpoint: str) -> dict[str, str | None]:
    host = endpoint.split("://", 1)[-1]
    if host.startswith(("127.", "localhost", "[::1]")):
        return {"http": None, "https": None}
    return {
        "http": os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy"),
        "https": os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy"),
    }


def emulator_state_path() -> Path:
    """Where in-process emulators keep their keys: shared by every kernel, outside git."""
    env = os.environ.get("KMS_WORKSHOP_STATE")
    return Path(env) if env else Path.home() / ".kms-workshop" / "emulator.sqlite"


def _local_server(backend: str, session: str | None) -> Any:
    """Start (once per process) the in-process emulator or replay stub and return it."""
    if backend == "emulator":
        state = emulator_state_path()
        key = ("emulator", str(state))
    else:
        if not session:
            raise ConfigError(
                "The replay backend needs the recording's name: connect(session='01_create_key')."
            )
        from .replay.cassette import cassette_dir

        cassette = cassette_dir() / f"{session}.yaml"
        if not cassette.is_file():
            raise ConfigError(
                f"No recording {cassette}. Run `make record` to record it, or use the emulator."
            )
        key = ("replay", str(cassette))
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = _start(backend, Path(key[1]))
            _servers[key] = server
            atexit.register(server.stop)
    return server


def _start(backend: str, path: Path) -> Any:
    if backend == "emulator":
        from .emulator import Emulator, StateFileError

        # The emulator makes missing folders itself, each 0700 whatever the umask.
        try:
            return Emulator(state_path=path).start()
        except StateFileError as exc:
            where = "KMS_WORKSHOP_STATE" if os.environ.get("KMS_WORKSHOP_STATE") else "the default state file"
            raise ConfigError(f"{exc} (The in-process emulator's state file comes from {where}; "
                              "set KMS_WORKSHOP_STATE to use another.)") from exc  # fmt: skip
    from .replay import ReplayServer

    return ReplayServer(path).start()


_LOOPBACK = re.compile(r"^(https?://(?:127\.0\.0\.1|localhost|\[::1\])):\d+$")
#: The variables of `script_settings()` whose values are secrets: never shown by its repr.
_SECRET_VARIABLES = ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN")


class ScriptEnv(dict[str, str]):
    """The environment a server script would be started with; its repr hides the secrets, and
    the port of a loopback endpoint (new in every kernel, it means nothing to a reader)."""

    def __repr__(self) -> str:
        return f"ScriptEnv({', '.join(self._show(k, v) for k, v in self.items())})"

    @staticmethod
    def _show(name: str, value: str) -> str:
        if name in _SECRET_VARIABLES:
            return f"{name}=<hidden>"
        loopback = _LOOPBACK.match(value)
        return f"{name}=<{loopback.group(1)} on a port of this kernel>" if loopback else f"{name}={value!r}"

    __str__ = __repr__


def script_settings(kms: Kms) -> ScriptEnv:
    """What a server script using the classic SDK needs to reach this backend, as environment variables.

    A notebook cell reads these the way a script reads `os.environ` and builds its own `AcsClient`:
    `ALIBABA_CLOUD_REGION_ID`, `KMS_WORKSHOP_ENDPOINT` (the endpoint to map: the emulator's loopback
    URL, or `https://kms.<region>.aliyuncs.com`, the one the SDK would pick itself on the cloud),
    `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` and, for STS or RAM-role credentials, `_SECURITY_TOKEN`.
    The values are the ones this client signs with at this moment (RAM-role credentials expire:
    a real server asks for fresh ones, see docs/server.md); nothing is printed.
    """
    info = kms.connection
    # the provider connect() resolved: asking it again gives the source connect() reported
    credential = kms.credential_provider.get_credentials()
    env = ScriptEnv(ALIBABA_CLOUD_REGION_ID=info.region, KMS_WORKSHOP_ENDPOINT=info.endpoint,
                    ALIBABA_CLOUD_ACCESS_KEY_ID=credential.get_access_key_id(),
                    ALIBABA_CLOUD_ACCESS_KEY_SECRET=credential.get_access_key_secret())
    token = credential.get_security_token()
    if token:
        env["ALIBABA_CLOUD_SECURITY_TOKEN"] = token
    return env
