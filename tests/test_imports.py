"""The package's layers point one way: each module imported alone, in a fresh interpreter, pulls in
only what its layer may use. A server's decrypt-key never loads ipywidgets, the emulator never
loads the SDK, and `import helpers` loads neither until a name is used."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import helpers

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(m.name for m in pkgutil.walk_packages(helpers.__path__, "helpers.") if not m.name.endswith("__main__"))
HEAVY = ("aliyunsdkcore", "aliyunsdkkms", "ipywidgets", "nbclient", "detect_secrets", "playwright")


def loaded_by(code: str) -> set[str]:
    """Modules (helpers.* and the heavy third-party ones) that `code` leaves in sys.modules."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m.startswith(('helpers',) + {HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    return {m.split(".")[0] if not m.startswith("helpers") else m for m in json.loads(out.stdout.splitlines()[-1])}


def test_every_module_imports_alone():
    assert len(MODULES) > 20
    for name in MODULES:
        loaded_by(f"import {name}")  # an import cycle or a missing dependency fails here


@pytest.mark.parametrize("layer", ["helpers.emulator", "helpers.replay"])
def test_lower_layers_never_import_upwards(layer):
    # the package's own light face (errors, ownership rules), and the leaves every layer may use:
    # the list of secret names, HTTP framing and connection limits (stdlib only)
    face = loaded_by("import helpers") | {"helpers.sensitive", "helpers.httpwire", "helpers.httpguard"}
    for name in (m for m in MODULES if m.startswith(layer + ".")):
        outside = {m for m in loaded_by(f"import {name}") - face
                   if m.startswith("helpers.") and not m.startswith(layer)}
        assert not outside, f"{name} imports {sorted(outside)} from a layer above it"
        assert not loaded_by(f"import {name}") & set(HEAVY), name


def test_import_helpers_loads_no_sdk_widgets_envelope_or_tls_until_used():
    loaded = loaded_by("import helpers")
    assert not loaded & set(HEAVY)
    assert not loaded & {"helpers.envelope", "helpers.tls", "helpers.widgets", "helpers.client", "helpers.kms"}
    assert "helpers.envelope" in loaded_by("import helpers; helpers.envelope")
    assert "aliyunsdkcore" in loaded_by("import helpers; helpers.connect")


def test_the_emulator_server_loads_neither_the_sdk_nor_widgets():
    loaded = loaded_by("import helpers.emulator.server")
    assert not loaded & {"aliyunsdkcore", "aliyunsdkkms", "ipywidgets"}


def test_decrypt_key_help_does_not_load_widgets():
    loaded = loaded_by("import sys\nfrom helpers.__main__ import main\ntry:\n    main(['decrypt-key', '--help'])\n"
                       "except SystemExit:\n    pass")
    assert "ipywidgets" not in loaded and "helpers.widgets" not in loaded
