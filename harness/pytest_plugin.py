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

Saved failures first: a failing item is saved in the failure database
(``.mmstress/failures/`` of the directory pytest was started in, as
``mmstress run`` saves; ``mmstress failures`` lists it), and the next session
that collects the same scenario file runs its saved failures first, as items
of their own::

    scenarios/bugs/double_free.toml::double_free[saved=b6d25e31,seed=0]

A saved item fails when its run fails again; after ``--mmstress-failures-keep``
passes in a row (default 3) the entry is dropped.  An entry that is exactly
one of the session's items (same seed, CPUs, duration) is not doubled: that
item counts for it.  The database is read once at configure time, so every
pytest-xdist worker collects the same items.

Library scenarios go by name, as in ``mmstress run``: ``pytest --mmstress larson
bugs/lock_abba`` collects the installed package's files, so nothing is
copied to a worker and the items are ``larson::larson[seed=3]`` on every
host.  Across machines (``--tx socket=HOST:PORT``, ``--tx ssh=...``)
pytest-xdist refuses path arguments unless they lie below an rsync root
(``--rsyncdir``, which it deprecates): so a scenario folder of your own is
named by an absolute path that exists on every host, and the controller
hands it to the workers as ``--mmstress-path=PATH`` (its items are named by
that absolute path); a relative path with a remote ``--tx`` is a usage error.
Each item records where it ran: ``host``, ``host_cpus`` and ``worker``
(``gw0``...) in ``user_properties`` (JUnit ``<property>``).

