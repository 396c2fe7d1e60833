"""Scenario names -> files: ``smoke``, the library ``scenarios/NAME.toml``, ``bugs/NAME``, or a path.

    smoke          scenarios/smoke.toml, the default of ``mmstress run``, listed first
    NAME           scenarios/NAME.toml
    bugs/NAME      scenarios/bugs/NAME.toml (planted-bug scenarios and their correct twins)
    a/path.toml    that file

``available`` is what ``mmstress list`` prints; ``library_name`` is the
short name of a file in the library (what reports and traces print, so a
command or trace works on any checkout).
"""

import os
import re

from harness.scenario.errors import ScenarioError
from harness.scenario.parse import load

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            "scenarios")
BUGS_DIR = os.path.join(SCENARIO_DIR, "bugs")
BUGS_PREFIX = "bugs/"
SMOKE = "smoke"
SMOKE_PATH = os.path.join(SCENARIO_DIR, SMOKE + ".toml")


def resolve(arg):
    """A scenario argument (a path, or a name from `mmstress list`) -> Scenario."""
    return load(scenario_file(arg))


def scenario_file(arg):
    """A scenario argument (a path, or a name from `mmstress list`) -> the file's path,
    without reading it."""
    if arg.startswith(BUGS_PREFIX) and not arg.endswith(".toml"):
        path = os.path.join(BUGS_DIR, arg[len(BUGS_PREFIX):] + ".toml")
        if is_library_name(arg) and os.path.exists(path):
            return path
        if not os.path.exists(arg):
            raise ScenarioError(f"no scenario called {arg!r}: the planted-bug scenarios are "
                                f"{', '.join(BUGS_PREFIX + n for n in _toml_names(BUGS_DIR)) or 'none'}")
    if os.path.sep in arg or arg.endswith(".toml") or os.path.exists(arg):
        if not os.path.exists(arg):
            raise ScenarioError(f"{arg}: no such scenario file")
        return arg
    path = os.path.join(SCENARIO_DIR, arg + ".toml")
    if is_library_name(arg) and os.path.exists(path):
        return path
    raise ScenarioError(f"no scenario called {arg!r}: give a .toml path or a name from "
                        f"`mmstress list` ({', '.join(n for n, _ in available())})")


def is_library_name(name):
    """``larson``, ``bugs/lock_abba``: a name that can only mean a file of scenarios/
    (no ``..``, no other folder)."""
    return re.fullmatch(r"(bugs/)?[A-Za-z0-9_][A-Za-z0-9_-]{0,100}", name) is not None \
        and ".." not in name         # (no dot at all: a name never ends in .toml)


def library_name(source):
    """``larson``, ``bugs/lock_abba``, ``smoke`` for a file of scenarios/; None for any other file."""
    rel = os.path.relpath(os.path.abspath(source), SCENARIO_DIR)
    if rel.startswith("..") or not rel.endswith(".toml"):
        return None
    return rel[:-5].replace(os.sep, "/")


def _toml_names(folder):
    try:
        return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".toml"))
    except OSError:
        return []


def available():
    """[(name, description)]: smoke, every other scenarios/*.toml, then the planted-bug
    scenarios of scenarios/bugs/ as ``bugs/NAME``."""
    names = [(SCENARIO_DIR, "", n) for n in _toml_names(SCENARIO_DIR)]
    names.sort(key=lambda row: row[2] != SMOKE)             # smoke first, the rest by name
    names += [(BUGS_DIR, BUGS_PREFIX, n) for n in _toml_names(BUGS_DIR)]
    out = []
    for folder, prefix, name in names:
        try:
            desc = load(os.path.join(folder, name + ".toml")).description
        except ScenarioError as exc:
            desc = f"(invalid: {exc})"
        out.append((prefix + name, desc))
    return out
