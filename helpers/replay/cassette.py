"""The cassette: one notebook's KMS exchanges, in order, scrubbed, as readable YAML.

A cassette holds request/response pairs. A request is its `Action` plus its parameters, with

* the signature's parameters dropped (`Signature`, `SignatureNonce`, `Timestamp`, `AccessKeyId`,
  `SecurityToken`, and the constant `SignatureMethod`/`SignatureVersion`/`SignatureType`);
* sensitive values (`Plaintext`, the client's `CiphertextBlob`, every `*EncryptionContext`) kept
  only as `sha256:<hex>`, which is all the replayer needs to recognise them.

A response is its HTTP status and JSON body as the upstream returned it, except that the account
id (in ARNs and `Creator`) becomes `ACCOUNT_PLACEHOLDER` everywhere, requests included: replayed
ARNs carry the placeholder, so the requests a notebook builds from them do too, and they match.

Response bodies are otherwise verbatim, including Decrypt's and GenerateDataKey's `Plaintext`:
the notebook needs the real plaintext back (the demo TLS key must decrypt and serve TLS). The
notebooks' inputs are throwaway demo data; `tests/test_cassette_scan.py` fails if any cassette
holds a private key other than the kit's demo key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpers.sensitive import BOUND_PARAMS, CREDENTIAL_PARAMS, SECRET_PARAMS

FORMAT_VERSION = 1

#: Never stored: they identify the caller, or change on every call.
DROPPED_PARAMS = CREDENTIAL_PARAMS | frozenset(
    {"Timestamp",
     # constants of the signature scheme; meaningless once the signature itself is gone
     "SignatureMethod", "SignatureVersion", "SignatureType"}
)
#: Stored as a SHA-256 digest, used only for matching.
DIGESTED_PARAMS = SECRET_PARAMS | BOUND_PARAMS
DIGEST_PREFIX = "sha256:"
#: Stands in for the recording account's id (16 digits, like a real one, so ARNs still parse).
ACCOUNT_PLACEHOLDER = "0000000000000000"

_ARN_ACCOUNT = re.compile(r"acs:kms:[a-z0-9-]*:(\d+):")
_CREATOR = re.compile(r'"Creator"\s*:\s*"([^"]+)"')
_HEADER = (
    "# Recorded KMS exchanges for notebooks/{notebook}.ipynb, written by `make record`.\n"
    "# Do not edit by hand: see docs/replay.md. Secrets and volatile values are scrubbed.\n"
)


def cassette_dir() -> Path:
    """Where the notebooks' cassettes live: `KMS_WORKSHOP_CASSETTES`, else `notebooks/cassettes/`."""
    env = os.environ.get("KMS_WORKSHOP_CASSETTES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks" / "cassettes"


def digest(value: str) -> str:
    return DIGEST_PREFIX + hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_digest(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", value) is not None


def account_ids_in(text: str) -> set[str]:
    """Account ids (and creator ids) found in a response body's text."""
    found = set(_ARN_ACCOUNT.findall(text)) | set(_CREATOR.findall(text))
    return {a for a in found if a != ACCOUNT_PLACEHOLDER and len(a) >= 6}


def replace_ids(value: Any, ids: Iterable[str]) -> Any:
    """`value` (a JSON-like structure) with every id in `ids` replaced by the placeholder."""
    ids = sorted(set(ids), key=len, reverse=True)
    if not ids:
        return value
    if isinstance(value, str):
        for one in ids:
            value = value.replace(one, ACCOUNT_PLACEHOLDER)
        return value
    if isinstance(value, list):
        return [replace_ids(v, ids) for v in value]
    if isinstance(value, dict):
        return {replace_ids(k, ids): replace_ids(v, ids) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Request:
    """A request as matched: the action and its scrubbed parameters (names sorted)."""

    action: str
    params: dict[str, str]

    @classmethod
    def from_wire(cls, params: Mapping[str, str], account_ids: Iterable[str] = ()) -> Request:
        """Scrub raw query/form parameters (as sent by the SDK) into a storable request."""
        ids = list(account_ids)
        kept: dict[str, str] = {}
        action = ""
        for name, value in params.items():
            if name == "Action":
                action = value
            elif name in DROPPED_PARAMS:
                continue
            elif name in DIGESTED_PARAMS and not is_digest(value):
                kept[name] = digest(value)
            else:
                kept[name] = replace_ids(value, ids)
        return cls(action, dict(sorted(kept.items())))

    def describe(self, limit: int = 60) -> str:
        """`Encrypt(KeyId='alias/x', Plaintext=sha256:1a2b3c4d…)`: short enough for a traceback."""
        shown = []
        for name, value in self.params.items():
            if name in ("Version", "Format"):
                continue
            shown.append(f"{name}={_short(value, limit)}")
        return f"{self.action or '?'}({', '.join(shown)})"

    def differences(self, other: Request) -> list[str]:
        """Human-readable differences from `other` (the recorded request)."""
        out = []
        if self.action != other.action:
            out.append(f"Action {self.action!r}, recorded {other.action!r}")
        for name in sorted(set(self.params) | set(other.params)):
            mine, theirs = self.params.get(name), other.params.get(name)
            if mine == theirs:
                continue
            if mine is None:
                out.append(f"{name} missing, recorded {_short(theirs)}")
            elif theirs is None:
                out.append(f"{name}={_short(mine)} was not sent when recording")
            elif is_digest(mine):
                out.append(f"{name} differs (a different value; only digests are recorded)")
            else:
                out.append(f"{name}={_short(mine)}, recorded {_short(theirs)}")
        return out


def _short(value: str | None, limit: int = 60) -> str:
    if value is None:
        return "None"
    if is_digest(value):
        return value[: len(DIGEST_PREFIX) + 8] + "…"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


@dataclass
class Response:
    status: int
    body: Any  # the decoded JSON body, or the text if it was not JSON

    @classmethod
    def from_wire(cls, status: int, data: bytes, account_ids: Iterable[str] = ()) -> Response:
        text = data.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return cls(status, replace_ids(body, account_ids))

    def to_bytes(self) -> bytes:
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Interaction:
    request: Request
    response: Response

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": {"action": self.request.action, "params": dict(self.request.params)},
            "response": {"status": self.response.status, "body": self.response.body},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interaction:
        req, resp = data["request"], data["response"]
        params = {str(k): str(v) for k, v in (req.get("params") or {}).items()}
        return cls(Request(str(req["action"]), dict(sorted(params.items()))),
                   Response(int(resp["status"]), resp.get("body")))


@dataclass
class Cassette:
    """A notebook's recorded exchanges, in the order they happened."""

    notebook: str
    upstream: str = "emulator"
    interactions: list[Interaction] = field(default_factory=list)
    path: Path | None = None
    #: the learner whose namespace the recording used; replay uses it too (requests name its aliases)
    learner: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported cassette version {data.get('version')!r}")
        return cls(
            notebook=str(data.get("notebook") or path.stem),
            upstream=str(data.get("upstream") or "unknown"),
            interactions=[Interaction.from_dict(i) for i in data.get("interactions") or []],
            path=path,
            learner=str(data["learner"]) if data.get("learner") else None,
        )

    def scrub_accounts(self, account_ids: Iterable[str]) -> None:
        """Replace the account ids everywhere (a last pass before saving)."""
        ids = set(account_ids)
        if not ids:
            return
        for i in self.interactions:
            i.request = Request(i.request.action, {k: replace_ids(v, ids) for k, v in i.request.params.items()})
            i.response = Response(i.response.status, replace_ids(i.response.body, ids))

    def dumps(self) -> str:
        data = {
            "version": FORMAT_VERSION,
            "notebook": self.notebook,
            "upstream": self.upstream,
            **({"learner": self.learner} if self.learner else {}),
            "account_placeholder": ACCOUNT_PLACEHOLDER,
            "interactions": [i.to_dict() for i in self.interactions],
        }
        text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        return _HEADER.format(notebook=self.notebook) + text

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path or self.path or f"{self.notebook}.yaml")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(target)
        self.path = target
        return target


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PEM text) as literal blocks, so a cassette stays readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
