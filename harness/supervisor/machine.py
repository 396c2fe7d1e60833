"""The machine: boots the arena, forks one process per CPU, watches them, collects the run.

Data flow::

    machine (parent)                              CPU n (forked child)
    boot arena: model + counters + mailboxes + per-CPU vars
    pre-fork: mailbox locks, kmem caches of the op mixes
    fork CPUs  -------------------------------->  cpu.cpu_main(): READY
    all READY: run_ctl[GO] = 1  --------------->  setup, timer, main loop
    read pipes: MachineSide.on_<kind>  <-------  messages (runtime/messages.py)
    watch exits (sentinels), heartbeats (watchdog)
    none/free runs: sample the arena every 50 ms   (serialised: the token holder
                    (runtime/samples.py)             samples every 256 steps)
    duration over / Ctrl-C / SIGTERM: STOP  --->  stop, teardown, roots, exit
    a CPU died, exited, locked up: ABORT  ----->  leave at once, no teardown
                              ABORT  <---------  a CPU that found a deadlock
    grace over: SIGKILL the stragglers
    last sample, final counters, lock stats, /proc views; clean runs only: kmemleak's
    reachability scan (the CPUs' roots + the arena), invariants
    close the arena (unlinks /dev/shm) -- on every path, in ``finally``

Verdicts: what the workload or the model did is exit 1 (violations, failed
contexts, cpu-exited, soft lockups, deadlocks); exit 3 (HARNESS_FAILURES) is
the harness's own fault.  CPUs killed after an abort whose cause is in the
report are that report's collateral, not a timeout.

Nothing a report needs lives only in a CPU: counters are in the arena,
messages are sent when they happen, so any CPU may die at any time.  The
machine never leaves a child behind: every CPU is killed and reaped in
``finally`` (its whole process group: a CPU leads one, so what its workload
spawned goes too), and each CPU asked the kernel to signal it if the machine
dies (PR_SET_PDEATHSIG), on which it SIGKILLs its own group.
"""

import dataclasses
import inspect
import os
import select
import signal
import time
from dataclasses import dataclass, field

import multiprocess

import kernel_model as km
from kernel_model import invariants, pcp, spinlock, tlb as _tlb
from kernel_model.arena import ArenaSpaceError

from harness.runtime import counters as C
from harness import rng, signals
from harness.runtime import bootargs, hooks, mailbox, percpu, samples
from harness.scheduler import options as scheduling
from harness.scheduler import engine as sched_engine
from harness.runtime.cpu import cpu_main
from harness.runtime.locks import NamedLocks, all_lock_stats
from harness.runtime.opmix import OpMix
from harness.scenario import import_workload
from harness.checkers import kinds, kmemleak
from harness.outputs import merge
from harness.runtime import messages as wire
from harness.supervisor import messages
from harness.supervisor.watchdog import Watchdog, clock_of
from harness.exits import UsageError

START_TIMEOUT = 20.0
# Exit 3 is the harness's own fault only: a CPU killed by a signal nobody in
# the run sent (the OOM killer, a harness crash), the harness's exception, a
# CPU that would not stop, a non-replayable schedule.  What the workload or
# the model did -- a failed context, a CPU that exited unasked (cpu-exited),
# a soft lockup, a deadlock -- is exit 1.
HARNESS_FAILURES = ("cpu-died", "harness-error", "timeout", "start-timeout", "not-replayable")

# The machine's side of harness/signals.py (kept under these names for the commands
# that run the machine): a stop request is STOP for the CPUs, a second one ABORT.
request_stop = signals.request


def install_stop_handlers():
    """Catch SIGINT and SIGTERM for the duration of the runs (unless the command already
    does: then the request so far is kept); returns a restore function."""
    return signals.catch()


def stop_requested():
    return signals.requested()


