"""The import graph of kernel_model and harness: no cycles, and the model never
imports the harness.

Read from the source with ``ast`` (nothing is imported): an edge M -> N for
every import statement that runs when M is imported (module level, and class
bodies and ``if``/``try`` blocks at module level), not for imports inside
functions.  Importing a.b.c also runs the ``__init__`` of every package on the
way that the importer is not already inside (``kernel_model/slub.py`` doing
``from . import context`` does not re-run ``kernel_model/__init__``).
A function-local import of another kernel_model module is refused outright:
it is how a cycle hides from this test.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("kernel_model", "harness")


def modules(package):
    """{dotted name: path} of every module of ``package`` (packages as their __init__)."""
    out = {}
    base = os.path.join(ROOT, package)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__pycache__")))
        rel = os.path.relpath(dirpath, ROOT).replace(os.sep, ".")
        for f in sorted(filenames):
            if not f.endswith(".py"):
                continue
            name = rel if f == "__init__.py" else f"{rel}.{f[:-3]}"
            out[name] = os.path.join(dirpath, f)
    return out


ALL = {}
for _p in PACKAGES:
    ALL.update(modules(_p))


def _is_package(name):
    return ALL.get(name, "").endswith("__init__.py")


def _package_of(name):
    return name if _is_package(name) else name.rpartition(".")[0]


def _resolve(importer, node):
    """The dotted module names an import statement brings in (only ours)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = _package_of(importer)
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        mod = f"{base}.{node.module}" if node.module else base
    else:
        mod = node.module
    subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in ALL]
    if len(subs) < len(node.names) or not _is_package(mod):
        subs.append(mod)                       # a name defined by mod itself
    elif not (importer == mod or importer.startswith(mod + ".")):
        subs.append(mod)                       # the package's __init__ runs first
    return subs


def _targets(importer, mod):
    """``mod`` plus the package __init__s that importing it runs for ``importer``."""
    if mod not in ALL and mod.split(".")[0] not in PACKAGES:
        return []
    parts = mod.split(".")
    mine = importer.split(".")
    out = []
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in ALL:
            continue
        if i < len(parts) and mine[:i] == parts[:i]:
            continue                           # a package the importer is already inside
        out.append(name)
    return out


class _Walker(ast.NodeVisitor):
    def __init__(self, importer):
        self.importer = importer
        self.module_level = set()
        self.local = []                        # (lineno, module) of imports inside functions
        self.depth = 0

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _import(self, node):
        for mod in _resolve(self.importer, node):
            for t in _targets(self.importer, mod):
                if self.depth:
                    self.local.append((node.lineno, t))
                elif t != self.importer:
                    self.module_level.add(t)

    visit_Import = visit_ImportFrom = _import


def scan():
    graph, local = {}, {}
    for name, path in ALL.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        w = _Walker(name)
        w.visit(tree)
        graph[name] = w.module_level
        local[name] = w.local
    return graph, local


def find_cycle(graph, nodes):
    """One import cycle among ``nodes`` as [a, b, ..., a], or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in nodes}
    stack = []

    def dfs(n):
        colour[n] = GREY
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if m not in colour:
                continue
            if colour[m] == GREY:
                return stack[stack.index(m):] + [m]
            if colour[m] == WHITE:
                found = dfs(m)
                if found:
                    return found
        stack.pop()
        colour[n] = BLACK
        return None

    for n in sorted(nodes):
        if colour[n] == WHITE:
            found = dfs(n)
            if found:
                return found
    return None


GRAPH, LOCAL = scan()


def _package_nodes(package):
    return [n for n in ALL if n == package or n.startswith(package + ".")]


def test_the_scan_sees_the_known_edges():
    # a guard against a walker that finds nothing (and so no cycle)
    assert "kernel_model.slab_common" in GRAPH["kernel_model.slub"]
    assert "kernel_model.slab_h" in GRAPH["kernel_model.slab_common"]
    assert "kernel_model.mm_init" in GRAPH["kernel_model"]
    assert "kernel_model.pgdat" in GRAPH["kernel_model.mm_init"]


def test_find_cycle_finds_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(g, g) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}, ["a", "b"]) is None


def test_kernel_model_has_no_import_cycle():
    cycle = find_cycle(GRAPH, _package_nodes("kernel_model"))
    assert cycle is None, "import cycle in kernel_model: " + " -> ".join(cycle)


def test_pgdat_imports_no_slab_module():
    slab = {"kernel_model.slab_common", "kernel_model.slab_debug", "kernel_model.slab_h",
            "kernel_model.slub", "kernel_model.slab", "kernel_model.kmalloc",
            "kernel_model.vmalloc", "kernel_model.mm_init"}
    assert not GRAPH["kernel_model.pgdat"] & slab


def test_kernel_model_never_imports_harness():
    bad = {n: sorted(t for t in GRAPH[n] if t.split(".")[0] == "harness")
           for n in _package_nodes("kernel_model")}
    bad.update({n: sorted(t for _, t in LOCAL[n] if t.split(".")[0] == "harness")
                for n in _package_nodes("kernel_model") if LOCAL[n]})
    assert not {n: v for n, v in bad.items() if v}


def test_kernel_model_has_no_function_local_import_of_itself():
    # Function-local imports of other packages (numpy) are allowed; one of a
    # kernel_model module is a cycle dodged, not removed.
    hidden = [f"{n}:{line} imports {t}" for n in _package_nodes("kernel_model")
              for line, t in LOCAL[n] if t.split(".")[0] == "kernel_model"]
    assert not hidden, "\n".join(hidden)


def test_harness_has_no_module_level_import_cycle():
    cycle = find_cycle(GRAPH, _package_nodes("harness"))
    assert cycle is None, "import cycle in harness: " + " -> ".join(cycle)


def test_harness_has_no_import_cycle_behind_function_local_imports():
    # The same graph with the harness's function-local imports added: a cycle
    # here is one that a deferred import keeps from failing at import time.
    # (Passes on the slabcontract branch; if the harness rooms move brings one,
    # mark this xfail "harness rooms move in progress" until it is untied.)
    full = {n: GRAPH[n] | {t for _, t in LOCAL[n] if t != n} for n in GRAPH}
    cycle = find_cycle(full, _package_nodes("harness"))
    assert cycle is None, "import cycle in harness: " + " -> ".join(cycle)
