"""Mutation testing of the kit's security modules: do the tests notice a planted bug?

    python -m tools.mutants                      # every module in TARGETS (make mutants)
    python -m tools.mutants --module helpers/retry.py --jobs 2
    python -m tools.mutants --list --module helpers/envelope.py   # the mutants, nothing run
    python -m tools.mutants --report             # the Markdown section from docs/mutants.json

For each module in `TARGETS`, every mutation of tools/mutation_ops.py is applied, one at a time, to
an in-memory copy of the module, and only the test files mapped to that module run (`-x -q`, with
a per-mutant timeout). A failing test *kills* the mutant; a mutant no test notices *survives* and
is either a missing test or, named with its reason in tools/mutants_equivalent.toml, equivalent.
Results go to docs/mutants.json; `report_section()` renders them for docs/reliability.md.

Why not mutmut: mutmut 3 copies the mutated files and the tests into `mutants/` and runs pytest
there, so this layout needs its own `[tool.mutmut]` config with `also_copy` for helpers/, tools/,
the fixtures and the notebooks' certificates (without it the copy's conftest fails to import
`helpers.emulator`), and it mutates every string and argument, which buries the few operators that
matter for security code. The source tree is never written here, which matters in a checkout that
others edit while mutants run: the mutant is loaded by an import hook, in a forked child (after
pytest and the heavy libraries are imported once, which saves ~4 s per mutant) or, with --no-fork,
in a fresh interpreter. Processes the tests start inherit the mutant through `sitecustomize`.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

from tools.mutation_ops import OPERATORS, Mutation, mutant_code, mutations

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "mutants.json"
EQUIVALENTS = REPO / "tools" / "mutants_equivalent.toml"
#: set in a mutant's process (and so inherited by what its tests start): JSON [root, module, index, functions]
ENV = "KMS_WORKSHOP_MUTANT"
#: a fixed hypothesis seed: the same verdict each run. The warning ignored is pytest's note that
#: hypothesis, imported before the fork to save time, cannot be assertion-rewritten (an error here).
PYTEST_ARGS = ("-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0",
               "-W", "ignore::pytest.PytestAssertRewriteWarning")  # fmt: skip
#: a mutant may take this many times the unmutated run (plus a constant) before it counts as a hang
TIMEOUT_FACTOR, TIMEOUT_MIN = 3.0, 20.0
#: address space per mutant: a mutant that trusts a hostile size fails with MemoryError (and is
#: killed) instead of taking gigabytes on a shared machine
MEMORY_LIMIT = 3 << 30


@dataclass(frozen=True)
class Target:
    """The tests that promise a module's behaviour, and (optionally) which of its parts to mutate."""

    tests: tuple[str, ...]
    #: top-level functions or classes to mutate (None: the whole module, constants included)
    functions: frozenset[str] | None = None
    #: test ids not run for mutants: slow ones that check resources, not this module's logic
    deselect: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "helpers/envelope.py": Target(
        ("tests/test_envelope.py", "tests/test_hostile_envelope.py", "tests/test_mutant_kills.py"),
        deselect=("tests/test_envelope.py::test_envelope_one_gib_streams_in_constant_memory",)),
    # what decides and does the deleting; the plan's wording (describe) is not mutated
    "helpers/cleanup.py": Target(("tests/test_cleanup.py", "tests/test_mutant_kills.py"),
                                 frozenset({"plan", "apply", "CleanupPlan.token", "CleanupPlan.empty"})),
    # the scrubbing: what a cassette may hold (not its YAML layout or its error messages)
    "helpers/replay/cassette.py": Target(
        ("tests/test_replay.py", "tests/test_cassette_scan.py", "tests/test_mutant_kills.py"),
        frozenset({"digest", "is_digest", "account_ids_in", "replace_ids", "Request.from_wire", "Response.from_wire",
                   "Cassette.scrub_accounts", "<module>"})),
    # The repository-wide scan (the first test) costs ~7 s per surviving mutant; the planted-secret
    # tests exercise the same rules on a small tree, so mutants run those.
    "tools/secretscan.py": Target(
        ("tests/test_secrets_scan.py", "tests/test_mutant_kills.py"),
        frozenset({"<module>", "alibaba_findings", "private_key_findings", "_der_findings", "_adjacent_secret_findings",
                   "private_keys_in", "strings", "_base64", "notebook_outputs", "cassette_strings", "_documents",
                   "demo_public_keys", "scan"}),
        deselect=("tests/test_secrets_scan.py::test_secrets_scan_repository_notebook_outputs_and_cassettes_are_clean",)),
    "helpers/retry.py": Target(("tests/test_retry.py", "tests/test_mutant_kills.py")),
    "helpers/emulator/crypto.py": Target(("tests/test_emulator_crypto.py", "tests/test_hostile_blob.py", "tests/test_emulator_keys.py",
                                          "tests/test_mutant_kills.py", "tests/test_mutant_kills_emulator.py")),
    # who may see and use which key: lookups across accounts, key state, the blob's version
    "helpers/emulator/backend.py": Target(
        ("tests/test_emulator_sdk.py", "tests/test_emulator_keys.py", "tests/test_state_files.py", "tests/test_mutant_kills.py",
         "tests/test_mutant_kills_emulator.py"),
        frozenset({"KmsBackend._version", "KmsBackend._load", "KmsBackend.resolve", "KmsBackend._transition",
                   "KmsBackend.list_keys", "KmsBackend.encrypt", "KmsBackend.decrypt"})),
    "helpers/emulator/auth.py": Target(("tests/test_emulator_auth.py", "tests/test_gateway_guards.py", "tests/test_emulator_server.py",
                                        "tests/test_mutant_kills_emulator.py")),
    "helpers/atomic.py": Target(("tests/test_atomic.py", "tests/test_cli_hostile.py", "tests/test_files.py", "tests/test_os_fallbacks.py", "tests/test_envelope.py",
                                 "tests/test_mutant_kills_atomic.py"),
                                deselect=("tests/test_envelope.py::test_envelope_one_gib_streams_in_constant_memory",)),
}  # fmt: skip


