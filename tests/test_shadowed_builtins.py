"""No function reads a builtin's name that its module rebinds at module level.

estcore exports TF1's names ``range``, ``pow``, ``abs``, ``round``, ``bool``, which are
also Python builtins. A module that binds one of them at module level (an import, a
``def``, an assignment) and then writes the bare name inside a function gets estcore's
object where the builtin was probably meant (``tuple(range(1, n))`` in concat's gradient
built a graph op while the plan compiled on a finalized graph). A module that needs its
own op inside a function calls it by another name (e.g. ``_pow``).
"""

from __future__ import annotations

import ast
import builtins
import pathlib

import pytest

import estcore

pytestmark = pytest.mark.smoke

SRC = pathlib.Path(estcore.__file__).resolve().parent
BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def module_bindings(tree: ast.Module) -> dict[str, int]:
    """Names bound at module level (also under module-level if/try/with/for) -> line."""
    names: dict[str, int] = {}

    def visit(stmts: list[ast.stmt]) -> None:
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[s.name] = s.lineno
            elif isinstance(s, (ast.Import, ast.ImportFrom)):
                for alias in s.names:
                    names[(alias.asname or alias.name).split(".")[0]] = s.lineno
            elif isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            names[n.id] = s.lineno
            else:
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(s, field, None) or [])
                for handler in getattr(s, "handlers", None) or []:
                    visit(handler.body)
                if isinstance(s, (ast.For, ast.With)):
                    items = [s.target] if isinstance(s, ast.For) else [
                        i.optional_vars for i in s.items if i.optional_vars is not None]
                    for t in items:
                        for n in ast.walk(t):
                            if isinstance(n, ast.Name):
                                names[n.id] = s.lineno

    visit(tree.body)
    return names


def _local_names(fn: ast.AST) -> set[str]:
    """Parameters and names stored in ``fn``'s own body (not its nested functions)."""
    out = set()
    a = fn.args
    for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
        if arg is not None:
            out.add(arg.arg)
    stack = list(fn.body) if isinstance(fn.body, list) else [fn.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside an annotation (strings under ``from __future__``)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        anns = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            anns.append(node.returns)
            a = node.args
            anns += [x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs,
                                            a.vararg, a.kwarg] if x is not None]
        elif isinstance(node, ast.AnnAssign):
            anns.append(node.annotation)
        for ann in anns:
            if ann is not None:
                ids.update(id(n) for n in ast.walk(ann))
    return ids


def shadowed_reads(source: str) -> list[tuple[str, int, int]]:
    """``(name, line of the read, line of the module-level binding)`` for each bare read
    of a shadowed builtin inside a function that does not bind the name itself."""
    tree = ast.parse(source)
    shadow = {n: line for n, line in module_bindings(tree).items() if n in BUILTINS}
    if not shadow:
        return []
    skip = _annotation_nodes(tree)
    found = []

    def walk(node: ast.AST, bound: frozenset[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _FUNCS):
                walk(child, bound | _local_names(child))
                continue
            if (isinstance(child, ast.Name)
                    and isinstance(child.ctx, ast.Load) and child.id in shadow
                    and child.id not in bound and id(child) not in skip):
                found.append((child.id, child.lineno, shadow[child.id]))
            walk(child, bound)

    # module-level code may use the rebound name on purpose; only function bodies count
    for child in ast.iter_child_nodes(tree):
        _walk_top(child, walk)
    return sorted(set(found))


def _walk_top(node: ast.AST, walk) -> None:
    if isinstance(node, _FUNCS):
        walk(node, frozenset(_local_names(node)))
        return
    for child in ast.iter_child_nodes(node):
        _walk_top(child, walk)


def test_the_checker_finds_the_concat_gradient_bug():
    source = (
        "from estcore.graph.ops.index_ops import range\n"
        "def f(n):\n"
        "    return tuple(range(1, n))\n"
        "g = lambda attrs, n: tuple(range(1, n))\n"
    )
    assert shadowed_reads(source) == [("range", 3, 1), ("range", 4, 1)]


def test_the_checker_ignores_locals_annotations_and_module_level_uses():
    source = (
        "from __future__ import annotations\n"
        "bool = object()\n"
        "x = bool\n"
        "def f(bool) -> bool:\n"
        "    return bool\n"
        "def g():\n"
        "    pow = 2\n"
        "    return pow\n"
        "pow = 3\n"
    )
    assert shadowed_reads(source) == []


def test_no_module_reads_a_builtin_it_shadows():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for name, line, bound_at in shadowed_reads(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(SRC)}:{line}: '{name}' is estcore's (bound "
                             f"at line {bound_at}), not the builtin")
    assert offenders == []
