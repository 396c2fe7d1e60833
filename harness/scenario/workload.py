"""Workload modules: finding the file a scenario's ``workload`` names, then importing it.

A workload module defines some of ``setup``, ``process``, ``hardirq``,
``softirq``, ``tasklet``, ``teardown`` (the ``k`` API of
``harness/runtime/workload_api.py`` is their argument).  A scenario names one
the way users keep them, next to the scenario:

    workload = "ring.py"                  a file, relative to the scenario's folder
    workload = "./drivers/ring.py"        (or an absolute path)
    workload = "ring"                     a module: looked for in the scenario's folder,
    workload = "drivers.ring"             then the mmstress checkout (scenarios.workloads.*),
    workload = "scenarios.workloads.larson"   then the working directory, then sys.path

Finding (``locate_workload``) is a pure file-system search: it opens no file
and runs no code, so a shared trace can hash the module it names before
anything is imported.  Importing (``import_workload``) then does what
``python ring.py`` does for a script: the folder the module was found from goes
first on ``sys.path``, so the workload's own ``import helpers`` finds the file
beside it.  A module whose name is taken by another (a ``random.py`` beside the
scenario) is loaded from its file under a private name rather than silently
replaced by the other.  The CPU processes fork from the machine after the
import, so they run the same module object.
"""

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass

WORKLOAD_FUNCTIONS = ("setup", "process", "hardirq", "softirq", "tasklet", "teardown")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class WorkloadNotFound(Exception):
    """The module or file a scenario names is not where it may be; ``looked`` lists where."""

    def __init__(self, spec, looked):
        self.spec, self.looked = spec, looked
        where = "".join(f"\n  {p}" for p in looked)
        super().__init__(f"cannot find {spec!r}; looked for{where}")


@dataclass(frozen=True)
class WorkloadLocation:
    """Where a workload is: its module ``name``, its source ``path`` and the sys.path
    entry ``root`` it is imported from (the file's own folder for a file path)."""
    spec: str
    name: str
    path: str
    root: str


def is_file_spec(spec):
    """``ring.py``, ``./x/ring.py``, ``/abs/ring.py``: a file, not a dotted module."""
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def search_roots(scenario_file):
    """Where a dotted workload module is looked for, first match wins."""
    roots = []
    if scenario_file:
        roots.append(os.path.dirname(os.path.abspath(scenario_file)))
    roots.append(ROOT)
    try:
        roots.append(os.getcwd())
    except OSError:
        pass
    roots += [p for p in sys.path if p and os.path.isdir(p)]
    out = []
    for r in roots:
        r = os.path.abspath(r)
        if r not in out:
            out.append(r)
    return out


def locate_workload(spec, scenario_file=None):
    """The ``WorkloadLocation`` of ``spec`` as named in ``scenario_file`` (None: a
    scenario given as text, looked up from the working directory).  Runs no code;
    raises ``WorkloadNotFound`` naming every place it looked."""
    if is_file_spec(spec):
        base = os.path.dirname(os.path.abspath(scenario_file)) if scenario_file else os.getcwd()
        path = os.path.normpath(os.path.join(base, os.path.expanduser(spec)))
        if not path.endswith(".py") and os.path.isfile(path + ".py"):
            path += ".py"
        if not os.path.isfile(path):
            raise WorkloadNotFound(spec, [path])
        stem = os.path.splitext(os.path.basename(path))[0]
        if not stem.isidentifier():
            raise WorkloadNotFound(spec, [f"{path} (not a Python module name: use letters, "
                                          f"digits and _)"])
        return WorkloadLocation(spec, stem, path, os.path.dirname(path))
    parts = spec.split(".")
    if not all(p.isidentifier() for p in parts):
        raise WorkloadNotFound(spec, ["(not a module name: give a dotted name like "
                                      "drivers.ring, or a file like ring.py)"])
    looked = []
    for root in search_roots(scenario_file):
        base = os.path.join(root, *parts)
        for path in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(path):
                return WorkloadLocation(spec, spec, path, root)
        looked.append(base + ".py")
    raise WorkloadNotFound(spec, looked)


def _same_file(mod, path):
    f = getattr(mod, "__file__", None)
    return f is not None and os.path.realpath(f) == os.path.realpath(path)


def import_workload(spec, scenario_file=None):
    """Import the workload ``spec`` names (a ``WorkloadLocation`` or the scenario's
    string), as located from ``scenario_file``; returns the module."""
    loc = spec if isinstance(spec, WorkloadLocation) else locate_workload(spec, scenario_file)
    have = sys.modules.get(loc.name)
    if have is not None and _same_file(have, loc.path):
        return have
    if loc.root not in sys.path:
        sys.path.insert(0, loc.root)
    if have is None:
        try:
            mod = importlib.import_module(loc.name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not loc.name.startswith(exc.name):
                raise                      # the workload's own import failed: the user's to see
            mod = None
        if mod is not None and _same_file(mod, loc.path):
            return mod
    return _load_file(loc)


def _load_file(loc):
    """Load ``loc.path`` under a private module name (its own name is taken)."""
    name = "mmstress_workload_" + loc.name.replace(".", "_")
    have = sys.modules.get(name)
    if have is not None and _same_file(have, loc.path):
        return have
    spec = importlib.util.spec_from_file_location(name, loc.path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


def check_workload(v, spec, scenario_file=None):
    """Validate the scenario's ``workload``: found, importable, defines a step.
    Returns its ``WorkloadLocation``."""
    try:
        loc = locate_workload(spec, scenario_file)
    except WorkloadNotFound as exc:
        v.fail(("workload",), str(exc))
    try:
        mod = import_workload(loc)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix
        v.fail(("workload",), f"cannot import {spec!r} ({loc.path}): {type(exc).__name__}: {exc}")
    found = [f for f in WORKLOAD_FUNCTIONS if callable(getattr(mod, f, None))]
    if not found:
        v.fail(("workload",), f"{spec!r} ({loc.path}) defines none of {', '.join(WORKLOAD_FUNCTIONS)}")
    return loc
