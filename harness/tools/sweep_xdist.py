"""``mmstress sweep --tx SPEC``: a sweep whose runs go to pytest-xdist workers over execnet gateways.

The local sweep (``harness/tools/sweep.py``) forks its runners on this
machine; this one hands the same runs to pytest-xdist, so they can run on
other machines (``--tx ssh=user@host//python=python3``, ``--tx
socket=HOST:PORT``) and come back with the same grouping, JSON, JUnit and
progress::

    mmstress sweep (controller, this process)             worker (one per --tx, any host)
    pytest.main(--mmstress NAMES --mmstress-path=ABS ...  collects NAME::NAME[seed=N] from its
                --tx SPEC... --dist load)                 own installed package (nothing copied)
      pytest_configure_node: workerinput gets the  ---->  the sweep's overrides and run settings
        run settings (payload below)
                                                          each item: worker_run forks a runner:
                                                            run_scenarios, as the local pool does
      pytest_runtest_logreport  <------------------------   the run dict (host name, CPUs, worker
        -> Sweep._conclude: counts, groups, progress          id) in the report's user_properties
      budget reached / a run refuses its options: stop handing out runs (xdist's shouldstop)

Nothing of ours is copied: library scenarios go by name, other files by an
absolute path that must exist on every host (``--mmstress-path``, which
pytest-xdist does not treat as a path).  (pytest-xdist 3.x itself copies
pytest's own package into ``pyexecnetcache/`` of every non-popen gateway.)  pytest runs with ``--config-file=
/dev/null`` so no ini file of the current directory changes it, its terminal
output goes to a buffer (shown when pytest itself fails; its warnings are
printed), ``-p no:benchmark`` (timings mean nothing here) and ``-s``, so the
progress this process prints reaches the terminal.
"""

import contextlib
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import warnings

import pytest

from harness.exits import EXIT_HARNESS
from harness.tools import sweep

SWEEP_INPUT = "mmstress_sweep"  # workerinput key: the payload below (read by harness/pytest_plugin.py)
RESULT = "mmstress_result"      # user_properties key: {exit_code, run, log} of one item
SETTINGS = ("sched", "sched_params", "sched_seed", "irq_mask")     # RunSettings a worker needs
_ITEM = re.compile(r"^(?P<file>.*)::[^:]*\[seed=(?P<seed>\d+)\]$")


def payload(over, settings):
    """What every worker gets in ``workerinput``: the scenario overrides (cpus, duration, ops)
    and the run settings, as plain data (execnet carries no objects)."""
    return {"over": dict(over), "settings": {k: getattr(settings, k) for k in SETTINGS}}