Options: ``--mmstress``, ``--mmstress-seeds SPEC``, ``--mmstress-duration D``
(override every scenario's duration: ``300ms``, ``2s``),
``--mmstress-failures-dir DIR`` (or ``$MMSTRESS_FAILURES_DIR``),
``--mmstress-no-failures`` (or ``MMSTRESS_NO_FAILURES=1``),
``--mmstress-failures-keep N``, ``--mmstress-trust``.  Markers:
``mmstress`` on every item, ``mmstress_planted`` on the items of planted-bug
scenarios (a non-empty ``expect``), so ``-m "not mmstress_planted"`` gates on
the correct library alone.  ``--junitxml`` records each item's reproduce
command as a ``reproduce`` property.

This module imports only pytest at load time: it is loaded by every pytest
session in the environment, most of which never run a scenario.
"""

import argparse
import dataclasses
import os
import re

import pytest

DEFAULT_SEEDS = "0-2"
_CONF = pytest.StashKey()          # {"seeds", "seeds_text", "duration", "library", "absolute", "sweep",
                                   #  "db": FailureDB | None, "saved": [entry], "corrupt": [text],
                                   #  "trust": bool}
_NAME = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?")


def pytest_addoption(parser):
    group = parser.getgroup("mmstress", "mmstress scenarios as tests")
    group.addoption("--mmstress", action="store_true", default=False,
                    help="collect scenario files (*.toml) among the given paths as tests, "
                         "one item per scenario x seed")
    group.addoption("--mmstress-seeds", metavar="SEEDS", default=None,
                    help=f"seeds for every scenario: 0-99, 1,5,7 or mixes (default {DEFAULT_SEEDS})")
    group.addoption("--mmstress-duration", metavar="DURATION", default=None,
                    help="run every scenario for this long (300ms, 2s, 1m) instead of its own duration")
    group.addoption("--mmstress-failures-dir", metavar="DIR", default=None,
                    help="the failure database: failing items are saved there and re-run first "
                         "(default $MMSTRESS_FAILURES_DIR or .mmstress/failures)")
    group.addoption("--mmstress-no-failures", action="store_true", default=False,
                    help="neither re-run saved failures first nor save failing items")
    group.addoption("--mmstress-failures-keep", metavar="N", type=int, default=3,
                    help="drop a saved failure after N passes in a row (default 3)")
    group.addoption("--mmstress-path", action="append", default=[], metavar="ABSPATH",
                    help=argparse.SUPPRESS)      # a path argument as the controller hands it on
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
    from harness.exits import UsageError
    from harness.outputs import failures as failure_db
    try:
        db = failure_db.open_db(config.getoption("mmstress_failures_dir"),
                                config.getoption("mmstress_no_failures"),
                                config.getoption("mmstress_failures_keep"))
    except UsageError as exc:
        raise pytest.UsageError(str(exc).replace("--failures", "--mmstress-failures")) from None
    saved, corrupt = db.entries() if db is not None else ([], [])
    conf = {"seeds": seeds, "seeds_text": seeds_text, "duration": duration,
            "library": {},                 # file path -> library name (its node id)
            "absolute": [],                # paths handed on by a controller (node id: the path)
            "sweep": None, "db": db, "saved": saved, "corrupt": corrupt,
            "trust": config.getoption("mmstress_trust")}
    if hasattr(config, "workerinput"):
        from harness.tools.sweep_xdist import SWEEP_INPUT
        conf["sweep"] = config.workerinput.get(SWEEP_INPUT)
    given = list(config.args)
    _library_names(config, conf)
    _handed_paths(config, conf)
    if not hasattr(config, "workerinput"):
        _hide_paths_from_rsync(config, given)
    config.stash[_CONF] = conf
    config.pluginmanager.register(BugGroups(), "mmstress-bug-groups")


def _library_names(config, conf):
    """Arguments that are no path but a library scenario name (``larson``, ``bugs/lock_abba``,
    also ``larson::larson[seed=3]``) -> the installed file; its items are named by the name."""
    if config.getoption("pyargs", False):
        return
    from harness.scenario import library
    for i, arg in enumerate(config.args):
        name, sep, rest = arg.partition("::")
        if os.path.exists(name):
            continue
        path = os.path.join(library.SCENARIO_DIR, name + ".toml")
        if not (_NAME.fullmatch(name) and ".." not in name and os.path.isfile(path)
                and library.library_name(path) == name):
            names = [n for n, _ in library.available()]
            known = ", ".join(n for n in names if "/" not in n)
            bugs = sum("/" in n for n in names)
            raise pytest.UsageError(f"{arg}: no such file or directory, nor a library scenario "
                                    f"(`mmstress list`: {known}, and {bugs} planted-bug "
                                    f"scenarios bugs/NAME)")
        conf["library"][path] = name
        config.args[i] = path + sep + rest


def _handed_paths(config, conf):
    """``--mmstress-path=P`` (a worker's copy of an absolute path argument): collect it."""
    handed = config.getoption("mmstress_path")
    if not handed:
        return
    if config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR:
        config.args[:] = []           # not the worker's working directory as well
    for arg in handed:
        config.args.append(arg)
        conf["absolute"].append(os.path.abspath(arg.partition("::")[0]))


def _remote_specs(config):
    """The --tx specs xdist would rsync to (any but a plain popen): there path arguments fail."""
    if config.getoption("dist", "no") == "no" or not config.getoption("tx", None):
        return []
    import execnet
    specs = [execnet.XSpec(tx.partition("*")[2] if re.match(r"\d+\*", tx) else tx)
             for tx in config.getoption("tx")]
    return [str(spec) for spec in specs if not spec.popen or spec.chdir]


def _hide_paths_from_rsync(config, given):
    """On the controller of a remote xdist session: hand path arguments to the workers as
    ``--mmstress-path=ABSPATH``, so xdist neither rsyncs nor refuses them (``make_reltoroot``)."""
    remote = _remote_specs(config)
    if not remote:
        return
    args = []
    for arg in map(str, config.invocation_params.args):
        path = arg.partition("::")[0]
        if not os.path.exists(path):
            args.append(arg)
        elif arg in given:
            if not os.path.isabs(path):
                raise pytest.UsageError(
                    f"{arg}: a path given to remote workers (--tx {remote[0]}) must be absolute and "
                    f"exist at the same place on every host; library scenarios go by name "
                    f"(larson, bugs/lock_abba: `mmstress list`)")
            args.append(f"--mmstress-path={arg}")
        elif args and args[-1].startswith("--") and "=" not in args[-1]:
            args[-1] = f"{args[-1]}={arg}"          # --junitxml out.xml: an option's value
        else:
            raise pytest.UsageError(
                f"{arg}: pytest-xdist refuses existing paths in the arguments of remote workers "
                f"(--tx {remote[0]}) unless they are rsynced; give the option its value "
                f"with = (--junitxml=out.xml)")
    if args != list(map(str, config.invocation_params.args)):
        config.invocation_params = dataclasses.replace(config.invocation_params, args=tuple(args))


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
    lines = [f"mmstress: seeds {conf['seeds_text']} ({len(conf['seeds'])} per scenario), {how}"]
    lines += [f"mmstress: skipping a corrupt saved failure: {p}" for p in conf["corrupt"]]
    return lines


def pytest_collection_modifyitems(session, config, items):
    """Saved failures first (stable: in collection order), and say how many; a sweep's
    runs go out seed-major, as on the local pool (a budget cut covers every scenario)."""
    conf = config.stash.get(_CONF, None)
    if conf is None:
        return
    if conf["sweep"] is not None:
        items.sort(key=lambda item: getattr(item, "seed", -1))
    saved = [i for i in items if isinstance(i, SavedItem)]
    if not saved:
        return
    items[:] = saved + [i for i in items if not isinstance(i, SavedItem)]
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.ensure_newline()
        by_file = {}
        for i in saved:
            by_file.setdefault(i.entry["scenario"], []).append(i.entry)
        for name, es in by_file.items():
            seeds = ", ".join(str(e["seed"]) for e in es)
            where = conf["db"].display(es[0]["id"]) if len(es) == 1 else conf["db"].path
            tr.write_line(f"mmstress: re-running {len(es)} saved failure{'s' if len(es) != 1 else ''}"
                          f" of {name} first (seed{'s' if len(es) != 1 else ''} {seeds}, {where})")


def pytest_collect_file(file_path, parent):
    conf = parent.config.stash.get(_CONF, None)
    if conf is None:
        return None
    if file_path.suffix == ".toml" and file_path.name != "pyproject.toml":
        cls = ScenarioFile
    elif file_path.suffix == ".mmtrace":
        cls = TraceFile
    else:
        return None
    nodeid = _host_independent_id(conf, str(file_path))
    if nodeid is None:
        return cls.from_parent(parent, path=file_path)
    return cls.from_parent(parent, path=file_path, nodeid=nodeid)


def _host_independent_id(conf, path):
    """A library file's name; a handed-on absolute path itself; None: pytest's own id."""
    if path in conf["library"]:
        return conf["library"][path]
    for root in conf["absolute"]:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            return path
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
        from harness import scenario
        from harness.exits import printable
        from harness.scenario.files import InputFileError, read_input
        conf = self.config.stash[_CONF]
        source = (str(self.path) if _host_independent_id(conf, str(self.path)) is not None
                  else _display_path(self.path, self.config.invocation_params.dir))
        try:
            text = read_input(str(self.path), scenario.MAX_SCENARIO_BYTES, "scenario file")
            sc = scenario.parse(text.decode("utf-8", "replace"), source, self.path.stem)
        except InputFileError as exc:
            raise self.CollectError(printable(exc)) from None
        except scenario.ScenarioError as exc:
            raise self.CollectError(printable(exc)) from None
        if conf["sweep"] is not None:
            sc = dataclasses.replace(sc, **conf["sweep"]["over"])
        elif conf["duration"] is not None:
            sc = dataclasses.replace(sc, duration=conf["duration"], ops=None)
        yield from self.saved_items(sc, source, conf)
        for seed in conf["seeds"]:
            item = ScenarioItem.from_parent(self, name=f"{sc.name}[seed={seed}]", scenario=sc,
                                            seed=seed, db=conf["db"])
            item.add_marker("mmstress")
            if sc.expect:
                item.add_marker("mmstress_planted")
            yield item

    def saved_items(self, sc, source, conf):
        """An item per saved failure of this file that is not one of its seed items."""
        import os

        from harness.tools import failures
        here = os.path.realpath(self.path)
        seeds = set(conf["seeds"])
        for entry in conf["saved"]:
            if os.path.realpath(entry["source"]) != here:
                continue
            if entry["seed"] in seeds and failures.identity_of(sc, entry["seed"], None, None) \
                    == entry["id"]:
                continue                       # that seed item runs it and counts for it
            item = SavedItem.from_parent(self, name=f"{sc.name}[saved={entry['id'][:8]},"
                                         f"seed={entry['seed']}]", entry=entry, db=conf["db"])
            item.add_marker("mmstress")
            if sc.expect:
                item.add_marker("mmstress_planted")
            yield item


class ScenarioFailed(Exception):
    """A run that did not come out clean; carries its run dict (harness/outputs/report.py)."""

    def __init__(self, run, head=""):
        super().__init__(run["status"])
        self.run = run
        self.head = head


class ScenarioItem(pytest.Item):
    """One scenario x seed: a ``mmstress run`` in this process."""

    def __init__(self, *, scenario, seed, db=None, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.seed = seed
        self.db = db

    def runtest(self):
        from harness.supervisor import machine
        from harness.outputs import report
        from harness.tools import failures
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        sweep = self.config.stash[_CONF]["sweep"]
        if sweep is not None:
            from harness.tools import sweep_xdist
            code, run, log = sweep_xdist.worker_run(self.scenario, self.seed, sweep, worker)
            self.user_properties.append((sweep_xdist.RESULT, {"exit_code": code, "run": run,
                                                              "log": log}))
            if run is None:
                raise ScenarioFailed({"scenario": self.scenario.name, "seed": self.seed,
                                      "status": "failed", "reproduce": "(none: no report)",
                                      "failures": [{"kind": "harness-error", "message":
                                                    f"the run exited {code} without a report: "
                                                    f"{log.strip()}"}]})
            if code != 0:
                raise ScenarioFailed(run)
            return
        result = machine.run(self.scenario, self.seed)
        failures.record(self.db, result, self.scenario.source)
        run = report.run_dict(result)
        run["host"]["worker"] = worker
        self.user_properties.append(("reproduce", run["reproduce"]))
        self.user_properties += [("host", run["host"]["name"]), ("host_cpus", run["host"]["cpus"])]
        if worker:
            self.user_properties.append(("worker", worker))
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


class SavedItem(pytest.Item):
    """A saved failure (``.mmstress/failures/ID.json``) run again, before the seed items."""

    def __init__(self, *, entry, db, **kwargs):
        super().__init__(**kwargs)
        self.entry = entry
        self.db = db

    def runtest(self):
        from harness.exits import EXIT_OK, EXIT_USAGE
        from harness.outputs import report
        from harness.tools import failures
        r = failures.rerun(self.db, self.entry)
        self.user_properties.append(("reproduce", self.entry["reproduce"]))
        if r.code == EXIT_USAGE:
            pytest.skip(failures.outcome_line(r, self.db.keep))
        if r.code != EXIT_OK:
            run = report.run_dict(r.result)
            from harness.tools.sweep import problems
            for key, what in problems(run):
                self.user_properties.append(("mmstress_key", [key, what["title"]]))
            raise ScenarioFailed(run, f"{failures.outcome_line(r, self.db.keep)}\n"
                                      f"(saved in {self.db.display(self.entry['id'])})")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            from harness.tools.sweep import failure_text
            return f"{excinfo.value.head}\n\n{failure_text(excinfo.value.run)}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.name} (mmstress saved failure {self.entry['id']})"


def _display_path(path, start):
    """``path`` relative to where pytest was started, when it is below it (for reproduce commands)."""
    try:
        rel = os.path.relpath(path, start)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel
