"""Seed sweeps: many ``mmstress run``s of the same scenarios, N at a time, on this machine.

Why it is built this way.  A run is itself a machine of processes (one per
simulated CPU), so a sweep job cannot be a ``multiprocessing`` daemon worker
(daemons may not have children), and paying a fresh interpreter per run
(``python -m harness run``: about 0.45 s of imports on a 2-core machine) would
cost more than a short run itself.  So the sweep imports the harness once and
*forks one runner per run*: the runner calls ``harness.tools.run.run_scenarios``
with the scenario, the seed and the sweep's run settings -- exactly what
``mmstress run`` does once its options are checked, so the reproduce command
it prints is what ran -- writes its JSON report to a private file and exits
with the run's exit code::

    sweep (parent, imports harness once)          runner (fork, own process group)
    for each (seed, scenario), N at a time:
      fork  --------------------------------->    stdout/stderr -> run-<i>.log
                                                  run_scenarios([SC], S, settings with
                                                                json=run-<i>.json, quiet)
                                                  machine forks its CPUs, runs, cleans up
      pidfd readable <------------------------    _exit(run's exit code)
      read run-<i>.json, delete it; unlink any /dev/shm/mmstress_<pid>_* left (a killed runner)
    Ctrl-C / SIGTERM: start nothing more, forward the signal once to every runner
      (each stops its run and writes a partial report); again: forward again (abort);
      after a grace period: SIGKILL the runner's process group
    write JSON (below) and JUnit (one test case per run); exit code

Runners sit in their own process group, so a terminal's Ctrl-C reaches the
sweep alone and is forwarded exactly once; each runner asks the kernel for a
SIGTERM if the sweep dies (PR_SET_PDEATHSIG), and its CPUs already die with it.
Stop requests are ``harness/signals.py``'s: a runner inherits the handler at
fork, so a signal forwarded before its run starts is seen by ``machine.run``
(an interrupted run with nothing done), never lost and never a traceback.

The per-run files live in ``$TMPDIR/mmstress-sweep-<pid>-<hex>/``, removed at
the end; a SIGKILLed sweep's folder is removed by the next sweep or by
``mmstress clean`` (harness/tools/leftovers.py).

Order: seed-major (seed 0 of every scenario, then seed 1, ...), so a sweep cut
short by ``--budget`` or Ctrl-C has covered every scenario evenly.

The sweep JSON (``"kind": "sweep"``, harness/outputs/schemas/sweep.schema.json)::

    {schema_version, kind, tool, version, command, exit_code, interrupted,
     scenarios: [source], seeds: "0-99", jobs, tx: [gateway spec], run_args: [...], budget,
     counts: {planned, run, passed, violations, failed, interrupted, not_run},
     elapsed, runs_per_second,
     groups: [{key, kind, title, site, count, sites: {site: runs},
               runs: [{scenario, seed, site, reproduce}]}]     (one group per record key),
     hosts: [{worker, name, cpus, runs, failing}]                (where the runs ran),
     runs: [passing: {scenario, source, seed, status, exit_code, elapsed, host, reproduce}
            otherwise: the full run object of harness/outputs/schemas/run.schema.json,
            or, for a runner that died before its report, {scenario, source, seed, status,
            exit_code, elapsed, violations, failures, invariants, reproduce}],
     saved_failures: [{id, scenario, seed, status, exit_code, change, key, reproduce}]}
                                  (the failure database's entries re-run before the sweep)

Passing runs are kept short so a sweep of a million seeds fits in memory; of the
failing runs, only the first of each bug keeps its ``samples`` (the HTML page's plots).
"""

import dataclasses
import json
import os
import re
import select
import signal
import sys
import time
import xml.etree.ElementTree as ET

from kernel_model import ModelError

from harness import signals
from harness.exits import (EXIT_HARNESS, EXIT_OK, EXIT_SIGINT, EXIT_USAGE, EXIT_VIOLATIONS, UsageError,
                           printable)