# --- loading a mutant ---------------------------------------------------------------------------
class _MutantLoader(importlib.machinery.SourceFileLoader):
    """Loads the module from the mutated code object; nothing is written, not even a .pyc."""

    def __init__(self, fullname: str, path: str, code: CodeType) -> None:
        super().__init__(fullname, path)
        self._code = code

    def get_code(self, fullname: str) -> CodeType:
        return self._code


class _MutantFinder(importlib.abc.MetaPathFinder):
    def __init__(self, fullname: str, path: Path, code: CodeType) -> None:
        self.fullname, self.path, self.code = fullname, path, code

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: Any = None) -> Any:
        if fullname != self.fullname:
            return None
        loader = _MutantLoader(fullname, str(self.path), self.code)
        return importlib.util.spec_from_file_location(fullname, self.path, loader=loader)


def module_name(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def install(root: Path, module: str, index: int, functions: Iterable[str] | None) -> None:
    """Make `import <module>` in this process load mutant `index` of `root/module`."""
    name, path = module_name(module), root / module
    if any(isinstance(f, _MutantFinder) and f.fullname == name for f in sys.meta_path):
        return  # sitecustomize has installed it already (a fresh interpreter)
    code = mutant_code(path.read_text(encoding="utf-8"), str(path), index, _frozen(functions))
    sys.meta_path.insert(0, _MutantFinder(name, path, code))


def install_from_env() -> None:
    """Called by the generated sitecustomize in every process a mutant's tests start."""
    spec = os.environ.get(ENV)
    if spec:
        root, module, index, functions = json.loads(spec)
        install(Path(root), module, int(index), functions)


def _frozen(functions: Iterable[str] | None) -> frozenset[str] | None:
    return None if functions is None else frozenset(functions)


# --- running one mutant -------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    root: Path
    module: str
    index: int  # -1: the unmutated baseline
    target: Target

    def pytest_args(self) -> list[str]:
        args = [*self.target.tests, *PYTEST_ARGS]
        for test in self.target.deselect:
            args += ["--deselect", test]
        return args

    def env(self, site_dir: Path, scratch: Path) -> dict[str, str]:
        functions = None if self.target.functions is None else sorted(self.target.functions)
        paths = [str(site_dir), str(REPO), os.environ.get("PYTHONPATH", "")]
        return {ENV: json.dumps([str(self.root), self.module, self.index, functions]),
                "PYTHONPATH": os.pathsep.join(p for p in paths if p),
                # hypothesis would otherwise save each mutant's failing examples into .hypothesis/
                "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / "hypothesis")}  # fmt: skip


def _child_main(job: Job, site_dir: Path, scratch: Path) -> int:
    """In the mutant's own process: install the mutant, then run the mapped tests."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # not on this platform, or a lower limit is set already
        pass
    os.chdir(job.root)
    os.environ.update(job.env(site_dir, scratch))
    install_from_env()
    import pytest

    return int(pytest.main(job.pytest_args()))


class _Running:
    """A mutant's process (forked or started): its own process group, so a hang is killed whole."""

    def __init__(self, job: Job, log: Path, site_dir: Path, scratch: Path, fork: bool) -> None:
        self.job, self.log, self.started = job, log, time.monotonic()
        self.proc: subprocess.Popen[bytes] | None = None
        if fork:
            sys.stdout.flush()
            sys.stderr.flush()
            self.pid = os.fork()
            if self.pid == 0:  # the child: never returns
                code = 98
                try:
                    os.setsid()
                    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    code = _child_main(job, site_dir, scratch)
                except BaseException:  # noqa: BLE001 (report anything, then leave without cleanup)
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
        else:
            spec = json.dumps({"root": str(job.root), "module": job.module, "index": job.index,
                               "tests": job.target.tests, "deselect": job.target.deselect,
                               "functions": None if job.target.functions is None else sorted(job.target.functions),
                               "site_dir": str(site_dir), "scratch": str(scratch)})  # fmt: skip
            with open(log, "wb") as out:
                # not `-m tools.mutants`: sitecustomize has imported it already, which runpy warns about
                entry = "import sys; from tools.mutants import main; sys.exit(main(sys.argv[1:]))"
                self.proc = subprocess.Popen([sys.executable, "-c", entry, "--child", spec],
                                             cwd=job.root, stdout=out, stderr=subprocess.STDOUT,
                                             env={**os.environ, **job.env(site_dir, scratch)},
                                             start_new_session=True)  # fmt: skip
            self.pid = self.proc.pid

    def poll(self) -> int | None:
        if self.proc is not None:
            return self.proc.poll()
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        return None if pid == 0 else os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        """End this mutant's process group (also what its tests started and left behind)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> None:
        self.kill()
        if self.proc is not None:
            self.proc.wait()
        else:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


#: pytest's summary line of the first failing test. A test id may hold spaces ("[DEBUG logging]");
#: it starts with the test file, which tells it from a captured log line at level ERROR.
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+\.py(?:::.+?)?)(?: - .*)?$", re.M)


def _killer(log: Path, code: int) -> str:
    text = log.read_text(encoding="utf-8", errors="replace")
    found = _FAILED.search(text)
    return found.group(1) if found else f"exit code {code}"


@dataclass
class Outcome:
    index: int
    status: str  # killed, survived, timeout
    by: str = ""  # the first failing test (killed) or the timeout (timeout)
    seconds: float = 0.0
    log_tail: str = ""  # the end of pytest's output, kept for a baseline that fails


def run_jobs(jobs: list[Job], timeouts: dict[str, float], workers: int, fork: bool,
             progress: bool = True) -> list[Outcome]:  # fmt: skip
    """Run every job, `workers` at a time; a job over its module's timeout is killed."""
    outcomes: list[Outcome] = []
    scratch = Path(tempfile.mkdtemp(prefix="kms-mutants-"))
    site_dir = scratch / "site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text("from tools.mutants import install_from_env\ninstall_from_env()\n")
    pending, running = list(reversed(jobs)), list[_Running]()
    try:
        while pending or running:
            while pending and len(running) < workers:
                job = pending.pop()
                running.append(_Running(job, scratch / f"{job.index}.log", site_dir, scratch, fork))
            time.sleep(0.05)
            for run in list(running):
                code = run.poll()
                elapsed = time.monotonic() - run.started
                limit = timeouts.get(run.job.module, float("inf"))
                if code is None and elapsed < limit:
                    continue
                running.remove(run)
                run.reap()
                if code is None:
                    outcome = Outcome(run.job.index, "timeout", f"over {limit:.0f} s", elapsed)
                elif code == 0:
                    outcome = Outcome(run.job.index, "survived", "", elapsed)
                else:
                    outcome = Outcome(run.job.index, "killed", _killer(run.log, code), elapsed)
                if run.job.index < 0:
                    outcome.log_tail = run.log.read_text(encoding="utf-8", errors="replace")[-3000:]
                outcomes.append(outcome)
                if progress:
                    print(f"  {run.job.module} #{run.job.index}: {outcome.status} {outcome.by[:80]} "
                          f"({elapsed:.1f} s)", flush=True)  # fmt: skip
    finally:
        for run in running:
            run.reap()
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(outcomes, key=lambda o: o.index)


def _preimport() -> None:
    """Import pytest and the heavy libraries once, before forking (never the kit). Not nbval's
    plugin module, which pytest would then refuse to rewrite: nbformat is what makes it slow."""
    import pytest  # noqa: F401

    for name in ("hypothesis", "nbformat", "cryptography.hazmat.primitives.ciphers.aead", "yaml", "aliyunsdkcore.client",
                 "aliyunsdkkms.request.v20160120.EncryptRequest", "detect_secrets.core.scan"):  # fmt: skip
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _can_fork(modules: Iterable[str]) -> bool:
    """Forking is safe only if nothing a mutant replaces (nor the kit itself) is already imported."""
    replaced = {module_name(m) for m in modules}
    return hasattr(os, "fork") and not any(name in replaced or name.split(".")[0] == "helpers" for name in sys.modules)


# --- a module's run -----------------------------------------------------------------------------
@dataclass
class ModuleResult:
    module: str
    tests: list[str]
    mutants: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def count(self, status: str) -> int:
        return sum(1 for m in self.mutants if m["status"] == status)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tests": self.tests, "total": len(self.mutants)}
        data.update({s: self.count(s) for s in ("killed", "timeout", "survived")})
        if self.error:
            data["error"] = self.error
        data["mutants"] = self.mutants
        return data


def list_mutations(module: str, target: Target, root: Path = REPO) -> list[Mutation]:
    source = (root / module).read_text(encoding="utf-8")
    import ast

    return [m for m, _ in mutations(ast.parse(source, module), target.functions)]


def run_module(module: str, target: Target, *, root: Path = REPO, workers: int = 2, fork: bool = True,
               progress: bool = True) -> ModuleResult:  # fmt: skip
    """Baseline (the tests must pass unmutated), then every mutant of `module`."""
    result = ModuleResult(module, list(target.tests))
    found = list_mutations(module, target, root)
    base = run_jobs([Job(root, module, -1, target)], {}, 1, fork, progress=False)[0]
    if base.status != "survived":  # "survived" here means: the unmutated tests pass
        result.error = f"the tests fail without any mutant, so nothing was measured:\n{base.log_tail}"
        return result
    limit = max(TIMEOUT_MIN, TIMEOUT_FACTOR * base.seconds + 10)
    if progress:
        print(f"{module}: {len(found)} mutants; unmutated tests {base.seconds:.1f} s, timeout {limit:.0f} s", flush=True)
    outcomes = run_jobs([Job(root, module, i, target) for i in range(len(found))], {module: limit}, workers, fork, progress)
    for mutation, outcome in zip(found, outcomes, strict=True):
        entry: dict[str, Any] = {"id": mutation.id, "line": mutation.line, "op": mutation.op, "status": outcome.status}
        if outcome.status == "killed":
            entry["by"] = outcome.by
        result.mutants.append(entry)
    return result


def save(results: Iterable[ModuleResult], path: Path = RESULTS) -> None:
    """Merge these modules' results into `path` (other modules' earlier results are kept)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    modules = data.get("modules", {})
    for result in results:
        modules[result.module] = result.to_json()
    data = {"generated_by": "python -m tools.mutants (make mutants)", "operators": OPERATORS,
            "modules": dict(sorted(modules.items()))}  # fmt: skip
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the report ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Named:
    """The committed list (tools/mutants_equivalent.toml); each table maps module -> mutant id -> text."""

    equivalent: dict[str, dict[str, str]]  # no test can tell: the reason
    killed: dict[str, dict[str, str]]  # survived an earlier run: the test written for it
    open: dict[str, dict[str, str]]  # survives, acknowledged: what a test would have to check

    def reason(self, module: str, mutant_id: str) -> str | None:
        if mutant_id in self.equivalent.get(module, {}):
            return f"equivalent: {self.equivalent[module][mutant_id]}"
        if mutant_id in self.open.get(module, {}):
            return f"open (no test yet): {self.open[module][mutant_id]}"
        return None


def load_named(path: Path = EQUIVALENTS) -> Named:
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return Named(data.get("equivalent", {}), data.get("killed", {}), data.get("open", {}))


def report_section(results: Path = RESULTS, named: Path = EQUIVALENTS) -> str:
    """Markdown: the score per module, each survivor with its reason, and the survivors now killed."""
    modules: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))["modules"] if results.is_file() else {}
    names = load_named(named)
    out = ["## Mutation testing", "",
           "`make mutants` (tools/mutants.py) plants one small bug at a time in each security module and runs "
           "the tests mapped to it; a mutant is *killed* when a test fails. Operators: "
           + "; ".join(OPERATORS.values()) + ". Score = (killed + timed out) / (mutants - named equivalents).",
           "", "| Module | Mutants | Killed | Timed out | Survived | Equivalent | Score |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    survivors: list[str] = []
    now_killed: list[str] = []
    for module, data in modules.items():
        if data.get("error"):
            out.append(f"| `{module}` | not measured: {data['error'].splitlines()[0]} | | | | | |")
            continue
        alive = [m for m in data["mutants"] if m["status"] == "survived"]
        n_equivalent = sum(1 for m in alive if m["id"] in names.equivalent.get(module, {}))
        detected = data["killed"] + data["timeout"]
        denominator = data["total"] - n_equivalent
        score = f"{100 * detected / denominator:.0f}%" if denominator else "n/a"
        out.append(f"| `{module}` | {data['total']} | {data['killed']} | {data['timeout']} | {len(alive)} "
                   f"| {n_equivalent} | {score} |")  # fmt: skip
        for m in alive:
            why = names.reason(module, m["id"]) or "**survives: no test notices it**"
            survivors.append(f"- `{module}:{m['line']}` `{m['id']}`: {why}")
        by_id = {m["id"]: m for m in data["mutants"]}
        for mutant_id in names.killed.get(module, {}):
            m = by_id.get(mutant_id)
            if m is None:
                continue  # the code it mutated has changed since
            state = f"killed by `{m['by']}`" if m["status"] == "killed" else f"**{m['status']} again**"
            now_killed.append(f"- `{module}:{m['line']}` `{mutant_id}`: {state}")
    out += ["", "### Survivors", ""] + (survivors or ["None."])
    if now_killed:
        out += ["", "### Survivors of an earlier run, killed by a test written for them", ""] + now_killed
    return "\n".join(out) + "\n"


# --- command line -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutants", description=__doc__.split("\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(TARGETS), help="only this module (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at the same time (default 2)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--report", action="store_true", help="print the Markdown section from the results file")
    parser.add_argument("--no-fork", action="store_true", help="a fresh interpreter per mutant (slower)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(REPO)})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one mutant in a fresh interpreter (--no-fork)
        spec = json.loads(args.child)
        target = Target(tuple(spec["tests"]), _frozen(spec["functions"]), tuple(spec["deselect"]))
        job = Job(Path(spec["root"]), spec["module"], int(spec["index"]), target)
        return _child_main(job, Path(spec["site_dir"]), Path(spec["scratch"]))
    if args.report:
        print(report_section(args.out), end="")
        return 0
    modules = args.module or list(TARGETS)
    if args.list:
        for module in modules:
            for m in list_mutations(module, TARGETS[module]):
                print(f"{module}:{m.line}: {m.id}")
        return 0
    fork = not args.no_fork
    if fork:
        _preimport()
        fork = _can_fork(modules)
    start, results = time.monotonic(), []
    for module in modules:
        result = run_module(module, TARGETS[module], workers=args.jobs, fork=fork)
        results.append(result)
        save([result], args.out)  # after each module: an interrupted run keeps what it measured
        print(f"{module}: {result.count('killed')} killed, {result.count('timeout')} timed out, "
              f"{result.count('survived')} survived{' (' + result.error.splitlines()[0] + ')' if result.error else ''}")
    print(f"{sum(len(r.mutants) for r in results)} mutants in {time.monotonic() - start:.0f} s; results in {args.out}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
