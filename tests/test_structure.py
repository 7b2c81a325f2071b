"""The shape of the package, checked on the AST of every module under ``estcore``.

Rules (each failure names the file, the line and the rule):

(a) façade: no implementation module imports a façade (a package or module that only
    re-exports: :data:`FACADES`).
(b) layers: imports between top-level packages point down :data:`LAYERS` (same level:
    no cycle). Function-local and ``TYPE_CHECKING`` imports count too.
(c) private: no ``_private`` module or name of another top-level package is imported or
    reached as an attribute of an imported module. ``estcore._lib`` (the Cython seam),
    ``estcore._validation`` (argument errors) and ``estcore._version`` are the project-wide
    private seam and allowed everywhere (:data:`PRIVATE_SEAM`).
(d) optional: no ``find_spec`` and no ``except ImportError`` around estcore's own modules
    (they always exist).
(e) size: no module over :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import estcore

pytestmark = pytest.mark.smoke

SRC = pathlib.Path(estcore.__file__).resolve().parent
PKG = "estcore"

# Modules that only re-export (TF's namespaces). Nothing below them imports them.
FACADES = frozenset({
    "estcore",
    "estcore.estimator",
    "estcore.estimator.experimental",
    "estcore.estimator.export",
    "estcore.estimator.inputs",
    "estcore.compat",
    "estcore.compat.v1",
    "estcore.compat.v1.data",
    "estcore.compat.v1.errors",
    "estcore.compat.v1.estimator",
    "estcore.compat.v1.feature_column",
    "estcore.compat.v1.sparse",
    "estcore.compat.v1.gfile",
    "estcore.compat.v1.image",
    "estcore.compat.v1.io",
    "estcore.compat.v1.initializers",
    "estcore.compat.v1.layers",
    "estcore.compat.v1.losses",
    "estcore.compat.v1.math",
    "estcore.compat.v1.metrics",
    "estcore.compat.v1.nn",
    "estcore.compat.v1.summary",
    "estcore.compat.v1.train",
    "estcore.initializers",
    "estcore.io",
    "estcore.math",
})

# The one-way order of estcore's top-level packages and modules, bottom first. A module
# may import its own level or a lower one; within a level the imports must not form a
# cycle. The C core's seam and the wire formats at the bottom; the graph; the library on
# the graph; inputs; hooks and checkpoints; distribution and export, which the Estimator
# reaches through one seam each (estimator/replication.py, estimator/exporting.py), and
# loading an export (which needs no Estimator); the estimator; then what only consumes
# it (the CLI, compat.v1).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_lib", "_validation", "_version", "errors", "logging", "nest", "proto"),
    ("graph",),
    ("nn", "math", "initializers", "io", "summary", "losses", "metrics", "layers", "train",
     "image"),
    ("inputs", "data", "feature_column"),
    ("checkpoint", "hooks"),
    ("distribute", "export", "saved_model"),
    ("estimator",),
    ("cli", "compat"),
)
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}

PRIVATE_SEAM = frozenset({"estcore._lib", "estcore._validation", "estcore._version"})

MAX_LINES = 650



@dataclass(frozen=True)
class Module:
    name: str
    path: pathlib.Path
    tree: ast.Module
    is_package: bool

    @property
    def rel(self) -> str:
        return f"src/{self.path.relative_to(SRC.parent).as_posix()}"

    @property
    def top(self) -> str:
        """The top-level package (``graph`` for ``estcore.graph.ops.math_ops``)."""
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else ""


def _compiled_modules() -> set[str]:
    """Names of the Cython modules (``estcore._lib._kernels``): imported, never parsed."""
    names = set()
    for path in SRC.rglob("*.pyx"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        names.add(".".join(rel.parts))
    return names


def _modules() -> list[Module]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out.append(Module(".".join(parts), path, ast.parse(path.read_text(), str(path)),
                          is_package))
    return out


MODULES = _modules()
MODULE_NAMES = frozenset(m.name for m in MODULES) | _compiled_modules()


def _top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class Import:
    line: int
    target: str          # a module name (estcore.x.y)
    name: str | None     # the imported name for ``from target import name``
    node: ast.stmt


def _imports(mod: Module) -> Iterator[Import]:
    """Every import of an estcore module in ``mod`` (top level, local, TYPE_CHECKING)."""
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PKG or alias.name.startswith(PKG + "."):
                    yield Import(node.lineno, alias.name, None, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.name.split(".")
                if not mod.is_package:
                    base = base[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target != PKG and not target.startswith(PKG + "."):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULE_NAMES:  # ``from estcore.graph import dtypes``: a module
                    yield Import(node.lineno, sub, None, node)
                else:
                    yield Import(node.lineno, target, alias.name, node)


def _fail(violations: list[str]) -> None:
    if violations:
        pytest.fail("\n".join(sorted(set(violations))), pytrace=False)


def test_every_top_level_package_has_a_declared_layer():
    tops = {m.top for m in MODULES if m.top}
    missing = sorted(t for t in tops if t not in LEVEL)
    assert not missing, f"add these to LAYERS in tests/test_structure.py: {missing}"


def test_rule_a_no_implementation_module_imports_a_facade():
    violations = []
    for mod in MODULES:
        if mod.name in FACADES:
            continue
        for imp in _imports(mod):
            if imp.target in FACADES:
                what = imp.target if imp.name is None else f"{imp.target}.{imp.name}"
                violations.append(f"{mod.rel}:{imp.line}: rule (a) façade: imports {what}; "
                                  "import it from the module that defines it")
    _fail(violations)


def _package_edges() -> dict[tuple[str, str], list[str]]:
    """(importer's top-level package, imported one) -> ['file:line', ...]."""
    edges: dict[tuple[str, str], list[str]] = {}
    for mod in MODULES:
        if mod.name in FACADES:
            continue
        for imp in _imports(mod):
            dst = _top(imp.target)
            if dst and dst != mod.top:
                edges.setdefault((mod.top, dst), []).append(f"{mod.rel}:{imp.line}")
    return edges


def test_rule_b_imports_point_down_the_layers():
    violations = []
    for (src, dst), where in _package_edges().items():
        if src in LEVEL and dst in LEVEL and LEVEL[dst] > LEVEL[src]:
            for w in where:
                violations.append(f"{w}: rule (b) layers: {src} (level {LEVEL[src]}) imports "
                                  f"{dst} (level {LEVEL[dst]}), which sits above it")
    _fail(violations)


def test_rule_b_no_import_cycle_between_packages():
    edges = _package_edges()
    graph: dict[str, set[str]] = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)

    def reaches(start: str, goal: str) -> list[str] | None:
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == goal:
                    return path + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    violations = []
    for (src, dst), where in edges.items():
        back = reaches(dst, src)
        if back is not None:
            cycle = " -> ".join([src] + back)
            for w in where:
                violations.append(f"{w}: rule (b) cycle: {cycle}")
    _fail(violations)


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _in_seam(target: str) -> bool:
    return any(target == s or target.startswith(s + ".") for s in PRIVATE_SEAM)


