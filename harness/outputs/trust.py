"""Whether a trace (or a report) may run what it names: checked before anything is imported.

A trace is data that someone else may have written: a bug report's
attachment, a CI artifact.  It names a scenario file, the scenario names a
workload module, and importing that module runs its code.  So before
``replay``, ``minimize``, ``repro`` or ``pytest --mmstress`` parse the
scenario (``parse`` imports the workload to check it), this module decides,
reading files only (regular files, bounded; TOML through ``tomllib``; the
workload found by ``harness.scenario.workload.locate_workload``, a filesystem
search that imports nothing):

    what                      runs without --trust when
    the scenario file         it is in the library (scenarios/ of this mmstress),
                              in the trace's own folder, or named on the command
                              line (--scenario FILE: the user vouches for it)
    its workload code         every module file is in the library, or the scenario
                              was named on the command line
    (any)                     the scenario text is the header's ``scenario_text``
                              and each module's sha256 the header's ``workloads``:
                              a change is another run, refused even with --trust

``--trust`` lifts the location rules and lets a format-2 trace (no hashes)
replay; it never lifts the hash checks of a trace that has them.  Every
refusal is ``BadTrace`` (exit 2) saying what changed, or where the code is and
how to look at it first.

The workload's modules are the one the scenario names, its packages'
``__init__.py``, and the modules it imports (statically, ``import``/``from``
anywhere in the file, followed recursively) that live in its own folder or
below: helpers such as ``scenarios/workloads/common.py`` are code the run ran
too.
"""

import ast
import difflib
import hashlib
import os
import tomllib

from harness import scenario as scenario_mod
from harness.scenario.files import InputFileError, is_inside, read_input
from harness.scenario.workload import WorkloadNotFound, locate_workload
from harness.scheduler.trace import BadTrace

MAX_MODULE_BYTES = 4 << 20          # a workload module's source
MAX_MODULES = 64                    # modules a workload may bring along


def sha256_of(path):
    return hashlib.sha256(read_input(path, MAX_MODULE_BYTES, "Python module")).hexdigest()


def _locate(spec, scenario_file):
    """The WorkloadLocation of ``spec`` (a filesystem search), or None."""
    try:
        return locate_workload(spec, scenario_file)
    except (WorkloadNotFound, OSError, ValueError):
        return None


