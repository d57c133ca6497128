"""The wire's parameters: form-decoding the query string and body into one string map, then
reading typed API parameters from it, with the service's error codes."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from urllib.parse import unquote

from . import errors

#: parameters per request (query and body each) before the gateway refuses to decode more [I]
MAX_PARAMS = 200


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, str]:
    """Query string ∪ form body, form-decoded (``+`` is a space, ``%XX`` UTF-8 bytes)."""
    pairs = decode_form(query, "query")
    if body and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            pairs += decode_form(body.decode("utf-8"), "body")
        except UnicodeDecodeError as exc:
            raise errors.ParseRequestParameterException("The request body is not valid UTF-8.") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            # [I] the gateway's handling of repeats is undocumented; refusing beats guessing.
            raise errors.InvalidParameter.named(name, "The parameter is repeated.")
        if "\x00" in name or "\x00" in value:
            raise errors.InvalidParameter.named(name, "NUL characters are not allowed.")  # [I]
        params[name] = value
    return params


def _unquote(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text  # the common case, e.g. Action=Encrypt: nothing to decode
    return unquote(text.replace("+", " "), errors="strict")


def decode_form(text: str, where: str) -> list[tuple[str, str]]:
    """Form decoding like ``parse_qsl(keep_blank_values=True, errors="strict")``, but faster."""
    parts = [p for p in text.split("&") if p]
    if len(parts) > MAX_PARAMS:
        raise errors.ParseRequestParameterException(f"Too many parameters in the {where}.")
    try:
        return [(_unquote(name), _unquote(value)) for name, _, value in (p.partition("=") for p in parts)]
    except UnicodeDecodeError as exc:
        raise errors.ParseRequestParameterException(f"The {where} is not valid UTF-8.") from exc

_DURATION = re.compile(r"^(\d{1,10})([dhms])$")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def required(params: Mapping[str, str], name: str, max_length: int = 8192) -> str:
    value = params.get(name, "")
    if value == "":
        raise errors.MissingParameter(name)
    return _bounded(name, value, max_length)


def optional(params: Mapping[str, str], name: str, default: str = "", max_length: int = 8192) -> str:
    return _bounded(name, params.get(name, default), max_length)


def _bounded(name: str, value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise errors.InvalidParameter.named(name, f"It must be at most {max_length} characters.")
    return value


def choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in allowed:
        raise errors.InvalidParameter.named(name, f"Allowed values: {', '.join(allowed)}.")
    return value


def integer(params: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        if default is None:
            raise errors.MissingParameter(name)
        return default
    if not re.fullmatch(r"[+-]?\d{1,10}", raw) or not low <= int(raw) <= high:
        raise errors.InvalidParameter.named(name, f"It must be an integer from {low} to {high}.")
    return int(raw)


def boolean(params: Mapping[str, str], name: str) -> bool:
    # The classic SDK str()s Python booleans, so "True" arrives as often as "true" ([I] accepted).
    raw = params.get(name, "false").lower() or "false"
    if raw not in ("true", "false"):
        raise errors.InvalidParameter.named(name, "It must be true or false.")
    return raw == "true"


def page(params: Mapping[str, str]) -> tuple[int, int]:
    # [I] 1-100 for every list action: ListAliasesByKeyId's documented "0-101" is a typo.
    return integer(params, "PageNumber", 1, 1, 1_000_000), integer(params, "PageSize", 10, 1, 100)


def _json(params: Mapping[str, str], name: str, max_length: int) -> object:
    raw = _bounded(name, params.get(name, ""), max_length)
    try:
        value = json.loads(raw)
        # A "\ud800" escape parses to a lone surrogate, which no UTF-8 step later can encode.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise errors.InvalidParameter.named(name, "It must be valid JSON.") from exc
    return value


def encryption_context(params: Mapping[str, str], name: str = "EncryptionContext") -> dict[str, str] | None:
    """A JSON object of string to string, at most 8192 characters; absent -> None."""
    if params.get(name, "") == "":
        return None
    value = _json(params, name, 8192)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise errors.InvalidParameter.named(name, "It must be a JSON object of string values.")
    return value


def tags(params: Mapping[str, str], name: str = "Tags") -> list[tuple[str, str]]:
    """``[{"TagKey": "k", "TagValue": "v"}, ...]``: at most 20, each part 1-128 chars, no reserved keys."""
    if params.get(name, "") == "":
        return []
    value = _json(params, name, 65536)
    if not isinstance(value, list) or len(value) > 20:
        raise errors.InvalidParameter.named(name, "It must be a JSON array of at most 20 tags.")
    result: list[tuple[str, str]] = []
    for item in value:
        key = item.get("TagKey") if isinstance(item, dict) else None
        val = item.get("TagValue") if isinstance(item, dict) else None
        if not isinstance(key, str) or not isinstance(val, str) or not 1 <= len(key) <= 128 or len(val) > 128:
            raise errors.InvalidParameter.named(name, "Each tag needs a TagKey and a TagValue of at most 128 characters.")
        if key.lower().startswith(("aliyun", "acs:")):
            raise errors.InvalidParameter.named(name, "TagKey must not start with aliyun or acs:.")
        result.append((key, val))
    return result


def string_list(params: Mapping[str, str], name: str) -> list[str]:
    value = _json(params, name, 65536) if params.get(name) else None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        if name not in params:
            raise errors.MissingParameter(name)
        raise errors.InvalidParameter.named(name, "It must be a non-empty JSON array of strings.")
    return value


def filters(params: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """ListKeys ``Filters``: ``[{"Key": "KeyState", "Values": ["Enabled"]}]``, at most 10."""
    if params.get("Filters", "") == "":
        return []
    value = _json(params, "Filters", 65536)
    if not isinstance(value, list) or len(value) > 10:
        raise errors.InvalidParameter.named("Filters", "It must be a JSON array of at most 10 filters.")
    result: list[tuple[str, tuple[str, ...]]] = []
    for item in value:
        key = item.get("Key") if isinstance(item, dict) else None
        values = item.get("Values") if isinstance(item, dict) else None
        if not isinstance(key, str) or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise errors.InvalidParameter.named("Filters", 'Each filter is {"Key": "...", "Values": ["..."]}.')
        result.append((key, tuple(values)))
    return result


def duration(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """``365d``, ``604800s`` ... -> seconds, within [low, high]."""
    raw = params.get(name, "")
    if raw == "":
        return None
    match = _DURATION.match(raw)
    seconds = int(match.group(1)) * _SECONDS[match.group(2)] if match else -1
    if not low <= seconds <= high:
        span = f"{low // 86400} and {high // 86400} days" if not (low % 86400 or high % 86400) else f"{low}s and {high}s"
        raise errors.InvalidParameter.named(name, f"Use <int>[dhms] between {span}.")
    return seconds


def base64_bytes(params: Mapping[str, str], name: str, max_length: int = 8192) -> bytes:
    """A required parameter holding strict Base64 (a digest, a signature, a ciphertext) -> its bytes."""
    raw = required(params, name, max_length)
    try:
        return base64.b64decode(raw.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise errors.InvalidParameter.named(name, "It must be Base64.") from exc
