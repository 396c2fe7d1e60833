"""pytest plugin: scenario files as tests (``pytest --mmstress scenarios/``).

Registered through the ``pytest11`` entry point ``mmstress`` (pyproject.toml), so
every pytest in an environment with mmstress installed has the options; it
collects nothing unless ``--mmstress`` is given (disable it outright with
``-p no:mmstress``).  With ``--mmstress`` each ``*.toml`` file among the paths
pytest collects (except ``pyproject.toml``) is a scenario, and each scenario x
seed is one test item::

    scenarios/larson.toml::larson[seed=3]

The item runs the scenario in this pytest process (a ``mmstress run``: the
machine forks its CPUs, runs, cleans up) and fails with the splat(s) and the
command that reproduces the run -- no Python traceback.  A scenario file that
does not validate is a collection error naming the file, line and key.
Each ``*.mmtrace`` file (a regression trace from ``mmstress minimize``) is one
item, ``ci/regressions/lock-abba.mmtrace::replay[lock-abba]``, that replays it
and fails unless the recorded outcome (trace hash, violation kinds) comes out.
A trace is checked as ``mmstress replay`` checks it before anything is
imported (harness/outputs/trust.py): a trace whose scenario or workload code
lies outside the scenario library fails without running unless
``--mmstress-trust`` is given (read the code first).

Seeds come from ``--mmstress-seeds`` (``0-99``, ``1,5,7`` or mixes; default
``0-2``) and are parsed into the same list by every process, so pytest-xdist
workers, local (``-n auto``) or on other machines (``--tx ssh=...``), collect
identical items and the controller can hand any item to any worker.

Failing items are also grouped at the end of the session by the violation
records' keys (kind + workload site, as ``mmstress sweep`` groups): one
line per bug with the items that found it, however many seeds failed.  Each
item carries its keys in ``user_properties`` (``mmstress_key``), so the
groups are the same under pytest-xdist.

Options: ``--mmstress``, ``--mmstress-seeds SPEC``, ``--mmstress-duration D``
(override every scenario's duration: ``300ms``, ``2s``), ``--mmstress-trust``.  Markers:
``mmstress`` on every item, ``mmstress_planted`` on the items of planted-bug
scenarios (a non-empty ``expect``), so ``-m "not mmstress_planted"`` gates on
the correct library alone.  ``--junitxml`` records each item's reproduce
command as a ``reproduce`` property.

This module imports only pytest at load time: it is loaded by every pytest
session in the environment, most of which never run a scenario.
"""

import os

import pytest

DEFAULT_SEEDS = "0-2"
_CONF = pytest.StashKey()   # {"seeds": [...], "seeds_text": str, "duration": float | None, "trust": bool}


def pytest_addoption(parser):
    group = parser.getgroup("mmstress", "mmstress scenarios as tests")
    group.addoption("--mmstress", action="store_true", default=False,
                    help="collect scenario files (*.toml) among the given paths as tests, "
                         "one item per scenario x seed")
    group.addoption("--mmstress-seeds", metavar="SEEDS", default=None,
                    help=f"seeds for every scenario: 0-99, 1,5,7 or mixes (default {DEFAULT_SEEDS})")
    group.addoption("--mmstress-duration", metavar="DURATION", default=None,
                    help="run every scenario for this long (300ms, 2s, 1m) instead of its own duration")
    group.addoption("--mmstress-trust", action="store_true", default=False,
                    help="replay *.mmtrace files whose scenario or workload code lies outside the "
                         "scenario library (read it first), and format-2 traces without hashes")


def pytest_configure(config):
    config.addinivalue_line("markers", "mmstress: a scenario x seed run collected by --mmstress")
    config.addinivalue_line("markers", "mmstress_planted: a run of a planted-bug scenario "
                                       "(one with a non-empty expect = [...])")
    seeds_text = config.getoption("mmstress_seeds")
    duration_text = config.getoption("mmstress_duration")
    if not config.getoption("mmstress"):
        if seeds_text is not None or duration_text is not None:
            raise pytest.UsageError("--mmstress-seeds and --mmstress-duration need --mmstress")
        if config.getoption("mmstress_trust"):
            raise pytest.UsageError("--mmstress-trust needs --mmstress")
        return
    from harness.tools.sweep import parse_seeds
    seeds_text = seeds_text if seeds_text is not None else DEFAULT_SEEDS
    try:
        seeds = parse_seeds(seeds_text)
    except ValueError as exc:
        raise pytest.UsageError(f"--mmstress-seeds {seeds_text}: {exc}") from None
    duration = None
    if duration_text is not None:
        from harness.scenario import parse_duration
        try:
            duration = parse_duration(duration_text)
        except ValueError as exc:
            raise pytest.UsageError(f"--mmstress-duration {duration_text!r}: allowed: {exc}") from None
    config.stash[_CONF] = {"seeds": seeds, "seeds_text": seeds_text, "duration": duration,
                           "trust": config.getoption("mmstress_trust")}
    config.pluginmanager.register(BugGroups(), "mmstress-bug-groups")