class Plan:
    """What the CPUs run; built before fork, inherited by every CPU."""

    def __init__(self, scenario, seed, node, irq_mask, pin_cores, engine=None):
        self.scenario = scenario
        self.engine = engine
        self.seed = seed
        self.node = node
        self.nr_cpus = scenario.cpus
        self.irq_mask = irq_mask
        self.ops = scenario.ops
        self.pin_cores = pin_cores
        self.machine_pid = os.getpid()
        self.mailboxes = mailbox.Mailboxes(node, scenario.cpus)
        self.percpu = percpu.PerCpuVars(node, scenario.cpus)
        self.locks = NamedLocks(node)
        self.mix_mode = scenario.workload is None
        self.caches = [km.kmem_cache_create(name, size) for name, size in scenario.caches]
        self.module = None if self.mix_mode else import_workload(scenario.workload,
                                                                  scenario.source)
        self.setup = None if self.mix_mode else getattr(self.module, "setup", None)
        self.teardown = None if self.mix_mode else getattr(self.module, "teardown", None)
        self._mixes = {}

    def rng_stream(self, cpu, purpose):
        return rng.stream(self.seed, cpu, purpose)

    def mixes_of(self, cpu):
        if cpu not in self._mixes:
            self._mixes[cpu] = {
                ctx: OpMix(m.specs, m.max_held, m.free, m.remote_free, ctx == "process", self.caches)
                for ctx, m in self.scenario.mixes.items()}
        return self._mixes[cpu]

    def work_for(self, cpu):
        """[fn(k) or None] indexed by harness context."""
        if self.mix_mode:
            mixes = self.mixes_of(cpu)
            return [mixes[c].step if c in mixes else None for c in C.CONTEXTS]
        return [getattr(self.module, c, None) for c in C.CONTEXTS]


@dataclass
class RunResult:
    scenario: object
    seed: int
    irq_mask: str
    elapsed: float = 0.0
    counters: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    invariants: list = field(default_factory=list)
    locks: list = field(default_factory=list)
    slab: dict | None = None
    tlb: dict | None = None          # kernel_model.tlb.snapshot: per-CPU hits/misses/flushes
    proc: dict = field(default_factory=dict)
    percpu: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    interrupted: int | None = None
    pinned: bool = False
    sched_options: object = None
    sched: dict | None = None         # strategy, steps, trace hash, divergence (scheduling.outcome)
    steps: list = field(default_factory=list, repr=False)   # the recorded (CPU, kind) steps
    samples: dict | None = None       # counters over time (runtime/samples.py decode)
    trace_path: str | None = None

    @property
    def harness_failed(self):
        return any(f["kind"] in HARNESS_FAILURES for f in self.failures)

    @property
    def exit_code(self):
        if self.harness_failed:
            return 3
        if self.interrupted:
            return 128 + self.interrupted
        if self.violations or self.failures or self.invariants:
            return 1
        return 0

    @property
    def status(self):
        return {0: "passed", 1: "violations", 3: "failed"}.get(self.exit_code, "interrupted")