def _private_module(target: str) -> bool:
    return any(_is_private(p) for p in target.split(".")[1:])


def test_rule_c_no_private_name_of_another_package():
    violations = []
    for mod in MODULES:
        module_aliases: dict[str, str] = {}   # local name -> estcore module it is bound to
        for imp in _imports(mod):
            if _top(imp.target) == mod.top or _in_seam(imp.target):
                pass
            elif _private_module(imp.target):
                violations.append(f"{mod.rel}:{imp.line}: rule (c) private: imports private "
                                  f"module {imp.target} of another package")
            elif imp.name is not None and _is_private(imp.name):
                violations.append(f"{mod.rel}:{imp.line}: rule (c) private: imports private "
                                  f"name {imp.target}.{imp.name} of another package")
            if imp.name is None:
                for alias in imp.node.names:
                    full = alias.name if isinstance(imp.node, ast.Import) else \
                        f"{imp.target.rsplit('.', 1)[0]}.{alias.name}"
                    if full == imp.target and alias.asname:
                        module_aliases[alias.asname] = imp.target
                    elif full == imp.target and isinstance(imp.node, ast.ImportFrom):
                        module_aliases[alias.name] = imp.target
        for node in ast.walk(mod.tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in module_aliases and _is_private(node.attr)):
                target = module_aliases[node.value.id]
                if _top(target) != mod.top and not _in_seam(target):
                    violations.append(f"{mod.rel}:{node.lineno}: rule (c) private: reaches "
                                      f"{target}.{node.attr} of another package")
    _fail(violations)


def _imports_estcore(nodes: list[ast.stmt], mod: Module) -> bool:
    for stmt in nodes:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import) and any(
                    a.name == PKG or a.name.startswith(PKG + ".") for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and (
                    node.level or (node.module or "").split(".")[0] == PKG):
                return True
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                    node.func, "id", "")) == "import_module":
                return True
    return False


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    """An ``except ImportError`` that carries on (one that re-raises is not optional)."""
    names = []
    if handler.type is None or any(isinstance(n, ast.Raise) for n in ast.walk(handler)):
        return False
    for node in ast.walk(handler.type):
        if isinstance(node, ast.Name):
            names.append(node.id)
    return bool({"ImportError", "ModuleNotFoundError"} & set(names))


def test_rule_d_no_optional_import_of_estcores_own_modules():
    violations = []
    for mod in MODULES:
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Attribute) and node.attr == "find_spec" or \
                    isinstance(node, ast.Name) and node.id == "find_spec":
                violations.append(f"{mod.rel}:{node.lineno}: rule (d) optional: find_spec "
                                  "(estcore's modules always exist; import them)")
            if isinstance(node, ast.Try) and any(_catches_import_error(h)
                                                 for h in node.handlers):
                if _imports_estcore(node.body, mod):
                    violations.append(f"{mod.rel}:{node.lineno}: rule (d) optional: "
                                      "`except ImportError` around an import of estcore")
    _fail(violations)


def _line_counts() -> list[tuple[Module, int]]:
    return [(m, len(m.path.read_text().splitlines())) for m in MODULES]


def test_rule_e_no_module_over_the_size_limit():
    violations = [f"{m.rel}:{n}: rule (e) size: {n} lines (limit {MAX_LINES}); split it"
                  for m, n in _line_counts()
                  if n > MAX_LINES]
    _fail(violations)


def test_the_checker_sees_the_package():
    """Guard against a vacuous pass: the walk found the modules the rules talk about."""
    names = MODULE_NAMES
    assert {"estcore", "estcore.graph.ir", "estcore.layers.core"} <= names
    assert len(names) > 50
