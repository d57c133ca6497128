"""What every verb shares: the documented exit codes, the mapping from exceptions to them, the
`--context key=value` parser, and the wrapper that turns an exception into one error line."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .. import envelope
from ..errors import ConfigError, InvalidCiphertextError, KmsError, PlaintextTooLargeError
from ..errors import OutputExistsError
from ..errors import UsageError as UsageError  # re-exported (errors.py has them all)

OK, DATA, USAGE, KMS, IO, INTERRUPTED = 0, 1, 2, 3, 4, 130
SUFFIX = ".cipher"  # the seed's name for an encrypted key.pem


def exit_code(exc: BaseException, *, decrypting: bool) -> int:
    """The documented exit code for an exception (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(exc, envelope.EnvelopeError | InvalidCiphertextError):
        return DATA
    if isinstance(exc, KmsError | ConfigError):
        return KMS
    if isinstance(exc, OSError):
        return IO
    if isinstance(exc, PlaintextTooLargeError | UsageError):
        return USAGE
    if isinstance(exc, ValueError):  # not ciphertext (decrypt) / not fit for --method (encrypt)
        return DATA if decrypting else USAGE
    raise exc  # a bug: let the traceback show


def parse_context(pairs: list[str]) -> dict[str, str] | None:
    """`["app=web", "env=prod"]` -> `{"app": "web", "env": "prod"}`; none -> None."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--context takes key=value, not {pair!r}")
        context[key] = value
    return context or None


def guarded(verb: str, body: Callable[[], int], *, decrypting: bool) -> int:
    """Run a verb's body; an expected failure becomes one `kms-workshop VERB: error:` line and its
    exit code (an unexpected one, a bug, keeps its traceback)."""
    try:
        return body()
    except BaseException as exc:  # noqa: BLE001 (mapped to a code; real bugs re-raise there)
        code = exit_code(exc, decrypting=decrypting)
        if code != INTERRUPTED:
            print(f"kms-workshop {verb}: error: {shell_message(exc)}", file=sys.stderr)
        return code


def shell_message(exc: BaseException) -> str:
    """The error's text as a shell user should read it (options, not Python arguments)."""
    if isinstance(exc, OutputExistsError):
        return f"{exc.path} already exists; add --force to replace it."
    return str(exc)