def _boot(sc, sched_opts=None):
    kw = {}
    params = inspect.signature(km.boot).parameters
    if sc.slab and "slab" in params:
        kw["slab"] = sc.slab
    if getattr(sc, "nodes", 1) != 1:
        kw.update(nodes=sc.nodes, cpus_per_node=sc.cpus_per_node, distance=sc.distance)
    elif getattr(sc, "cpus_per_node", None) is not None or getattr(sc, "distance", None) is not None:
        kw.update(cpus_per_node=sc.cpus_per_node, distance=sc.distance)
    if getattr(sc, "tlb", None) is not None:
        kw["tlb"] = True                 # per-CPU TLBs: their shared flush word (kernel_model/tlb.py)
    sections = (C.arena_sections(sc.cpus) + mailbox.arena_sections(sc.cpus)
                + percpu.arena_sections(sc.cpus) + samples.arena_sections(sc.cpus)
                + hooks.arena_sections(sc.checkers, spinlock.MAX_LOCKS, sc.layout().nr_pages)
                + (scheduling.arena_sections(sched_opts, sc.cpus) if sched_opts else []))
    debug = getattr(sc, "debug", None)
    if "slub_debug" in params:
        if debug is not None and debug.slub_debug is not None:
            kw["slub_debug"] = debug.boot_slub_debug
        elif not sc.checkers:
            kw["slub_debug"] = False     # no checker reads the debug data: the kernel's layout
    try:
        node = km.boot(sc.layout(), nr_cpus=sc.cpus, page_data=sc.page_data,
                       extra_sections=sections, **kw)
    except ArenaSpaceError as exc:
        # The machine's environment, not the harness's fault: exit 2 with what to change.
        raise UsageError(f"{sc.source}: {exc} ([memory] size {sc.memory}, {sc.cpus} CPUs); free "
                         "space in /dev/shm (`mmstress clean` removes what killed runs left) "
                         "or give a smaller [memory] size") from None
    except km.ConfigError as exc:
        if "nodes" not in kw and "cpus_per_node" not in kw:
            raise
        # [memory] cpus_per_node checked at parse against the scenario's cpus; a sweep
        # or a trace may run it with another count
        raise UsageError(f"{sc.source}: [memory]: {exc} (with {sc.cpus} CPUs)") from None
    bootargs.apply_boot(node, debug)
    return node


def _pin_cores(n):
    try:
        cores = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    return cores[:n] if len(cores) >= n else None


def for_schedule(scenario, sched_opts):
    """The scenario as a schedule runs it: serialised runs count iterations, never time;
    a replay runs until the trace says each CPU stopped."""
    if sched_opts is None or not sched_opts.serialised:
        return scenario
    if sched_opts.strategy == "replay":
        return dataclasses.replace(scenario, ops=None, duration=None)
    return dataclasses.replace(scenario, ops=scenario.ops or scheduling.SERIAL_DEFAULT_OPS,
                               duration=None)


def run(scenario, seed, irq_mask=None, proc_views=(), progress=None, grace=2.0, sched=None):
    """Run one scenario to the end; always returns a RunResult (never leaves processes or segments).

    ``sched``: scheduling.SchedOptions (None: no engine).  A scheduled run's
    steps are in ``result.steps`` (recording.save writes them as a trace)."""
    sched = sched if sched is not None and sched.active else None
    sc = for_schedule(scenario, sched)
    result = RunResult(sc, seed, irq_mask or sc.irq_mask, sched_options=sched)
    if signals.requested():                 # stopped before it began: nothing to boot
        result.interrupted = signals.requested()
        return result
    node = _boot(sc, sched)
    procs, rfds, engine, sampler, serialised = [], [], None, None, False
    side = messages.MachineSide(result)
    bufs = {}
    try:
        engine = scheduling.make_engine(sched, node, seed, sc.cpus) if sched else None
        serialised = engine is not None and engine.serialised
        sampler = samples.Sampler(node.arena, sc.cpus,
                                  samples.CLOCK_STEP if serialised else samples.CLOCK_MS)
        sampler.take(0)                        # the booted machine, before any CPU runs
        if serialised:                         # the token holder samples every K steps
            engine.sample, engine.sample_mask = sampler.tick, samples.INTERVAL_STEPS - 1
        plan = Plan(sc, seed, node, result.irq_mask, _pin_cores(sc.cpus), engine)
        result.pinned = plan.pin_cores is not None
        mp = multiprocess.get_context("fork")
        for cpu in range(sc.cpus):
            if signals.requested():         # the monitor reports it; no more CPUs to start
                break
            r, w = os.pipe()
            p = mp.Process(target=cpu_main, args=(plan, cpu, w), name=f"CPU {cpu}", daemon=True)
            p.start()
            _own_group(p.pid)
            os.close(w)
            os.set_blocking(r, False)
            procs.append(p)
            rfds.append(r)
        _monitor(result, plan, procs, rfds, progress, grace, side, bufs,
                 None if serialised else sampler)
    finally:
        for p in procs:                     # the CPU and what its workload started; also a CPU
            _kill_cpu(p.pid)                # that exited after the monitor's last reap (its
            p.join(5)                       # group lives while the workload's child does)
        for r in rfds:
            _drain(side, r, bufs)
            os.close(r)
        try:
            if sampler is not None:            # the end of the run, every CPU gone
                sampler.take(engine.meta[sched_engine.META_STEP] if serialised
                             else int(result.elapsed * 1000))
                result.samples = samples.decode(node, sc.cpus)
            unwound = bool(node.arena.v["run_ctl"][C.CTL_ABORT]) or (
                engine is not None and engine.serialised
                and bool(engine.meta[sched_engine.META_STOP]))
            _collect(result, node, proc_views, side.roots, unwound)
            if engine is not None:             # the steps live in the arena: read them before it closes
                result.steps = engine.steps()
                kinds = {v["kind"] for v in result.violations}
                result.sched = dict(strategy=sched.strategy,
                                    **scheduling.outcome(engine, result.steps, kinds))
        finally:
            if sampler is not None:
                sampler.close()
            node.close()
    return result