def worker_run(sc, seed, sweep_payload, worker):
    """On a worker: one run as the local sweep's runner does it -- a forked process that calls
    ``run_scenarios`` with a JSON report; returns (exit code, run dict or None, its output's
    tail when there is no report).

    Forked because a worker is long-lived and need not run on its main thread (an execnet
    socket server's ``thread`` model runs it on any thread), while a run installs its
    SIGINT/SIGTERM handlers, which only a main thread may: the fork's only thread is its main.
    """
    from harness.tools import run
    tmp = tempfile.mkdtemp(prefix="mmstress-run-")
    path, log = os.path.join(tmp, "run.json"), os.path.join(tmp, "run.log")
    settings = run.RunSettings(**sweep_payload["settings"], json=path, quiet=True)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:                                                # the runner
        def prepare():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            sweep._set_pdeathsig(signal.SIGTERM)
        sweep.runner_child(sc, seed, settings, log, prepare)
    result = None
    try:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        left = sweep._unlink_segments(pid)
        try:
            with open(path) as f:
                runs = json.load(f).get("runs") or []
            result = runs[0] if runs else None
        except (OSError, ValueError):
            pass
        text = sweep._tail(log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if result is not None:
        result.setdefault("host", {})["worker"] = worker
        if left and result["exit_code"] != EXIT_HARNESS:
            result["failures"] = result.get("failures", []) + [{
                "kind": "harness-error", "cpu": None, "context": None,
                "message": f"the run left shared memory behind: {', '.join(left)} (removed)"}]
            result["exit_code"], result["status"] = EXIT_HARNESS, "failed"
            code = EXIT_HARNESS
    return code, result, text


class XdistSweep(sweep.Sweep):
    """A ``Sweep`` whose runs go to pytest-xdist workers on ``tx`` gateways (one worker each)."""

    def __init__(self, scenarios, seeds, seeds_text, tx, over, settings, run_args=(), budget=None,
                 events=None):
        super().__init__(scenarios, seeds, sum(len(_expand(spec)) for spec in tx), settings, run_args, budget, events)
        self.tx = [one for spec in tx for one in _expand(spec)]
        self.seeds_text = seeds_text
        self.payload = payload(over, settings)
        self.output = ""                  # pytest's own terminal output
        self.pytest_exit = None
        self._session = None

    def pytest_args(self):
        """(pytest arguments, {item file id: (argument, Scenario)})."""
        from harness.scenario import library_name
        targets, ids = [], {}
        for arg, sc in self.scenarios:
            name = library_name(sc.source)
            if name is not None:
                targets.append(name)
                ids[name] = (arg, sc)
            else:
                path = os.path.abspath(sc.source)
                targets.append(f"--mmstress-path={path}")
                ids[path] = (arg, sc)
        args = ["--config-file=/dev/null", "-p", "no:cacheprovider", "-p", "no:benchmark", "-q", "-s",
                "--mmstress", f"--mmstress-seeds={self.seeds_text}", "--dist=load",
                *(f"--tx={spec}" for spec in self.tx), *targets]
        return args, ids

    def run(self):
        """Run the sweep through pytest-xdist; returns the exit code (as ``Sweep.run``)."""
        args, ids = self.pytest_args()
        plugin = _Controller(self, ids)
        old = {s: signal.signal(s, self._on_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        buf = io.StringIO()
        self.t0 = time.monotonic()
        if self.events:
            self.events.started(self)
        try:
            with contextlib.redirect_stdout(buf), warnings.catch_warnings(record=True) as caught:
                self.pytest_exit = int(pytest.main(args, plugins=[plugin]))
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            self.elapsed = time.monotonic() - self.t0
            self.output = buf.getvalue()
            for w in caught:                  # e.g. a deprecation in pytest-xdist: say so
                print(f"mmstress sweep: pytest-xdist session: {w.category.__name__}: {w.message}",
                      file=sys.stderr)
        if self.pytest_exit not in (0, 1, 2) and not self.usage_error and not self.interrupted:
            # no run went wrong: pytest-xdist could not start or collect (a gateway, a host
            # without mmstress or without the scenario file)
            self.usage_error = f"pytest-xdist could not run the sweep: {_last_error(self.output)}"
        if self.events:
            self.events.done(self)
        return self.exit_code()

    def _on_stop(self, signum, frame):
        self.interrupted = self.interrupted or signum
        raise KeyboardInterrupt          # pytest stops handing out runs and ends its gateways

    def stop(self, why):
        """Hand out no more runs (the ones a worker already holds still come back)."""
        dsession = self._session.config.pluginmanager.getplugin("dsession") if self._session else None
        if dsession is not None and not getattr(dsession, "shouldstop", False):
            dsession.shouldstop = why


class _Controller:
    """The pytest plugin of the controller: payload out, run dicts in."""

    def __init__(self, sw, ids):
        self.sw, self.ids = sw, ids
        self.seen = set()
        self.index = 0

    def pytest_sessionstart(self, session):
        self.sw._session = session

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput[SWEEP_INPUT] = self.sw.payload

    def pytest_runtest_logreport(self, report):
        if report.nodeid in self.seen or not (report.when == "call" or report.failed):
            return
        m = _ITEM.match(report.nodeid)
        if not m or m.group("file") not in self.ids:
            return
        self.seen.add(report.nodeid)
        arg, sc = self.ids[m.group("file")]
        node = getattr(report, "node", None)
        worker = node.gateway.id if node is not None else None
        job = sweep.Job(self.index, sc, arg, int(m.group("seed")), worker)
        self.index += 1
        job.started = time.monotonic() - (report.duration or 0.0)
        result = dict(report.user_properties).get(RESULT)
        if result is None:                       # the worker failed around the run (or crashed)
            code, run, log = EXIT_HARNESS, None, report.longreprtext or "(no output)"
        else:
            code, run, log = result["exit_code"], result["run"], result["log"]
        sw = self.sw
        sw._conclude(job, code, run, log)
        if sw.usage_error:
            sw.stop("a run refused its options")
        elif sw.budget is not None and time.monotonic() - sw.t0 >= sw.budget \
                and sw.done < sw.planned:
            sw.budget_hit = True
            sw.stop("budget reached")
        if sw.events:
            sw.events.tick(sw)


def _expand(spec):
    """xdist's ``2*popen`` -> [popen, popen]: one entry per worker."""
    count, star, rest = spec.partition("*")
    return [rest] * int(count) if star and count.isdigit() else [spec]


def _last_error(output):
    """The line of pytest's output that says what went wrong (an error, else the last one)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not set(ln.strip()) <= set("=-_")]
    for ln in reversed(lines):
        if re.search(r"Error|error|refused|not found|Different tests", ln):
            return ln.removeprefix("INTERNALERROR> ").removeprefix("E ").strip()
    return lines[-1] if lines else "no output"
