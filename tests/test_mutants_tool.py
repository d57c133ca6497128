"""tools/mutants.py and tools/mutation_ops.py: the operators, a real run on a tiny module (killed,
survived, timed out), the report, and the committed results against the named equivalents."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from tools import mutants
from tools.mutation_ops import OPERATORS, mutant_code, mutations

SAMPLE = textwrap.dedent('''
    """Module docstring: not code."""
    import logging, os
    log = logging.getLogger("x")
    LIMIT = 10

    def check(n, items, flag):
        """Docstring: not a mutant."""
        log.info("checking %d", n + 1)
        if n < LIMIT and not flag:
            os.fsync(n)
            return n in items
        raise ValueError("too big")
''')


def ids(source: str = SAMPLE) -> list[str]:
    return [m.id for m, _ in mutations(ast.parse(source))]


def test_each_operator_yields_its_mutants_and_nothing_else():
    assert ids() == [
        "<module>: constant: 10 -> 11",
        "<module>: constant: 10 -> 9",
        "check: boolop: n < LIMIT and (not flag) -> n < LIMIT or not flag",
        "check: flip: n < LIMIT -> n >= LIMIT",
        "check: boundary: n < LIMIT -> n <= LIMIT",
        "check: not: n < LIMIT and (not flag) -> n < LIMIT and flag",
        "check: call: os.fsync(n) -> (deleted)",
        "check: return: return n in items -> return",
        "check: flip: n in items -> n not in items",
        "check: raise: raise ValueError('too big') -> (deleted)",
    ]
    assert {m.op for m, _ in mutations(ast.parse(SAMPLE))} == set(OPERATORS) - {"constant"} | {"constant"}


def test_ids_carry_no_line_numbers_and_count_repeats():
    source = "def f(a):\n    return a < 1\n\n\n\ndef g(a):\n    x = a < 1\n    y = a < 1\n    return x"
    found = ids(source)
    assert "g: flip: a < 1 -> a >= 1" in found and "g: flip: a < 1 -> a >= 1 #1" in found
    assert ids("\n\n" + source) == found  # moved down the file: the same names


def test_functions_limit_and_true_false_swap():
    source = "def a():\n    return True\n\ndef b():\n    return 2\n"
    assert [m.id for m, _ in mutations(ast.parse(source), frozenset({"a"}))] == [
        "a: return: return True -> return", "a: constant: True -> False"]


def test_mutant_code_applies_exactly_one_mutation():
    source = "def clamp(x, hi):\n    if x > hi:\n        return hi\n    return x\n"
    found = [m.id for m, _ in mutations(ast.parse(source))]
    behaviours = {}
    for index in range(-1, len(found)):
        space: dict[str, object] = {}
        exec(mutant_code(source, "clamp.py", index), space)
        clamp = space["clamp"]
        behaviours["unchanged" if index < 0 else found[index]] = (clamp(5, 3), clamp(3, 3), clamp(1, 3))  # type: ignore[operator]
    assert behaviours == {
        "unchanged": (3, 3, 1),
        "clamp: flip: x > hi -> x <= hi": (5, 3, 3),
        "clamp: boundary: x > hi -> x >= hi": (3, 3, 1),  # equivalent: at x == hi both return hi
        "clamp: return: return hi -> return": (None, 3, 1),
        "clamp: return: return x -> return": (3, None, None),
    }


CALC = textwrap.dedent('''
    def clamp(x, hi):
        if x > hi:
            return hi
        return x

    def spin(n):
        i = 0
        while i < n:
            i += 1
        return i
''')
CALC_TESTS = textwrap.dedent('''
    from pkg.calc import clamp, spin

    def test_clamp():
        assert clamp(5, 3) == 3 and clamp(1, 3) == 1

    def test_spin():
        assert spin(3) == 3
''')


@pytest.mark.slow
def test_a_real_run_tells_killed_survived_and_timed_out_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "calc.py").write_text(CALC)
    (tmp_path / "test_calc.py").write_text(CALC_TESTS)
    monkeypatch.setattr(mutants, "TIMEOUT_MIN", 4.0)
    monkeypatch.setattr(mutants, "TIMEOUT_FACTOR", 1.0)
    # spin only (clamp's mutants are checked in-process above): each mutant is a fresh interpreter
    target = mutants.Target(("test_calc.py",), frozenset({"spin"}))
    result = mutants.run_module("pkg/calc.py", target, root=tmp_path, workers=2, fork=False, progress=False)
    assert result.error == ""
    got = {m["id"]: (m["status"], m.get("by", "")) for m in result.mutants}
    assert got == {
        "spin: constant: 0 -> 1": ("survived", ""),
        "spin: constant: 0 -> -1": ("survived", ""),
        "spin: flip: i < n -> i >= n": ("killed", "test_calc.py::test_spin"),
        "spin: boundary: i < n -> i <= n": ("killed", "test_calc.py::test_spin"),
        "spin: constant: 1 -> 2": ("killed", "test_calc.py::test_spin"),
        "spin: constant: 1 -> 0": ("timeout", ""),  # i += 0: the loop never ends
        "spin: return: return i -> return": ("killed", "test_calc.py::test_spin"),
    }
    assert (tmp_path / "pkg" / "calc.py").read_text() == CALC  # the source is never rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "test_calc.py"]


def test_a_failing_baseline_measures_nothing(tmp_path: Path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    (tmp_path / "test_m.py").write_text("from m import f\n\ndef test_f():\n    assert f() == 2\n")
    result = mutants.run_module("m.py", mutants.Target(("test_m.py",)), root=tmp_path, fork=False, progress=False)
    assert result.mutants == [] and "the tests fail without any mutant" in result.error


def test_report_names_each_survivor_with_its_reason_or_as_unexplained(tmp_path: Path):
    results, named = tmp_path / "mutants.json", tmp_path / "equivalent.toml"
    mutants.save([mutants.ModuleResult("pkg/calc.py", ["test_calc.py"], [
        {"id": "f: flip: a -> b", "line": 3, "op": "flip", "status": "killed", "by": "test_calc.py::test_new"},
        {"id": "f: boundary: a -> b", "line": 3, "op": "boundary", "status": "survived"},
        {"id": "g: constant: 0 -> 1", "line": 7, "op": "constant", "status": "survived"},
        {"id": "g: constant: 1 -> 0", "line": 8, "op": "constant", "status": "timeout"},
    ])], results)  # fmt: skip
    named.write_text('[equivalent."pkg/calc.py"]\n"f: boundary: a -> b" = "at a == b both branches return b"\n'
                     '[killed."pkg/calc.py"]\n"f: flip: a -> b" = "test_calc.py::test_new"\n'
                     '[open."pkg/calc.py"]\n"g: constant: 0 -> 1" = "the start value is never checked"\n')  # fmt: skip
    text = mutants.report_section(results, named)
    assert "| `pkg/calc.py` | 4 | 1 | 1 | 2 | 1 | 67% |" in text  # (1 killed + 1 timeout) / (4 - 1 equivalent)
    assert "- `pkg/calc.py:3` `f: boundary: a -> b`: equivalent: at a == b both branches return b" in text
    assert "- `pkg/calc.py:7` `g: constant: 0 -> 1`: open (no test yet): the start value is never checked" in text
    named.write_text("")
    assert "- `pkg/calc.py:7` `g: constant: 0 -> 1`: **survives: no test notices it**" in mutants.report_section(results, named)
    assert "- `pkg/calc.py:3` `f: flip: a -> b`: killed by `test_calc.py::test_new`" in text
    assert json.loads(results.read_text())["modules"]["pkg/calc.py"]["survived"] == 2


def test_committed_results_have_no_unexplained_survivor_and_no_stale_name():
    """The discipline: after `make mutants`, every survivor is killed by a new test or named as
    equivalent with its reason; every name in the list still matches a mutant of the last run."""
    modules = json.loads(mutants.RESULTS.read_text(encoding="utf-8"))["modules"]
    names = mutants.load_named()
    assert set(names.equivalent) | set(names.killed) | set(names.open) <= set(mutants.TARGETS)
    for module, data in modules.items():
        assert module in mutants.TARGETS and not data.get("error"), module
        by_id = {m["id"]: m for m in data["mutants"]}
        unexplained = [m["id"] for m in data["mutants"] if m["status"] == "survived" and not names.reason(module, m["id"])]
        assert unexplained == [], (module, unexplained)
        for table in (names.equivalent, names.open, names.killed):
            assert set(table.get(module, {})) <= set(by_id), (module, set(table.get(module, {})) - set(by_id))
        for mutant_id in names.equivalent.get(module, {}) | names.open.get(module, {}):
            assert by_id[mutant_id]["status"] == "survived", (module, mutant_id, "is killed now: drop its name")
        for mutant_id in names.killed.get(module, {}):
            assert by_id[mutant_id]["status"] in ("killed", "timeout"), (module, mutant_id)


def test_mutants_the_killer_is_the_first_failing_test_never_a_captured_log_line(tmp_path):
    log = tmp_path / "pytest.log"
    log.write_text(
        "----------------------------- Captured log call ------------------------------\n"
        "ERROR    helpers.emulator.gateway:gateway.py:93 emulator bug while handling POST /\n"
        "=========================== short test summary info ============================\n"
        "FAILED tests/test_x.py::test_secret_is_hidden[DEBUG logging] - AssertionError: leaked\n"
        "ERROR tests/test_y.py - ImportError\n", encoding="utf-8")  # fmt: skip
    assert mutants._killer(log, 1) == "tests/test_x.py::test_secret_is_hidden[DEBUG logging]"
    log.write_text("ERROR    aliyunsdkcore.client:client.py:491 ServerException occurred.\n", encoding="utf-8")
    assert mutants._killer(log, 98) == "exit code 98"
    log.write_text("ERROR tests/test_y.py - ImportError while importing\n", encoding="utf-8")
    assert mutants._killer(log, 2) == "tests/test_y.py"


def test_mutants_results_name_a_test_or_an_exit_code_for_every_kill():
    data = json.loads(mutants.RESULTS.read_text(encoding="utf-8"))
    odd = [(module, m["id"], m["by"][:60]) for module, result in data["modules"].items() for m in result["mutants"]
           if m["status"] == "killed" and not (m["by"].startswith("tests/") or m["by"].startswith("exit code "))]  # fmt: skip
    assert not odd, f"kills credited to something that is not a test (re-run these modules): {odd[:5]}"
