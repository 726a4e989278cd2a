"""What a cell binds at module level, read from its source with `ast`: which names it sets to
a literal (the candidates for automatic config) and which it binds any other way.

A name is *literal* when the cell's last module-level binding of it is a plain statement
`name = <literal>` or `name: T = <literal>` at the top of the cell (also `a = b = 1` and
`a, b = 1, 2`), where a literal is a number, string, bool or None, or a list/tuple/dict of
literals (what `ast.literal_eval` reads, minus sets, bytes and complex numbers, and at most
MAX_LITERAL_NODES nodes). Every other binding — `for`/`with … as`/`except … as` targets,
augmented assignment, a value that is a call or any other expression, imports, `def`,
`class`, `del`, `:=`, and anything bound inside an `if`/`for`/`while`/`try`/`with` block —
makes the name *computed*. Function and class bodies and comprehensions are their own
scopes and bind nothing here.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from typing import Optional

MAX_LITERAL_NODES = 400  # a literal bigger than this is no hyperparameter (to_config_value caps at 100 items)
MAX_PARSE_CHARS = 256 * 1024  # longer cells are not parsed: nothing in them counts as automatic config

# A line of its own, e.g. `# cellmark: config`: the cell's top-level assignments are config.
_FORCE = re.compile(r"^[ \t]*#[ \t]*cellmark:[ \t]*config[ \t]*$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Bindings:
    literal: tuple[str, ...]  # names whose last binding in the cell is a literal, in source order
    computed: frozenset[str]  # names bound any other way (last binding wins)
    assigned: tuple[str, ...]  # every name assigned by a top-level (ann)assignment: what `# cellmark: config` takes
    forced: bool  # the cell has a `# cellmark: config` line


NOTHING = Bindings((), frozenset(), (), False)


def _is_literal(node: ast.AST, budget: list[int]) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, (bool, int, float, str))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(e, budget) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(
            k is not None and isinstance(k, ast.Constant) and isinstance(k.value, str) and _is_literal(v, budget)
            for k, v in zip(node.keys, node.values)
        )
    return False


class _Bound(ast.NodeVisitor):
    """Every name a statement binds in the module's scope (not inside def/class/lambda/comprehensions)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.append(node.id)

    def _scope(self, node: ast.AST, name: Optional[str]) -> None:
        if name:
            self.names.append(name)
        for deco in getattr(node, "decorator_list", []):
            self.visit(deco)  # a := in a decorator binds here; the body does not

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scope(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scope(node, node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def _comprehension(self, node: ast.AST) -> None:
        # only a := inside binds in the enclosing scope
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                self.names.append(sub.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension  # type: ignore[assignment]

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.names.append(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.names.append(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.names.append(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.AST) -> None:
        if getattr(node, "name", None):
            self.names.append(node.name)  # type: ignore[attr-defined]
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.AST) -> None:
        if getattr(node, "name", None):
            self.names.append(node.name)  # type: ignore[attr-defined]

    def visit_MatchMapping(self, node: ast.AST) -> None:
        if getattr(node, "rest", None):
            self.names.append(node.rest)  # type: ignore[attr-defined]
        self.generic_visit(node)


def _literal_pairs(targets: list[ast.expr], value: ast.expr) -> Optional[list[str]]:
    """The names `targets = value` sets to literals, or None when any target is not a plain
    name (or a tuple of them matched element-wise by a literal tuple)."""
    names: list[str] = []
    for target in targets:
        if isinstance(target, ast.Name):
            if not _is_literal(value, [MAX_LITERAL_NODES]):
                return None
            names.append(target.id)
        elif (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
            and all(isinstance(t, ast.Name) for t in target.elts)
        ):
            if not all(_is_literal(v, [MAX_LITERAL_NODES]) for v in value.elts):
                return None
            names.extend(t.id for t in target.elts)  # type: ignore[attr-defined]
        else:
            return None
    return names


def analyse(source: str) -> Bindings:
    """The cell's bindings; NOTHING for a cell that does not parse (IPython magics included:
    a cell with `%` or `!` lines is parsed after IPython's transformation, see bindings_of)."""
    if len(source) > MAX_PARSE_CHARS:
        return NOTHING
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return NOTHING
    last: dict[str, bool] = {}  # name -> its last binding is a literal
    assigned: dict[str, None] = {}
    for stmt in tree.body:
        literal: Optional[list[str]] = None
        if isinstance(stmt, ast.Assign):
            literal = _literal_pairs(stmt.targets, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and stmt.simple:
            literal = _literal_pairs([stmt.target], stmt.value)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        assigned.setdefault(sub.id, None)
        if literal is not None:
            for name in literal:
                last.pop(name, None)
                last[name] = True
            continue
        bound = _Bound()
        bound.visit(stmt)
        for name in bound.names:
            last.pop(name, None)
            last[name] = False
    return Bindings(
        literal=tuple(n for n, lit in last.items() if lit),
        computed=frozenset(n for n, lit in last.items() if not lit),
        assigned=tuple(assigned),
        forced=bool(_FORCE.search(source)),
    )


@functools.lru_cache(maxsize=512)  # a notebook reruns the same cells
def bindings_of(source: str) -> Bindings:
    return analyse(source)
