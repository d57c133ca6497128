"""The mutation operators of `make mutants` (tools/mutants.py), on the `ast` of one module.

A mutant is one small change a plausible bug would make: a comparison flipped or shifted by one,
a constant off by one, `and`/`or` swapped, a `not` dropped, a return value or a `raise` removed,
a statement call (`os.fsync(fd)`) deleted. `mutations(tree)` lists every place an operator
applies, in source order, each with a closure that makes the change in that tree; so a runner
parses the module afresh, applies mutation number *i*, and compiles the tree. The source file is
never rewritten: other people may be editing the checkout while mutants run.

Each mutation has an `id` that does not contain line numbers (function, operator, code before
and after, and an occurrence count), so a list of named equivalent mutants survives edits
elsewhere in the file.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import CodeType
from typing import Any

#: operator name -> what it does, for the report
OPERATORS = {
    "flip": "comparison negated (== to !=, < to >=, in to not in, is to is not)",
    "boundary": "comparison shifted by one (< to <=, > to >=, and back)",
    "constant": "integer constant +1 or -1, True/False swapped",
    "boolop": "`and` and `or` swapped",
    "not": "`not x` replaced by `x`",
    "return": "`return x` replaced by `return None`",
    "raise": "`raise ...` deleted",
    "call": "a statement that is only a call deleted (e.g. os.fsync(fd))",
}

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
    ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip
_BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
#: loggers: deleting a log call changes no behaviour a test should pin, so it is not a mutant
_LOGGERS = frozenset({"log", "logger", "logging", "warnings"})
_SHOWN = 90  # characters of code shown per side in an id or a report line


@dataclass(frozen=True)
class Mutation:
    op: str
    line: int
    function: str  # qualified name of the enclosing function or class, "<module>" at the top
    before: str
    after: str
    occurrence: int  # the n-th mutation with the same function, op, before and after (from 0)

    @property
    def id(self) -> str:
        suffix = f" #{self.occurrence}" if self.occurrence else ""
        return f"{self.function}: {self.op}: {self.before} -> {self.after}{suffix}"


Apply = Callable[[], None]


def _code(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


class _Collector:
    """Walks the tree in source order, noting each place an operator applies."""

    def __init__(self, functions: frozenset[str] | None) -> None:
        self.functions = functions
        self.found: list[tuple[Mutation, Apply]] = []
        self._seen: dict[tuple[str, str, str, str], int] = {}

    def add(self, op: str, node: ast.AST, scope: str, shown: ast.AST, change: Apply, undo: Apply,
            after: str | None = None) -> None:  # fmt: skip
        if self.functions is not None and scope.split(".")[0] not in self.functions and scope not in self.functions:
            return
        text_before = _code(shown)
        if after is None:  # render the mutated code once, then put the tree back as it was
            change()
            after = _code(shown)
            undo()
        text_after = after
        key = (scope, op, text_before, text_after)
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        self.found.append((Mutation(op, getattr(node, "lineno", 0), scope, text_before, text_after, n), change))

    def visit(self, node: ast.AST, scope: str, parent: ast.AST | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = node.name if scope == "<module>" else f"{scope}.{node.name}"
            # decorators, defaults and annotations are evaluated outside the body: skip them all
            for stmt in node.body:
                self.visit(stmt, scope, node)
            return
        if isinstance(node, ast.AnnAssign):  # the annotation is not code; the value is
            if node.value is not None:
                self.visit(node.value, scope, node)
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _is_log_call(node.value):
            return  # what a log line says is not behaviour a test should pin (nor its arguments)
        self._mutate(node, scope, parent)
        for child in ast.iter_child_nodes(node):
            self.visit(child, scope, node)

    def _mutate(self, node: ast.AST, scope: str, parent: ast.AST | None) -> None:
        if isinstance(node, ast.Compare):
            for i, cmp in enumerate(node.ops):
                for op, table in (("flip", _FLIP), ("boundary", _BOUNDARY)):
                    new = table.get(type(cmp))
                    if new is not None:
                        self.add(op, node, scope, node, _set_item(node.ops, i, new()), _set_item(node.ops, i, cmp))
        elif isinstance(node, ast.Constant) and isinstance(node.value, int):  # bool is an int too
            value = node.value
            options: list[int] = [not value] if isinstance(value, bool) else [value + 1, value - 1]
            shown: ast.AST = parent if isinstance(parent, ast.expr) else node
            for new_value in options:
                self.add("constant", node, scope, shown, _set_attr(node, "value", new_value), _set_attr(node, "value", value))
        elif isinstance(node, ast.BoolOp):
            swapped = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self.add("boolop", node, scope, node, _set_attr(node, "op", swapped), _set_attr(node, "op", node.op))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and parent is not None:
            holder = _holder(parent, node)
            if holder is not None:
                self.add("not", node, scope, parent, holder(node.operand), holder(node))
        elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
            self.add("return", node, scope, node, _set_attr(node, "value", None), _set_attr(node, "value", node.value))
        elif isinstance(node, ast.Raise) and parent is not None:
            self._delete(node, scope, parent, "raise")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and parent is not None:
            self._delete(node, scope, parent, "call")  # (a docstring is a constant, never a call)

    def _delete(self, node: ast.stmt, scope: str, parent: ast.AST, op: str) -> None:
        for body in _bodies(parent):
            if any(s is node for s in body):
                i = next(k for k, s in enumerate(body) if s is node)
                blank = ast.copy_location(ast.Pass(), node)
                self.add(op, node, scope, node, _set_item(body, i, blank), _set_item(body, i, node), "(deleted)")
                return


def _set_item(items: list[Any], index: int, value: object) -> Apply:
    def apply() -> None:
        items[index] = value

    return apply


def _set_attr(node: ast.AST, name: str, value: object) -> Apply:
    def apply() -> None:
        setattr(node, name, value)

    return apply


def _holder(parent: ast.AST, child: ast.AST) -> Callable[[ast.AST], Apply] | None:
    """A setter for the slot of `parent` that holds `child` (a field or a list item)."""
    for name, value in ast.iter_fields(parent):
        if value is child:
            return functools.partial(_set_attr, parent, name)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is child:
                    return functools.partial(_set_item, value, i)
    return None


def _bodies(parent: ast.AST) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(parent, name, None)
        if isinstance(value, list):
            yield value


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _LOGGERS


def mutations(tree: ast.Module, functions: frozenset[str] | None = None) -> list[tuple[Mutation, Apply]]:
    """Every mutation of `tree` (limited to top-level `functions`/classes if given), in source order."""
    collector = _Collector(functions)
    for stmt in tree.body:
        collector.visit(stmt, "<module>", tree)
    return collector.found


def mutant_code(source: str, filename: str, index: int, functions: frozenset[str] | None = None) -> CodeType:
    """The code object of `source` with mutation `index` applied (index -1: unchanged)."""
    tree = ast.parse(source, filename)
    if index >= 0:
        mutations(tree, functions)[index][1]()
    return compile(tree, filename, "exec", dont_inherit=True)
