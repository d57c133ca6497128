"""helpers.notebook_errors in a real IPython shell: the deliberate `cryptography` failures of the
notebooks show short, with a hint and the real class, and `helpers.debug()` still has them all."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from contextlib import redirect_stdout

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from IPython.core.interactiveshell import InteractiveShell

import helpers
from helpers import notebook_errors
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)


@pytest.fixture
def shell():
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(colors="nocolor")
    ip.user_ns.update(ed25519=ed25519, AESGCM=AESGCM)
    yield ip
    ip.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def run(shell, cell: str) -> tuple[object, str]:
    """Run a cell as a notebook would; what it printed (IPython shows tracebacks on stdout)."""
    out = io.StringIO()
    with redirect_stdout(out):
        result = shell.run_cell(cell)
    return result, out.getvalue()


BAD_SIGNATURE = """
private = ed25519.Ed25519PrivateKey.generate()
signature = private.sign(b"release")
private.public_key().verify(signature, b"released")
"""
BAD_TAG = "AESGCM(AESGCM.generate_key(256)).decrypt(bytes(12), bytes(32), None)"


def test_invalid_signature_shows_short_with_a_hint_and_the_real_class(shell):
    assert notebook_errors.install(shell)
    result, shown = run(shell, BAD_SIGNATURE)
    assert type(result.error_in_exec).__name__ == "InvalidSignature"
    lines = shown.strip().splitlines()
    assert lines[0] == "InvalidSignature: the signature does not match these bytes under this public key"
    assert "cryptography.exceptions.InvalidSignature" in lines[1]
    assert lines[2].startswith("Hint: ") and "helpers.debug()" in lines[3]
    assert len(lines) <= 8
    assert "Traceback" not in shown and "site-packages" not in shown and not re.search(r"(^|\s)/\w", shown)


def test_invalid_tag_shows_short_with_a_hint(shell):
    assert notebook_errors.install(shell)
    result, shown = run(shell, BAD_TAG)
    assert type(result.error_in_exec).__name__ == "InvalidTag"
    assert shown.startswith("InvalidTag: AES-GCM authentication failed")
    assert "\nHint: " in shown and "Traceback" not in shown and len(shown.strip().splitlines()) <= 8


def test_debug_still_prints_the_full_traceback(shell, capsys):
    notebook_errors.install(shell)
    run(shell, BAD_SIGNATURE)
    helpers.debug()
    full = capsys.readouterr().err
    assert "Traceback (most recent call last)" in full
    assert "verify" in full and "cryptography.exceptions.InvalidSignature" in full


def test_without_the_handler_ipython_shows_the_raw_traceback(shell):
    _, shown = run(shell, BAD_SIGNATURE)  # what the handler is for: a long traceback, no hint
    assert "Traceback" in shown and "Hint:" not in shown


def test_other_errors_are_left_to_ipython(shell):
    notebook_errors.install(shell)
    result, shown = run(shell, "1 / 0")
    assert isinstance(result.error_in_exec, ZeroDivisionError) and "Traceback" in shown


def test_install_is_idempotent_and_keeps_someone_elses_handler(shell):
    assert notebook_errors.install(shell) and notebook_errors.install(shell)
    shell.set_custom_exc((KeyError,), lambda *a, **k: None)
    assert not notebook_errors.install(shell)
    assert shell.custom_exceptions == (KeyError,)


def test_connect_installs_it_in_the_running_shell(shell, emulator):  # noqa: F811 (fixture)
    with helpers.connect("emulator", endpoint=emulator.endpoint):
        _, shown = run(shell, BAD_SIGNATURE)
    assert shown.startswith("InvalidSignature: ") and "Hint: " in shown


def test_outside_ipython_install_does_nothing_and_never_imports_it():
    probe = "import sys; from helpers import notebook_errors; print(notebook_errors.install(), 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def kit_error_classes(cls=helpers.errors.KitError):
    for sub in cls.__subclasses__():
        yield sub
        yield from kit_error_classes(sub)


def sample(cls):
    if issubclass(cls, helpers.errors.KmsError):
        return cls("Some.Code", "the service's message", http_status=400, request_id="r-1")
    if cls is helpers.errors.OutputExistsError:
        return cls("work/out.bin")
    return cls("what went wrong")


@pytest.mark.parametrize("cls", sorted(set(kit_error_classes()), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_kit_error_renders_short_with_exactly_one_hint(cls):
    shown = sample(cls)._render_traceback_()
    assert shown[0].startswith(f"{cls.__name__}: ") and shown[-1] == "(helpers.debug() shows the full traceback)"
    assert sum(line.startswith("Hint: ") for line in shown) == 1, shown
    assert len(shown) <= 8