from harness.tools import leftovers

MAX_SEEDS = 10_000_000
SHM = "/dev/shm"
KILL_GRACE = 20.0          # after the last forwarded signal: then SIGKILL the runner's group
PR_SET_PDEATHSIG = 1


# --- seed lists -------------------------------------------------------------------------------
_SEED_HELP = "seeds like 7, 0-99, or a comma list of both: 0-9,20,30-32 (integers >= 0)"


def parse_seeds(spec):
    """``"0-9,20,30-32"`` -> [0..9, 20, 30, 31, 32]: deterministic, in the order given, no repeats.

    Every process that parses the same text gets the same list (pytest-xdist
    workers must collect identical items).  Raises ValueError with a message
    that says what is allowed.
    """
    text = str(spec).strip()
    if not text:
        raise ValueError(f"empty seed list; allowed: {_SEED_HELP}")
    out, seen, total = [], set(), 0
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:\s*(?:-|\.\.)\s*(\d+))?", part)
        if not m:
            raise ValueError(f"{part!r} is not a seed or a range; allowed: {_SEED_HELP}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"{part!r}: the range ends before it starts; allowed: {_SEED_HELP}")
        if hi >= 2**63:
            raise ValueError(f"{part!r}: seeds are below 2**63")
        total += hi - lo + 1
        if total > MAX_SEEDS:
            raise ValueError(f"{text!r} is more than {MAX_SEEDS:,} seeds; split the sweep")
        for s in range(lo, hi + 1):
            if s not in seen:
                seen.add(s)
                out.append(s)
    return out


# --- what went wrong in a run ------------------------------------------------------------------
def _norm(text):
    """Numbers and addresses out of a failure message (failures are not records)."""
    return re.sub(r"\b0x[0-9a-fA-F]+\b|\b\d+\b", "N", text.strip().splitlines()[0] if text.strip() else "")


def problems(run):
    """[(key, {kind, title, site})] of a run dict, one per group it belongs to.

    Violations group by their record's ``key`` (kind + normalised workload
    site, ``harness/checkers/record.py``): one bug is one group whatever the
    seed, the CPU or the addresses.  The end-of-run invariant problems of a
    run are one group; a failure groups by its kind and workload site (the
    frame that raised), or by its normalised message when it has no site.
    """
    from harness.outputs import merge
    out = []
    for v in run.get("violations", []):
        out.append((merge.key_of(v), {"kind": v.get("kind", "violation"),
                                      "title": v.get("title", ""), "site": v.get("site") or ""}))
    if run.get("invariants"):
        out.append(("invariant @ (end of run)", {"kind": "invariant", "title": run["invariants"][0],
                                                 "site": "(end of run)"}))
    for f in run.get("failures", []):
        if f.get("kind") != "soft-lockup":          # reported as a violation too
            kind = f.get("kind", "failure")
            key = f"{kind} @ {f['site']}" if f.get("site") else f"{kind}: {_norm(f.get('message', ''))}"
            out.append((key, {"kind": kind, "title": f.get("message", ""), "site": f.get("site") or ""}))
    seen = set()
    return [p for p in out if not (p[0] in seen or seen.add(p[0]))]


def failure_text(run):
    """The splat(s), failures and broken invariants of a run dict, then its reproduce command.

    The text a CI log shows for one failing run (pytest item, sweep line): one
    splat per record (``harness/outputs/text.py``); the full summary with
    per-CPU counts is ``report.summary``.
    """
    from harness.outputs import text as render
    out = [f"{run['scenario']} (seed {run['seed']}): {run['status']}"
           + (f" after {run['elapsed']:.2f}s" if run.get("elapsed") else "")]
    for v in run.get("violations", []):
        out.append("")
        out.append(render.render(v))
    for f in run.get("failures", []):
        if f.get("kind") == "soft-lockup":
            continue
        out.append("")
        out.append(f"FAILURE ({f['kind']}): {f['message']}" + (f" at {f['site']}" if f.get("site") else ""))
        if f.get("traceback"):
            out.append(f["traceback"].rstrip())
    if run.get("invariants"):
        out.append("")
    for p in run.get("invariants", []):
        out.append(f"BUG: allocator state corrupt: {p}")
    out.append("")
    out.append(f"reproduce: {run['reproduce']}")
    return printable("\n".join(out), multiline=True)     # names, messages: from user files


# --- running ----------------------------------------------------------------------------------
class Job:
    __slots__ = ("index", "scenario", "arg", "seed", "pid", "pidfd", "json", "log", "started",
                 "last_signal", "worker")

    def __init__(self, index, scenario, arg, seed, worker=None):
        self.index, self.scenario, self.arg, self.seed = index, scenario, arg, seed
        self.worker = worker                # the xdist worker that ran it (remote sweeps)
        self.pid = self.pidfd = None
        self.json = self.log = None
        self.started = 0.0
        self.last_signal = None


def runner_child(scenario, seed, settings, log, prepare):
    """The body of a forked runner (the local pool's, a pytest-xdist worker's): ``prepare()``,
    output to ``log``, one ``run_scenarios``; exits with its code (2 for what `mmstress run`
    exits 2 on, 130 on SIGINT, 3 for anything else).  Never returns."""
    from harness.tools import run
    code = EXIT_HARNESS
    try:
        prepare()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        code = run.run_scenarios([scenario], seed, settings)
    except (UsageError, ModelError) as exc:             # what `mmstress run` exits 2 on
        print(f"mmstress: {exc}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = EXIT_SIGINT
    except BaseException:                              # noqa: BLE001 - report, exit 3
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else EXIT_HARNESS)


class Sweep:
    """Runs ``scenarios`` x ``seeds`` with ``jobs`` runners at a time; see the module docstring.

    ``scenarios``: [(argument as typed, Scenario with the overrides applied)].
    ``settings``: the ``harness.tools.run.RunSettings`` every run gets (sched and its options, irq_mask).
    ``run_args``: the ``mmstress run`` options as typed (``--duration 1s``, ``--sched pct``),
    recorded in the sweep's JSON.
    ``events``: an object with ``started(sweep)``, ``finished(sweep, job, run)``, ``tick(sweep)``
    and ``done(sweep)``; see ``harness.commands.sweep``.
    ``saved``: the saved failures re-run before the sweep (``tools.failures.Rerun``): in the
    JSON, the summary and the exit code (one that failed again makes it at least 1).
    """

    def __init__(self, scenarios, seeds, jobs, settings, run_args=(), budget=None, events=None,
                 saved=()):
        self.scenarios = list(scenarios)
        self.seeds = list(seeds)
        self.jobs = max(1, int(jobs))
        self.settings = settings
        self.run_args = list(run_args)
        self.budget = budget
        self.events = events
        self.tx = []                      # xdist gateway specs (tools/sweep_xdist.py); [] = local pool
        self.planned = len(self.seeds) * len(self.scenarios)
        self.results = []                 # run dicts (slim when passed), in completion order
        self.counts = {"passed": 0, "violations": 0, "failed": 0, "interrupted": 0}
        self.groups = {}                  # key -> [{scenario, seed, reproduce, site, kind, title}]
        self.usage_error = None
        self.interrupted = None           # signal number
        self.budget_hit = False
        self.t0 = self.elapsed = 0.0
        self._forwarded = 0
        self._tmp = None
        self.saved = list(saved)          # tools.failures.Rerun: the saved failures re-run first

    # -- bookkeeping ----------------------------------------------------------------------
    @property
    def done(self):
        return len(self.results)

    @property
    def failing(self):
        return self.counts["violations"] + self.counts["failed"]

    def rate(self, now=None):
        dt = (now or time.monotonic()) - self.t0
        return self.done / dt if dt > 0 and self.done else 0.0

    def exit_code(self):
        if self.usage_error:
            return EXIT_USAGE
        if self.counts["failed"]:
            return EXIT_HARNESS
        if self.interrupted:
            return 128 + self.interrupted
        if self.counts["violations"] or any(r.code == EXIT_VIOLATIONS for r in self.saved):
            return EXIT_VIOLATIONS
        return EXIT_OK

    def _jobs(self):
        i = 0
        for seed in self.seeds:
            for arg, sc in self.scenarios:
                yield Job(i, sc, arg, seed)
                i += 1

    # -- signals ------------------------------------------------------------------------------
    def _stop_count(self):
        """Stop requests so far (harness/signals.py); notes the first one's signal."""
        self.interrupted = self.interrupted or signals.requested()
        return signals.count()

    def _forward(self, running):
        """Forward each new stop request to the runners once; SIGKILL the ones past their grace."""
        now = time.monotonic()
        while self._forwarded < self._stop_count():
            self._forwarded += 1
            for job in running.values():
                _kill(job.pid, self.interrupted)
                job.last_signal = now
        for job in running.values():
            if job.last_signal is not None and now - job.last_signal > KILL_GRACE:
                _killpg(job.pid)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self):
        """Run the sweep to the end (or the budget, or Ctrl-C); returns the exit code."""
        # Everything a runner needs is imported before the first fork.
        from harness.tools import run  # noqa: F401
        from harness.supervisor import machine  # noqa: F401
        from harness.outputs import report  # noqa: F401
        restore = signals.catch()
        self._tmp = leftovers.sweep_dir()
        running = {}                       # pidfd -> Job
        pending = self._jobs()
        nxt = next(pending, None)
        self.t0 = time.monotonic()
        if self.events:
            self.events.started(self)
        try:
            while nxt is not None or running:
                now = time.monotonic()
                if self.budget is not None and now - self.t0 >= self.budget and nxt is not None:
                    self.budget_hit = True
                    nxt = None
                stopping = self._stop_count() or self.usage_error
                while nxt is not None and not stopping and len(running) < self.jobs:
                    self._start(nxt)
                    running[nxt.pidfd] = nxt
                    nxt = next(pending, None)
                if stopping:
                    nxt = None
                if not running:
                    break
                self._forward(running)
                ready, _, _ = select.select(list(running), [], [], 0.25)
                for fd in ready:
                    job = running.pop(fd)
                    self._reap(job)
                if self.events:
                    self.events.tick(self)
        finally:
            for job in running.values():          # only on a harness bug: leave nothing behind
                _killpg(job.pid)
                self._reap(job, record=False)
            self._stop_count()
            _rmtree(self._tmp)
            restore()
            self.elapsed = time.monotonic() - self.t0
        if self.events:
            self.events.done(self)
        return self.exit_code()

    def _start(self, job):
        job.json = os.path.join(self._tmp, f"run-{job.index}.json")
        job.log = os.path.join(self._tmp, f"run-{job.index}.log")
        from harness.tools import run
        settings = dataclasses.replace(
            self.settings, json=job.json, quiet=True, names=(job.arg,),
            command=" ".join(["mmstress run", job.arg, "--seed", str(job.seed), *self.run_args]))
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:                                            # the runner
            def prepare():
                os.setpgid(0, 0)                 # the handlers and any request: inherited
                _set_pdeathsig(signal.SIGTERM)
                if os.getppid() != parent:
                    os._exit(EXIT_HARNESS)
            runner_child(job.scenario, job.seed, settings, job.log, prepare)
        job.pid = pid
        job.started = time.monotonic()
        job.pidfd = os.pidfd_open(pid)

    def _reap(self, job, record=True):
        _, status = os.waitpid(job.pid, 0)
        os.close(job.pidfd)
        code = os.waitstatus_to_exitcode(status)
        left = _unlink_segments(job.pid)
        run = None
        try:
            with open(job.json) as f:
                runs = json.load(f).get("runs") or []
            run = runs[0] if runs else None
        except (OSError, ValueError):
            pass
        log = _tail(job.log)
        for p in (job.json, job.log):
            try:
                os.unlink(p)
            except OSError:
                pass
        if record:
            self._conclude(job, code, run, log, left)

    def _conclude(self, job, code, run, log, left=()):
        """Record a finished runner: its exit code, its run dict (None: it wrote none), the tail
        of its output, the /dev/shm segments it left.  Also the remote sweep's way in."""
        if code == EXIT_USAGE:
            self.usage_error = self.usage_error or (log.strip().splitlines() or
                                                    [f"{job.arg}: bad usage"])[-1]
            return
        if run is None:
            if self.interrupted and code in (130, 143, -signal.SIGINT, -signal.SIGTERM):
                run = self._stub(job, "interrupted", code, [])
            else:
                how = (f"was killed by {signal.Signals(-code).name}" if code < 0
                       else f"exited with {code}")
                run = self._stub(job, "failed", EXIT_HARNESS, [{
                    "kind": "harness-error", "cpu": None, "context": None,
                    "message": f"the run {how} before writing its report"
                               + (f"; its last output:\n{log.rstrip()}" if log.strip() else "")}])
        if left and run["exit_code"] != EXIT_HARNESS:
            run["failures"] = run.get("failures", []) + [{
                "kind": "harness-error", "cpu": None, "context": None,
                "message": f"the run left shared memory behind: {', '.join(left)} (removed)"}]
            run["exit_code"], run["status"] = EXIT_HARNESS, "failed"
        self._record(job, run)

    def _stub(self, job, status, code, failures):
        from harness.supervisor import machine
        from harness.outputs import report
        res = machine.RunResult(job.scenario, job.seed, job.scenario.irq_mask)
        return {"scenario": job.scenario.name, "source": job.scenario.source, "seed": job.seed,
                "status": status, "exit_code": code,
                "elapsed": round(time.monotonic() - job.started, 3),
                "violations": [], "failures": failures, "invariants": [],
                "host": report.host(job.worker), "reproduce": report.reproduce_command(res)}

    def _record(self, job, run):
        status = run.get("status", "failed")
        key = {"passed": "passed", "violations": "violations",
               "interrupted": "interrupted"}.get(status, "failed")
        self.counts[key] += 1
        if key == "passed":
            run = {k: run.get(k) for k in ("scenario", "source", "seed", "status", "exit_code",
                                           "elapsed", "host", "reproduce")}
        elif key != "interrupted":
            first = False
            for key, what in problems(run):
                group = self.groups.setdefault(key, [])
                first = first or not group
                group.append({"scenario": run["scenario"], "seed": run["seed"], **what,
                              "reproduce": run["reproduce"]})
            if not first and run.get("samples"):
                run = dict(run, samples=None)    # the first run of each bug keeps its samples
        self.results.append(run)
        if self.events:
            self.events.finished(self, job, run)

    # -- reports ---------------------------------------------------------------------------------
    def document(self, command, seeds_text):
        from harness.outputs import report
        doc = report.document([], command, None, self.exit_code(),
                              signal.Signals(self.interrupted).name if self.interrupted else None,
                              kind="sweep")
        del doc["seed"]                   # a sweep has seeds (below), not one
        doc.update({
            "scenarios": [sc.source for _, sc in self.scenarios], "seeds": seeds_text,
            "jobs": self.jobs, "tx": self.tx, "run_args": self.run_args, "budget": self.budget,
            "counts": {"planned": self.planned, "run": self.done, **self.counts,
                       "not_run": self.planned - self.done},
            "elapsed": round(self.elapsed, 3), "runs_per_second": round(self.rate(self.t0 + self.elapsed), 3),
            "groups": [{"key": key, "kind": runs[0]["kind"], "title": runs[0]["title"],
                        "site": runs[0]["site"], "count": len(runs), "sites": _sites(runs),
                        "runs": [{k: r[k] for k in ("scenario", "seed", "site", "reproduce")}
                                 for r in runs]}
                       for key, runs in self.sorted_groups()],
            "hosts": self.hosts(),
            "runs": sorted(self.results, key=lambda r: (r["seed"], r["source"])),
            "saved_failures": [_saved_dict(r) for r in self.saved],
        })
        return doc

    def hosts(self):
        """[{worker, name, cpus, runs, failing}]: where the runs ran, one entry per worker and host."""
        out = {}
        for r in self.results:
            h = r.get("host") or {}
            row = out.setdefault((h.get("worker") or "", h.get("name") or ""), {
                "worker": h.get("worker"), "name": h.get("name"), "cpus": h.get("cpus"),
                "runs": 0, "failing": 0})
            row["runs"] += 1
            row["failing"] += r["status"] in ("violations", "failed")
        return [out[k] for k in sorted(out)]

    def sorted_groups(self):
        return sorted(self.groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def summary(self, shown=5):
        c = self.counts
        parts = [f"{c['passed']} passed"]
        if c["violations"]:
            parts.append(f"{c['violations']} with violations")
        if c["failed"]:
            parts.append(f"{c['failed']} failed (harness)")
        if c["interrupted"]:
            parts.append(f"{c['interrupted']} interrupted")
        if self.planned - self.done:
            why = ("budget reached" if self.budget_hit else "interrupted" if self.interrupted
                   else "stopped")
            parts.append(f"{self.planned - self.done} not run ({why})")
        out = []
        again = [r for r in self.saved if r.code == EXIT_VIOLATIONS]
        if self.saved:
            out.append(f"saved failures re-run first: {len(self.saved)}, {len(again)} failed again"
                       + "".join(f"\n  {r.entry['scenario']} seed {r.entry['seed']}: "
                                 f"{_rerun_title(r)}\n    reproduce: "
                                 f"{r.entry['reproduce']}" for r in again))
        out += [f"mmstress sweep: {self.done} of {self.planned} runs ({len(self.scenarios)} "
               f"scenario{'s' if len(self.scenarios) != 1 else ''} x {len(self.seeds)} seeds) in "
               f"{_dur(self.elapsed)}, {self.rate(self.t0 + self.elapsed):.2f} runs/s "
               + (f"on {len(self.tx)} xdist gateway{'s' if len(self.tx) != 1 else ''}" if self.tx
                  else f"with -j {self.jobs}") + ": " + ", ".join(parts)]
        if self.tx:
            out += [f"  {h['worker'] or '-'} on {h['name']} ({h['cpus']} CPUs): {h['runs']} runs, "
                    f"{h['failing']} failing" for h in self.hosts()]
        if self.groups:
            out.append("failing runs by kind and site:")
        for _key, runs in self.sorted_groups():
            kind, title = runs[0]["kind"], runs[0]["title"]
            sites = _sites(runs)
            where = (f"\n      at {next(iter(sites))}" if len(sites) == 1
                     else f"\n      at {len(sites)} different sites (in the JSON report)" if sites else "")
            out.append(f"  {kind}: {title}  ({len(runs)} run{'s' if len(runs) != 1 else ''}){where}")
            for r in runs[:shown]:
                out.append(f"    seed {r['seed']}: {r['reproduce']}")
            if len(runs) > shown:
                out.append(f"    ... and {len(runs) - shown} more (all of them in the JSON report)")
        return "\n".join(out)


def junit_xml(doc):
    """JUnit XML of a sweep document: one test case per run, named ``scenario[seed=N]``."""
    from harness.outputs.report import summary
    runs = doc["runs"]
    suite = ET.Element("testsuite", name="mmstress.sweep", tests=str(len(runs)),
                       failures=str(sum(r["exit_code"] == EXIT_VIOLATIONS for r in runs)),
                       errors=str(sum(r["exit_code"] == EXIT_HARNESS for r in runs)),
                       skipped=str(sum(r["status"] == "interrupted" for r in runs)),
                       time=f"{doc.get('elapsed', 0):.3f}")
    for r in runs:
        case = ET.SubElement(suite, "testcase", classname=f"mmstress.{r['scenario']}",
                             name=f"{r['scenario']}[seed={r['seed']}]", time=f"{r['elapsed'] or 0:.3f}")
        host = r.get("host")
        if host:                         # where it ran, as pytest writes user_properties
            props = ET.SubElement(case, "properties")
            for name, value in (("host", host["name"]), ("host_cpus", host["cpus"]),
                                ("worker", host["worker"])):
                if value is not None:
                    ET.SubElement(props, "property", name=name, value=str(value))
        if r["status"] == "passed":
            ET.SubElement(case, "system-out").text = f"reproduce: {r['reproduce']}"
            continue
        first = (r.get("failures") or r.get("violations") or [{}])[0]
        message = first.get("message") or first.get("title") or (
            r["invariants"][0] if r.get("invariants") else r["status"])
        text = summary(r) if "ops" in r else failure_text(r)
        if r["status"] == "interrupted":
            ET.SubElement(case, "skipped", message="interrupted")
        elif r["exit_code"] == EXIT_HARNESS:
            ET.SubElement(case, "error", message=message, type=first.get("kind", "harness")).text = text
        else:
            ET.SubElement(case, "failure", message=message,
                          type=first.get("kind", "invariant")).text = text
        ET.SubElement(case, "system-out").text = f"reproduce: {r['reproduce']}"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    from harness.outputs.junit import xml_text           # characters XML 1.0 forbids, escaped
    return xml_text(ET.tostring(root, encoding="unicode", xml_declaration=True)) + "\n"


def write_junit(path, doc):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(junit_xml(doc))
    os.replace(tmp, path)


def _rerun_title(rerun):
    from harness.tools.failures import problem_line, problem_of
    return problem_line(problem_of(rerun.result))


def _saved_dict(rerun):
    """A saved failure re-run before the sweep, as the sweep's JSON lists it."""
    e = rerun.entry
    status = {EXIT_OK: "passed", EXIT_VIOLATIONS: "violations", EXIT_HARNESS: "failed",
              EXIT_USAGE: "not-run"}.get(rerun.code, "interrupted")
    return {"id": e["id"], "scenario": e["scenario"], "seed": e["seed"], "status": status,
            "exit_code": rerun.code, "change": rerun.change, "key": e["violation"]["key"],
            "reproduce": e["reproduce"]}


def _sites(runs):
    """{workload site: runs} of a group, most frequent first."""
    count = {}
    for r in runs:
        if r["site"]:
            count[r["site"]] = count.get(r["site"], 0) + 1
    return dict(sorted(count.items(), key=lambda kv: (-kv[1], kv[0])))


# --- small helpers ------------------------------------------------------------------------------
def _dur(secs):
    secs = max(0.0, secs)
    if secs < 60:
        return f"{secs:.1f}s"
    m, s = divmod(int(secs + 0.5), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def _kill(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        _kill(pid, signal.SIGKILL)


def _set_pdeathsig(signum):
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum))
    except (OSError, AttributeError):
        pass


def _unlink_segments(pid):
    """Remove the arena segments of a runner that died before closing them; return their names."""
    from kernel_model.arena import PREFIX
    prefix = f"{PREFIX}{pid}_"
    try:
        names = [n for n in os.listdir(SHM) if n.startswith(prefix)]
    except OSError:
        return []
    for n in names:
        try:
            os.unlink(os.path.join(SHM, n))
        except OSError:
            pass
    return names


def _tail(path, limit=4000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _rmtree(path):
    import shutil
    if path:
        shutil.rmtree(path, ignore_errors=True)