class BugGroups:
    """Failing scenario items grouped by record key, listed in the terminal summary."""

    def __init__(self):
        self.groups = {}               # key -> (title, [nodeid])

    def pytest_runtest_logreport(self, report):
        if report.when != "call" or not report.failed:
            return
        for name, value in report.user_properties:
            if name == "mmstress_key":
                key, title = value
                self.groups.setdefault(key, (title, []))[1].append(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.groups:
            return
        tr = terminalreporter
        tr.section("mmstress: failing runs by bug (kind @ workload site)")
        for key, (title, ids) in sorted(self.groups.items(), key=lambda kv: (-len(kv[1][1]), kv[0])):
            tr.write_line(f"{key}  ({len(ids)} run{'s' if len(ids) != 1 else ''})")
            tr.write_line(f"    {title}")
            for nodeid in ids[:5]:
                tr.write_line(f"    {nodeid}")
            if len(ids) > 5:
                tr.write_line(f"    ... and {len(ids) - 5} more")


def pytest_report_header(config):
    conf = config.stash.get(_CONF, None)
    if conf is None:
        return None
    how = (f"each run {conf['duration']:g}s" if conf["duration"] is not None
           else "each scenario's own duration")
    return f"mmstress: seeds {conf['seeds_text']} ({len(conf['seeds'])} per scenario), {how}"


def pytest_collect_file(file_path, parent):
    if parent.config.stash.get(_CONF, None) is None:
        return None
    if file_path.suffix == ".toml" and file_path.name != "pyproject.toml":
        return ScenarioFile.from_parent(parent, path=file_path)
    if file_path.suffix == ".mmtrace":
        return TraceFile.from_parent(parent, path=file_path)
    return None


class TraceFile(pytest.File):
    """A regression trace (``mmstress minimize`` output): one item that replays it."""

    def collect(self):
        yield TraceItem.from_parent(self, name=f"replay[{self.path.stem}]")


class TraceItem(pytest.Item):
    """``mmstress replay TRACE --check``: the recorded outcome must come out again
    (same steps, same violation kinds); seeds and durations do not apply."""

    def runtest(self):
        from harness.exits import printable
        from harness.outputs import recording, report
        from harness.scheduler.trace import TraceError
        try:
            trace, res = recording.replay(str(self.path), trust=self.config.stash[_CONF]["trust"])
        except TraceError as exc:
            raise TraceFailed(printable(f"cannot replay: {exc}", multiline=True)) from None
        h = trace.header
        if not recording.reproduced(trace, res):
            kinds, got = recording.violation_kinds(res), (res.sched or {}).get("hash")
            run = report.run_dict(res)
            raise TraceFailed(f"{self.path}: the replay did not reproduce the recording: trace hash "
                              f"{got} (recorded {h.get('hash')}), violations {kinds or 'none'} "
                              f"(recorded {h.get('kinds') or 'none'})\n\n{report.summary(run)}")
        self.user_properties.append(("reproduce", f"mmstress replay {self.path}"))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, TraceFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.name} (mmstress regression trace)"


class TraceFailed(Exception):
    """A regression trace that no longer replays to its recorded outcome."""


class ScenarioFile(pytest.File):
    """One scenario file: an item per seed."""

    def collect(self):
        import dataclasses

        from harness import scenario
        from harness.exits import printable
        from harness.scenario.files import InputFileError, read_input
        conf = self.config.stash[_CONF]
        source = _display_path(self.path, self.config.invocation_params.dir)
        try:
            text = read_input(str(self.path), scenario.MAX_SCENARIO_BYTES, "scenario file")
            sc = scenario.parse(text.decode("utf-8", "replace"), source, self.path.stem)
        except InputFileError as exc:
            raise self.CollectError(printable(exc)) from None
        except scenario.ScenarioError as exc:
            raise self.CollectError(printable(exc)) from None
        if conf["duration"] is not None:
            sc = dataclasses.replace(sc, duration=conf["duration"], ops=None)
        for seed in conf["seeds"]:
            item = ScenarioItem.from_parent(self, name=f"{sc.name}[seed={seed}]", scenario=sc, seed=seed)
            item.add_marker("mmstress")
            if sc.expect:
                item.add_marker("mmstress_planted")
            yield item


class ScenarioFailed(Exception):
    """A run that did not come out clean; carries its run dict (harness/outputs/report.py)."""

    def __init__(self, run):
        super().__init__(run["status"])
        self.run = run


class ScenarioItem(pytest.Item):
    """One scenario x seed: a ``mmstress run`` in this process."""

    def __init__(self, *, scenario, seed, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.seed = seed

    def runtest(self):
        from harness.supervisor import machine
        from harness.outputs import report
        result = machine.run(self.scenario, self.seed)
        run = report.run_dict(result)
        self.user_properties.append(("reproduce", run["reproduce"]))
        if result.exit_code != 0:
            from harness.tools.sweep import problems
            for key, what in problems(run):
                self.user_properties.append(("mmstress_key", [key, what["title"]]))
            raise ScenarioFailed(run)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            from harness.tools.sweep import failure_text
            return failure_text(excinfo.value.run)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.name} (mmstress scenario {self.scenario.source})"


def _display_path(path, start):
    """``path`` relative to where pytest was started, when it is below it (for reproduce commands)."""
    try:
        rel = os.path.relpath(path, start)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel
