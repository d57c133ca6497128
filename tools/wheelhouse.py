"""`make wheelhouse`: every wheel a learner needs, for a room with no Wi-Fi.

    python -m tools.wheelhouse [--out wheelhouse] [--this-platform]

For CPython 3.11-3.13 on Linux (x86_64, aarch64), macOS (x86_64, arm64) and Windows (amd64): the
learner set (the kit's runtime dependencies, pinned by constraints.txt, resolved per platform by
uv so that platform-only dependencies such as pywin32 are included), the build backend, uv, the
kit itself as a wheel, constraints.txt and a README on handing it out. Pure-Python packages appear
once; packages published only as source are built into pure-Python wheels here.
`--this-platform` makes only this machine's set (what `make test` installs offline).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11", "3.12", "3.13")
#: the patch release each minor version is resolved for (the pinned set needs 3.11.5 or newer:
#: soupsieve, under JupyterLab, says so)
RESOLVE_AS = {"3.11": "3.11.5", "3.12": "3.12.0", "3.13": "3.13.0"}
#: uv's name for the platform -> pip's platform tags for it (pip widens manylinux2014 and macosx
#: tags to the older compatible ones itself, but not the PEP 600 manylinux_x_y ones)
PLATFORMS = {
    "x86_64-unknown-linux-gnu": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "aarch64-unknown-linux-gnu": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "x86_64-apple-darwin": ("macosx_11_0_x86_64",),
    "aarch64-apple-darwin": ("macosx_11_0_arm64",),
    "x86_64-pc-windows-msvc": ("win_amd64",),
}
#: installed next to the learner set: what building the kit (`-e .`) and `make env` need
BUILD = ("setuptools", "wheel", "uv")
README = """# The KMS workshop wheelhouse

Everything a learner needs to install the kit with no network: wheels for CPython {pythons} on
{platforms}, the kit itself, and constraints.txt. {size}.

## Handing it out
- **USB stick**: copy this folder next to the kit (as `wheelhouse/`), or anywhere and set
  `KMS_WORKSHOP_WHEELHOUSE=/path/to/wheelhouse`. `make lab` and `make env` then install from it.
- **A local web server**: on the instructor's laptop, `python -m http.server 8000 --directory wheelhouse`,
  and learners install with `--no-index --find-links http://<instructor-ip>:8000/`.

## Installing without make (any OS; on Windows use `py -3.12` and `.venv\\Scripts\\python`)
    python3 -m venv .venv
    .venv/bin/python -m pip install --no-index --find-links wheelhouse -c wheelhouse/constraints.txt -e .
    .venv/bin/python -m helpers lab
"""


def run(cmd: list[str], **kw: object) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stdout}{out.stderr}")
    return str(out.stdout)


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        raise SystemExit("uv is needed to resolve each platform's dependencies: `make env` installs it")
    return found


def resolve(target: str, python: str, constraints: Path) -> list[str]:
    """The learner set's pinned requirements on one platform and Python (`name==version`)."""
    text = run([uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate", str(REPO / "pyproject.toml"),
                "-c", str(constraints), "--python-platform", target,
                "--python-version", platform.python_version() if python == local_python() else RESOLVE_AS[python]])
    return [line.split(";")[0].strip() for line in text.splitlines() if "==" in line]


def this_target() -> str:
    machine = platform.machine().lower()
    arch = "aarch64" if machine in ("arm64", "aarch64") else "x86_64"
    return {"Linux": f"{arch}-unknown-linux-gnu", "Darwin": f"{arch}-apple-darwin",
            "Windows": "x86_64-pc-windows-msvc"}[platform.system()]


def build(out: Path, targets: list[str], pythons: tuple[str, ...]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    constraints = REPO / "constraints.txt"
    pins = {line.split("==")[0].lower(): line.strip() for line in constraints.read_text().splitlines() if "==" in line}
    here = this_target()
    local = resolve(here, local_python(), constraints)
    extra = [pins[name] for name in BUILD if name in pins]
    # This machine's set: wheels where published, pure-Python wheels built from source otherwise.
    run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
         "-w", str(out), *local, *extra])
    run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
         "-w", str(out), str(REPO)])
    gaps: dict[str, list[str]] = {}  # requirement -> the platforms with no wheel published for it
    pure = {_name(p) for p in out.glob("*.whl") if p.name.endswith(("-none-any.whl",))}
    for target in targets:
        for python in pythons:
            if (target, python) == (here, local_python()):
                continue  # done above by `pip wheel`
            wanted = [r for r in resolve(target, python, constraints) + extra if _key(r) not in pure]
            if not wanted:
                continue
            tags = [arg for tag in PLATFORMS[target] for arg in ("--platform", tag)]
            base = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "--implementation", "cp", "--python-version", python, *tags]
            with tempfile.TemporaryDirectory() as tmp:
                if subprocess.run([*base, "-d", tmp, *wanted], capture_output=True).returncode != 0:
                    for requirement in wanted:  # find which have no wheel here, keep the rest
                        if subprocess.run([*base, "-d", tmp, requirement], capture_output=True).returncode != 0:
                            gaps.setdefault(requirement, []).append(f"{target} {python}")
                for wheel in Path(tmp).glob("*.whl"):
                    if not (out / wheel.name).exists():
                        shutil.move(str(wheel), out / wheel.name)
    for requirement, where in sorted(gaps.items()):
        print(f"no wheel published for {requirement} on: {', '.join(where)}", file=sys.stderr)
    shutil.copy(constraints, out / "constraints.txt")
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    names = ", ".join(sorted({t.split("-")[0] + " " + ("Linux" if "linux" in t else "macOS" if "apple" in t else "Windows")
                              for t in targets}))
    missing = "".join(f"\n- `{r}`: no wheel published for {', '.join(where)}; learners there need the "
                      "network (or a compiler and the source) for it" for r, where in sorted(gaps.items()))
    (out / "README.md").write_text(README.format(pythons=", ".join(pythons), platforms=names,
                                                 size=f"{len(list(out.glob('*.whl')))} wheels, {size:.0f} MiB")
                                   + ("\n## Gaps\n" + missing + "\n" if gaps else ""))
    print(f"{out}: {len(list(out.glob('*.whl')))} wheels, {size:.0f} MiB, for {len(targets)} platform(s) x "
          f"{len(pythons)} Python(s); {len(gaps)} package(s) without a wheel somewhere (see its README)")


def local_python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _name(path: Path) -> str:
    return path.name.split("-")[0].lower().replace("_", "-")


def _key(requirement: str) -> str:
    return requirement.split("==")[0].strip().lower().replace("_", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.wheelhouse", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "wheelhouse")
    parser.add_argument("--this-platform", action="store_true", help="only this machine's platform and Python")
    args = parser.parse_args(argv)
    if args.this_platform:
        build(args.out, [this_target()], (local_python(),))
    else:
        build(args.out, list(PLATFORMS), PYTHONS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
