"""The rooms of kernel_model/ and harness/ import only what docs/architecture.md allows.

Reads every module's imports (``ast``, nothing is imported) and checks each
import of another room against ``ALLOWED``.  ``KNOWN`` lists the imports that
break the rules today, each with its reason; a new break fails, and so does an
entry of ``KNOWN`` that no longer happens (delete it).
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# room -> the rooms it may import (besides itself).  A room is kernel_model, or a
# package or top-level module of harness/ (harness/cli.py is "cli").
ALLOWED = {
    "kernel_model": set(),
    "exits": set(),
    "rng": set(),                        # one random stream per purpose, from the run's seed
    "signals": set(),                    # SIGINT/SIGTERM as a stop request (harness/signals.py)
    "scheduler": {"rng", "kernel_model"},      # options.py reads the model's lock owner words
    "checkers": {"rng", "kernel_model", "runtime"},
    "runtime": {"rng", "kernel_model", "checkers", "scheduler"},
    "scenario": {"rng", "kernel_model", "checkers", "runtime"},
    "supervisor": {"rng", "kernel_model", "checkers", "runtime", "scenario", "scheduler", "exits",
                   "outputs", "signals"},               # the machine merges records by key (outputs.merge)
    "outputs": {"rng", "kernel_model", "checkers", "scenario", "scheduler", "exits"},
    "tools": {"rng", "kernel_model", "checkers", "runtime", "scenario", "scheduler", "supervisor",
              "outputs", "exits", "signals"},
    "pytest_plugin": {"rng", "kernel_model", "checkers", "runtime", "scenario", "scheduler",
                      "supervisor", "outputs", "tools", "exits", "signals"},
    "commands": {"rng", "kernel_model", "checkers", "runtime", "scenario", "scheduler", "supervisor",
                 "outputs", "tools", "exits", "signals"},
    "cli": {"kernel_model", "commands", "exits", "signals", "outputs"},   # report paths, first
    "__main__": {"cli"},
}

# (file, room it imports): why it is allowed for now
KNOWN = {
    ("harness/outputs/report.py", "runtime"):
        "the report decodes the CPUs' counter block with runtime.counters' layout",
    ("harness/outputs/recording.py", "supervisor"):
        "recording.replay runs the machine; a replay belongs in tools/",
}


def room_of(module):
    parts = module.split(".")
    if parts[0] == "kernel_model":
        return "kernel_model"
    if parts[0] != "harness" or len(parts) < 2:
        return None
    return parts[1]


def imports(path, module):
    """The dotted names a module imports (relative imports resolved)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            if base == "harness":
                yield from ("harness." + a.name for a in node.names)
            else:
                yield base


def breaks():
    found = set()
    for top in ("kernel_model", "harness"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith(".py"):
                    continue
                path = os.path.join(folder, f)
                rel = os.path.relpath(path, ROOT)
                module = rel[:-3].replace(os.sep, ".").removesuffix(".__init__")
                here = room_of(module) if module != "harness" else None
                if here is None:
                    continue
                for name in imports(path, module):
                    there = room_of(name)
                    if there and there != here and there not in ALLOWED[here]:
                        found.add((rel.replace(os.sep, "/"), there))
    return found


def test_every_room_is_in_the_rules():
    rooms = {"kernel_model"} | {n.removesuffix(".py") for n in os.listdir(os.path.join(ROOT, "harness"))
                                if not n.startswith((".", "_")) or n == "__main__.py"}
    rooms -= {"__pycache__"}
    assert rooms - {"__init__"} <= set(ALLOWED), rooms - set(ALLOWED)


def test_rooms_import_only_what_the_rules_allow():
    found = breaks()
    new = sorted(found - set(KNOWN))
    assert not new, "imports against docs/architecture.md: " + ", ".join(f"{f} -> {r}" for f, r in new)
    gone = sorted(set(KNOWN) - found)
    assert not gone, "fixed, so delete from KNOWN: " + ", ".join(f"{f} -> {r}" for f, r in gone)


def test_the_check_sees_a_break(tmp_path, monkeypatch):
    """A kernel_model module importing the harness is caught (the check can fail)."""
    fake = tmp_path / "kernel_model"
    fake.mkdir()
    (fake / "bad.py").write_text("from harness.supervisor import machine\n")
    (tmp_path / "harness").mkdir()
    monkeypatch.setitem(globals(), "ROOT", str(tmp_path))
    assert breaks() == {("kernel_model/bad.py", "supervisor")}


def test_model_tests_use_the_model_alone():
    """tests/model/ is kernel_model without the harness (docs/architecture.md, tests)."""
    folder = os.path.join(ROOT, "tests", "model")
    users = sorted(f for f in os.listdir(folder) if f.endswith(".py") and any(
        room_of(name) not in (None, "kernel_model")
        for name in imports(os.path.join(folder, f), "tests.model." + f[:-3])))
    assert users == [], f"move these to tests/harness/ or tests/e2e/: {users}"