def _find_in(root, name):
    """The file of dotted module ``name`` under sys.path entry ``root``, or None."""
    base = os.path.join(root, *name.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _imported_names(path, module):
    """Dotted names ``module`` (at ``path``) may import: ``import a.b``, ``from a import b``
    (as ``a`` and ``a.b``), relative imports resolved against its package."""
    try:
        tree = ast.parse(read_input(path, MAX_MODULE_BYTES, "Python module"), path)
    except (InputFileError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:max(0, len(package.split(".")) - (node.level - 1))]
                base = ".".join([p for p in up if p] + ([node.module] if node.module else []))
            if base:
                names.append(base)
            names += [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
    return names


def workload_files(spec, scenario_file):
    """{module: file} of the workload ``spec`` of the scenario at ``scenario_file``
    (the spec itself names the top one): it, its packages' ``__init__.py`` and the
    modules of its own folder it imports, found as the import will find them (from
    its sys.path root); {} if ``spec`` is not found."""
    loc = _locate(spec, scenario_file)
    if loc is None:
        return {}
    folder = os.path.dirname(os.path.abspath(loc.path))
    found, names, todo = {spec: loc.path}, {loc.name: spec}, [(loc.name, loc.path)]
    parts = loc.name.split(".")
    for i in range(1, len(parts)):                   # its packages' __init__.py run first
        package = ".".join(parts[:i])
        path = _find_in(loc.root, package)
        if path:
            found[package] = path
    while todo and len(found) < MAX_MODULES:
        module, path = todo.pop()
        for name in _imported_names(path, module):
            if name in names or name in found:
                continue
            dep = _find_in(loc.root, name)
            if dep and is_inside(dep, folder) and len(found) < MAX_MODULES:
                found[name] = dep
                names[name] = name
                todo.append((name, dep))
    return dict(sorted(found.items()))


def workload_hashes(sc):
    """{module: sha256 of its source} for scenario ``sc``'s workload (what a trace records)."""
    if not getattr(sc, "workload", None):
        return {}
    try:
        return {m: sha256_of(p) for m, p in workload_files(sc.workload, sc.source).items()}
    except InputFileError:
        return {}


def workload_spec(text, source):
    """The ``workload = "..."`` of scenario ``text`` (TOML only: nothing imported), or None."""
    try:
        data = scenario_mod.parse_toml(text, source)
    except scenario_mod.ScenarioError as exc:
        raise BadTrace(str(exc)) from None
    spec = data.get("workload")
    return spec if isinstance(spec, str) else None


# -- where the scenario comes from ------------------------------------------------------------------
def _recorded_file(source, folder, where, trust):
    """The path of the scenario a header or report names; BadTrace if it lies outside
    the library and ``folder`` and ``trust`` is not given."""
    if source == "<embedded smoke>":                  # format-1 reports and traces
        source = "smoke"
    if scenario_mod.is_library_name(source):
        path = scenario_mod.scenario_file(source) if os.path.exists(
            os.path.join(scenario_mod.SCENARIO_DIR, source + ".toml")) else None
        if path is None:
            raise BadTrace(f"{where} names the library scenario {source!r}, which this "
                           f"mmstress does not have (`mmstress list`); if you have its file, "
                           "name it: --scenario FILE")
        return path
    path = source if os.path.isabs(source) else os.path.join(folder, source)
    if not os.path.exists(path):
        raise BadTrace(f"{where} names the scenario file {source}, which is not here; if you "
                       "have it, name it: --scenario FILE")
    if not (trust or is_inside(path, scenario_mod.SCENARIO_DIR) or is_inside(path, folder)):
        raise BadTrace(f"{where} names the scenario {source}, outside the scenario library and "
                       f"outside the folder {folder or '.'} it was found in; mmstress runs it "
                       "only when you say so: look at it first, then name it on the command "
                       "line (--scenario FILE) or pass --trust")
    return path


def _read_scenario(path, where):
    try:
        raw = read_input(path, scenario_mod.MAX_SCENARIO_BYTES, "scenario file")
    except InputFileError as exc:
        raise BadTrace(f"{where}: its scenario cannot be read: {exc}") from None
    return raw.decode("utf-8", "replace")


def _changed_lines(recorded, now):
    diff = [ln for ln in difflib.unified_diff(recorded.splitlines(), now.splitlines(),
                                              "recorded", "now", n=0, lineterm="")
            if not ln.startswith(("---", "+++"))]
    return "\n".join(f"    {ln[:200]}" for ln in diff[:8]) + (
        f"\n    ... and {len(diff) - 8} more changed lines" if len(diff) > 8 else "")


def _check_code(files, vouched, trust, where, what):
    """Refuse workload code outside the library unless the user vouched for it."""
    outside = sorted(p for p in files.values() if not is_inside(p, scenario_mod.SCENARIO_DIR))
    if outside and not (vouched or trust):
        raise BadTrace(f"{where} would run Python code outside the scenario library: "
                       f"{', '.join(outside[:4])} (the workload of {what}); importing a module "
                       "runs it, so mmstress does that only when you say so: read the code "
                       "first, then name the scenario on the command line (--scenario FILE) "
                       "or pass --trust")


def vet_trace(trace, where, trust=False, named=None):
    """The scenario file of ``trace`` (read from ``where``) and its text, once its
    location, text and workload code pass the checks above; BadTrace says why not.
    ``named``: the scenario the user gave on the command line (``--scenario``)."""
    h = trace.header
    folder = os.path.dirname(os.path.abspath(where))
    if named:
        try:
            path = scenario_mod.scenario_file(named)
        except scenario_mod.ScenarioError as exc:
            raise BadTrace(f"--scenario {named}: {exc}") from None
        vouched = True
    else:
        path = _recorded_file(h["source"], folder, where, trust)
        vouched = False
    text = _read_scenario(path, where)
    recorded = h.get("scenario_text")
    if recorded is not None:
        if hashlib.sha256(recorded.encode()).hexdigest()[:16] != h["scenario_hash"]:
            raise BadTrace(f"{where}: header field scenario_text does not hash to its "
                           "scenario_hash: the trace is damaged or was edited")
        if text != recorded:
            raise BadTrace(f"{where} was recorded from another version of {path}: the "
                           f"scenario text changed since (changed lines, recorded -/now +):\n"
                           f"{_changed_lines(recorded, text)}\nreplaying it would not be the same "
                           "run; re-record it")
    elif "scenario_hash" in h:                    # format 2: the text's hash only
        now = hashlib.sha256(text.encode()).hexdigest()[:16]
        if now != h["scenario_hash"]:
            raise BadTrace(f"{where} was recorded from another version of {path} (scenario "
                           f"hash {h['scenario_hash']}, the file now hashes to {now}): "
                           "replaying it would not be the same run; re-record it")
    spec = workload_spec(text, path)
    if spec:
        files = workload_files(spec, path)
        if not files:
            raise BadTrace(f"{where}: the workload module {spec!r} of {path} is not found "
                           "(looked beside the scenario, in the mmstress checkout, on sys.path)")
        if "workloads" in h:
            _check_hashes(h["workloads"], files, where)
        _check_code(files, vouched, trust, where, path)
    return path, text


def _check_hashes(recorded, files, where):
    try:
        now = {m: sha256_of(p) for m, p in files.items()}
    except InputFileError as exc:
        raise BadTrace(f"{where}: a workload module cannot be read: {exc}") from None
    changed = []
    for module in sorted(set(recorded) | set(now)):
        if module not in now:
            changed.append(f"{module} (recorded, not imported by the workload now)")
        elif module not in recorded:
            changed.append(f"{module} ({files[module]}: imported now, not when recorded)")
        elif recorded[module] != now[module]:
            changed.append(f"{module} ({files[module]}: sha256 {now[module][:16]}, recorded "
                           f"{recorded[module][:16]})")
    if changed:
        raise BadTrace(f"{where} was recorded with other workload code: changed since: "
                       f"{'; '.join(changed[:6])}; replaying it would run the new code, not "
                       "the recorded run: re-record it")


def vet_report_run(source, where, trust=False):
    """The scenario file a report's run names, if its location and workload code pass
    the checks above (a report carries no hashes); BadTrace says why not."""
    folder = os.path.dirname(os.path.abspath(where))
    path = _recorded_file(source, folder, where, trust)
    text = _read_scenario(path, where)
    spec = workload_spec(text, path)
    if spec:
        files = workload_files(spec, path)
        if not files:
            raise BadTrace(f"{where}: the workload module {spec!r} of {path} is not found")
        _check_code(files, False, trust, where, path)
    return path