def _own_group(pid):
    """Put CPU ``pid`` in a process group of its own (the CPU does the same first thing;
    whichever runs first wins): a terminal's or a CI runner's group signal reaches the
    machine alone, and killing the group takes what the workload spawned.  A group
    signal that reaches the CPU before either has run finds the machine's handler,
    inherited at fork: it only notes a request in the CPU's copy, which nothing reads."""
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass                                  # the CPU did it already, or is gone


def _kill_cpu(pid):
    """SIGKILL CPU ``pid``'s process group: the CPU and whatever its workload started.

    Called while the CPU is alive or a zombie, or just after it was reaped: its pid
    (the group's id) is not handed out again while the group has members."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _monitor(result, plan, procs, rfds, progress, grace, side, bufs, sampler=None):
    """Watch the CPUs until every one is gone; ``sampler``: none/free runs, sampled here
    every interval of wall time (serialised runs sample in the token holder)."""
    sc, node = result.scenario, plan.node
    ctl = node.arena.v["run_ctl"]
    phase, beat = C.percpu_words(node.arena, "cpu_phase"), C.percpu_words(node.arena, "cpu_beat")
    n = sc.cpus
    if len(procs) < n:                        # a stop request came while the CPUs were forked
        result.interrupted = signals.requested()
        ctl[C.CTL_ABORT] = 1
    dog = Watchdog(n, sc.watchdog)
    t_start = time.monotonic()
    t0 = None
    deadline = None                     # after STOP/ABORT: when stragglers get killed
    last_progress = 0.0
    reaped = set()
    aborted_for = None                  # why the run was aborted, when the report says it

    def finish_by(t):
        nonlocal deadline
        deadline = t if deadline is None else min(deadline, t)

    while True:
        ready, _, _ = select.select(rfds + [p.sentinel for p in procs], [], [], 0.05)
        for r in rfds:
            if r in ready:
                _drain(side, r, bufs)
        now = time.monotonic()
        if ctl[C.CTL_ABORT] and aborted_for is None:
            aborted_for = "a CPU's report"   # a CPU aborted the run (a deadlock it found)
            finish_by(now + grace)
        # -- start barrier -----------------------------------------------------------
        if t0 is None:
            if all(phase[c] >= C.PHASE_READY for c in range(n)):
                t0 = now
                ctl[C.CTL_GO] = 1
            elif now - t_start > START_TIMEOUT:
                result.failures.append(_fail("start-timeout", None, "the CPUs did not all start "
                                             f"within {START_TIMEOUT:g}s"))
                ctl[C.CTL_ABORT] = 1
                finish_by(now)
        # -- stop conditions ----------------------------------------------------------------
        if plan.engine is not None and plan.engine.serialised and (ctl[C.CTL_ABORT] or ctl[C.CTL_STOP]) \
                and not plan.engine.meta[sched_engine.META_STOP]:
            plan.engine.stop_all()           # CPUs waiting for the token must see the stop
        signum = signals.requested()
        if signum and not result.interrupted:
            # Before GO nothing has run: ABORT (no teardown to wait for).  Later: STOP, the
            # CPUs finish their iteration and tear down; after the duration ended (STOP
            # already set) the run still reports the request.
            result.interrupted = signum
            if plan.engine is not None and plan.engine.serialised:
                plan.engine.stop_all()      # first: a replaying CPU that sees STOP before the
                                            # engine's stop would leave its loop off the trace
            if t0 is None:
                ctl[C.CTL_ABORT] = 1
                finish_by(now + grace)
            elif not ctl[C.CTL_STOP]:
                ctl[C.CTL_STOP] = 1
                finish_by(now + grace)
        if signum and signals.count() > 1 and not ctl[C.CTL_ABORT]:
            ctl[C.CTL_ABORT] = 1
            finish_by(now + 0.5)
        if t0 is not None and sc.duration and not ctl[C.CTL_STOP] and now - t0 >= sc.duration:
            ctl[C.CTL_STOP] = 1
            finish_by(now + max(grace, sc.watchdog) + 5)
        # -- deaths -----------------------------------------------------------------------------
        for cpu, p in enumerate(procs):
            if cpu in reaped or p.exitcode is None:
                continue
            reaped.add(cpu)
            _kill_cpu(p.pid)                    # what its workload started goes with it
            doing = C.doing_text(C.percpu_words(node.arena, 'cpu_doing')[cpu])
            if p.exitcode < 0 and cpu not in dog.fired and not ctl[C.CTL_ABORT]:
                sig = signal.Signals(-p.exitcode).name
                result.failures.append(_fail(
                    "cpu-died", cpu, f"CPU {cpu} died ({sig}) while doing {doing}; "
                    "the run was aborted"))
            elif p.exitcode >= 0 and phase[cpu] < C.PHASE_EXITED:
                _drain(side, rfds[cpu], bufs)          # what it said before it went
                what = f" of {sc.workload}" if sc.workload else ""
                result.failures.append(dict(_fail(
                    "cpu-exited", cpu, f"CPU {cpu} exited (status {p.exitcode}) without being "
                    f"asked while doing {doing}{what}; the run was aborted"), doing=doing))
            if (p.exitcode != 0 or phase[cpu] < C.PHASE_EXITED) and not ctl[C.CTL_ABORT]:
                aborted_for = f"CPU {cpu}'s end"
                ctl[C.CTL_ABORT] = 1
                finish_by(now + grace)
        live = {c for c, p in enumerate(procs) if p.exitcode is None}
        if not live:
            break
        # -- watchdog -----------------------------------------------------------------------
        if t0 is not None and not ctl[C.CTL_ABORT]:
            beats = list(beat)
            if plan.engine is not None and plan.engine.serialised:
                # One CPU runs at a time, so a CPU that waits for the token is not stuck:
                # the running CPUs are stuck together or not at all.  Each gets the sum of
                # their beats (an iteration, a cond_resched anywhere is progress); a CPU
                # waiting at the end-of-run barrier for the others gets every step as its
                # own.  A CPU busy-waiting for a CPU that will never come (its setup
                # failed) beats no more, the others wait at the barrier: a soft lockup.
                step = plan.engine.meta[sched_engine.META_STEP]
                running = sum(b for c, b in enumerate(beats) if phase[c] < C.PHASE_STOPPED)
                beats = [b + step if phase[c] >= C.PHASE_STOPPED else running
                         for c, b in enumerate(beats)]
            clocks = [clock_of(p.pid) if c in live else None for c, p in enumerate(procs)]
            for cpu in dog.observe(beats, now, live, clocks):
                _soft_lockup(result, node, procs[cpu], cpu, dog.stuck_for(cpu), side,
                             rfds[cpu], bufs)
                ctl[C.CTL_ABORT] = 1
                aborted_for = "a soft lockup"
                finish_by(now + grace)
        # -- stragglers ----------------------------------------------------------------------------
        if deadline is not None and now >= deadline:
            # CPUs left spinning on locks of a CPU that locked up, exited or deadlocked
            # are that report's collateral, not a harness fault
            cause_known = result.harness_failed or result.interrupted or aborted_for
            for cpu in sorted(live):
                if not cause_known:
                    result.failures.append(_fail(
                        "timeout", cpu, f"CPU {cpu} did not finish in time after the run was "
                        f"stopped; killed while doing {C.doing_text(C.percpu_words(node.arena, 'cpu_doing')[cpu])}"))
                _kill_cpu(procs[cpu].pid)
            for p in procs:
                p.join(5)
            break
        if sampler is not None and t0 is not None and not ctl[C.CTL_STOP]:
            sampler.tick(int((now - t0) * 1000))
        if progress and t0 is not None and now - max(last_progress, t0) >= 0.5:
            last_progress = now
            progress(_progress_line(node, n, now - t0))
    result.elapsed = time.monotonic() - (t0 if t0 is not None else t_start)


def _soft_lockup(result, node, proc, cpu, secs, side, rfd, bufs):
    """The kernel's soft-lockup report: a violation (exit 1) with the CPU's own stack."""
    doing = C.doing_text(C.percpu_words(node.arena, "cpu_doing")[cpu])
    try:
        os.kill(proc.pid, signal.SIGUSR2)
    except ProcessLookupError:
        pass
    stacks = side.stacks
    end = time.monotonic() + 1.0
    while cpu not in stacks and time.monotonic() < end:
        select.select([rfd], [], [], 0.05)
        _drain(side, rfd, bufs)
    stack = stacks.get(cpu, {}).get("stack", "(the CPU did not answer with its stack)\n")
    site = stacks.get(cpu, {}).get("site") or "?"
    text = (f"watchdog: BUG: soft lockup - CPU#{cpu} stuck for {secs:.0f}s! "
            f"[mmstress/{cpu}:{proc.pid}]\n"
            f"CPU {cpu} was doing: {doing}\nstuck at: {site}\nCall Trace (Python):\n{stack}")
    kinfo = kinds.KINDS["soft-lockup"]
    result.failures.append({"kind": "soft-lockup", "cpu": cpu, "context": doing.split(" ")[-2]
                            if " in " in doing else None, "message": text.splitlines()[0],
                            "doing": doing, "site": site, "traceback": stack})
    merge.add(result.violations, {"kind": "soft-lockup", "title": text.splitlines()[0],
                              "text": f"{text.rstrip()}\n\nWhat to do: {kinfo.fix}\n"
                                      "(mmstress explain soft-lockup)",
                              "cpu": cpu, "context": None, "site": site, "count": 1})
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _fail(kind, cpu, message):
    return {"kind": kind, "cpu": cpu, "context": None, "message": message}


def _drain(side, r, bufs):
    """Read what CPU pipe ``r`` has and hand each whole message to its handler."""
    msgs, bufs[r] = wire.read_available(r, bufs.get(r, b""))
    for m in msgs:
        side.handle(m)


def _progress_line(node, n, elapsed):
    snap = C.snapshot(node.arena, n)
    per_ctx = [sum(snap["ops"][c][x][C.OP_CALL] for c in range(n)) for x in range(C.NR_CTX)]
    irqs = sum(snap["stat"][c][C.STAT["irq_delivered"]] for c in range(n))
    rate = " ".join(f"{name} {v / max(elapsed, 1e-9):,.0f}/s" for name, v in zip(C.CONTEXTS, per_ctx))
    return f"[{elapsed:5.1f}s] {rate} | interrupts {irqs:,}"


def _collect(result, node, proc_views, roots=None, unwound=False):
    """Final counters and model views; model checks (kmemleak's scan, the invariants)
    only after a clean finish.  ``roots``: {cpu: [addresses]} the CPUs sent for kmemleak.

    ``unwound``: the CPUs were told to leave as they stood (ABORT, or the schedule's
    engine stopped: a second signal, a deadlock, a stop of a serialised run) -- they
    may have left in the middle of the model with a lock held, and their phase
    says EXITED all the same; draining the per-CPU lists would wait for that lock
    forever, and the checks would judge a half-done state.  Not clean."""
    sc = result.scenario
    if any("step" in v for v in result.violations):     # scheduled: in the order they happened
        result.violations.sort(key=lambda v: (v.get("step", 1 << 62), v.get("cpu") or 0))
    result.counters = C.snapshot(node.arena, sc.cpus)
    result.locks = all_lock_stats(node)
    percpu_vars = percpu.PerCpuVars.__new__(percpu.PerCpuVars)
    percpu_vars.nr_cpus = sc.cpus
    a = node.arena
    percpu_vars.names, percpu_vars.nr, percpu_vars.val = a.v["percpu_name"], a.v["percpu_nr"], a.v["percpu_val"]
    result.percpu = percpu_vars.sums()
    clean = (all(p >= C.PHASE_TORNDOWN for p in result.counters["phase"])
             and not result.harness_failed and not unwound)
    result.slab = _slab_summary(node) if sc.slab else None
    result.tlb = _tlb.snapshot(node)
    if clean and sc.slab and "kmemleak" in sc.checkers:
        for rec in kmemleak.scan_run(node, [a for addrs in (roots or {}).values() for a in addrs],
                                     ptr_size=4 if sc.arch == "x86_32" else 8):
            merge.add(result.violations, rec)
    if clean:
        pcp.drain_all_pages(node)
        result.invariants = invariants.check_page_allocator(node)
        if sc.slab:
            result.invariants += km.slab_common.check_slabs(node)
    free = node.total_free_pages()
    result.memory = {"arch": sc.arch, "page_size": sc.page_size, "size": sc.memory,
                     "nr_pages": node.nr_pages, "free_pages_at_end": int(free),
                     "checked": clean}
    if node.nr_nodes > 1:
        # /sys/devices/system/node/nodeN/numastat, and which CPUs and pages each node has
        result.memory["numa"] = [
            {"node": nd.node_id, "cpus": list(nd.cpus), "nr_pages": int(nd.node_spanned_pages),
             "free_pages_at_end": int(nd.free_pages()),
             "numastat": km.procfs.numastat_counts(node, nd.node_id)} for nd in node.node_data]
    for view in proc_views:
        fn = PROC_VIEWS[view]
        try:
            result.proc[view] = fn(node)
        except Exception as exc:  # noqa: BLE001 - a view that cannot render says so
            result.proc[view] = f"({view} unavailable: {exc})\n"


PROC_VIEWS = {"buddyinfo": km.procfs.buddyinfo, "zoneinfo": km.procfs.zoneinfo,
              "vmstat": km.procfs.vmstat,
              "slabinfo": lambda node: km.slabinfo.slabinfo(node)}


def _slab_summary(node):
    """SLUB_STATS summed over caches: fast-path ratios of allocation and free."""
    totals = {}
    for s in km.slab_common.all_caches(node):
        for name, n in km.slab_common.slab_stats(s).items():
            totals[name] = totals.get(name, 0) + int(n)
    out = {"stats": totals}
    for what in ("alloc", "free"):
        fast, slow = totals.get(f"{what}_fastpath", 0), totals.get(f"{what}_slowpath", 0)
        out[f"{what}_fastpath_ratio"] = fast / (fast + slow) if fast + slow else None
    return out
