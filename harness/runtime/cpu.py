"""One CPU: the worker process's life, from fork to exit.

    fork -> signals, pin, this_cpu, hooks, k per context   phase READY
         -> wait for GO (the start barrier)                  phase RUNNING
         -> setup(k); timer on; loop: ksoftirqd, process(k)  until STOP / ops / ABORT
         -> timer off, pending softirqs run                  phase STOPPED
         -> wait until every CPU stopped (no more sends)
         -> teardown(k) (op mixes: free what they hold, drain the mailbox)
         -> hooks.finish()                                   phase TORNDOWN, then EXITED

Every workload call goes through ``CpuRuntime.call``: counted, named in
``cpu_doing``, and guarded -- an exception is reported to the machine as a
failure of this CPU and context (with its traceback), the preempt count and
interrupt flag are put back, spinlocks the failed context still held are
released, and that context does no more work on this CPU (as an oops kills
the task).  It never propagates into interrupted code.

What is the workload's and what is the harness's.  Anything a workload
function raises -- ``BaseException`` included (KeyboardInterrupt, SystemExit,
GeneratorExit), and an exception whose ``__str__`` itself raises -- is a
failure of that workload context, named by the workload frame it came from
(exit 1).  The harness unwinds with its own BaseExceptions (``SchedStop``,
``SchedDeadlock``, ``Divergence``, ``DeadlockStop``): those pass through
``call`` untouched.  Only an exception of the harness itself reaches
``cpu_main``'s last handler (harness-error, exit 3).

Messages to the machine go through this CPU's pipe in the protocol of
harness/runtime/messages.py (failure | violation | harness-error | stack |
roots | done).  After its teardown the CPU sends kmemleak the addresses its
process state still holds (``roots``): the machine scans for leaks once
every CPU is done (harness/checkers/kmemleak.py).
"""

import ctypes
import os
import signal
import sys
import time
import traceback

from kernel_model import context, debug, planted, spinlock, tlb as _tlb

from harness.runtime import counters as C
from harness.scheduler import options as scheduling
from harness.runtime.hooks import make_hooks, repeat_counts
from harness.checkers import kmemleak
from harness.checkers.base import workload_site
from harness.checkers.deadlock import DeadlockChecker, DeadlockStop
from harness.runtime import messages
from harness.checkers import record
from harness.runtime.irq import CHIPS, Irq
from harness.scheduler.engine import SchedDeadlock, SchedStop
from harness.scheduler.replay import Divergence
from harness.runtime.opmix import free_item
from harness.runtime.softirq import SCENARIO_SOFTIRQ, Softirqs
from harness.runtime.workload_api import Kernel, error_text

_MODEL_CTX = {C.X_PROCESS: context.CTX_TASK, C.X_HARDIRQ: context.CTX_HARDIRQ,
              C.X_SOFTIRQ: context.CTX_SOFTIRQ, C.X_TASKLET: context.CTX_SOFTIRQ}
PR_SET_PDEATHSIG = 1
MACHINE_GONE = signal.SIGHUP      # the parent-death signal: its handler kills this CPU's group
HARNESS_UNWIND = (SchedStop, SchedDeadlock, Divergence, DeadlockStop)


def safe_str(exc):
    """``Type: message`` of an exception, even when its ``__str__`` raises."""
    try:
        text = str(exc)
    except BaseException as inner:  # noqa: BLE001 - the workload's __str__ is the workload's
        text = f"<str() raised {type(inner).__name__}>"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class CpuRuntime:
    """Everything one CPU needs, in its own process."""

    def __init__(self, plan, cpu_id, wfd):
        self.plan = plan
        self.cpu_id = cpu_id
        self.nr_cpus = plan.nr_cpus
        self.node = node = plan.node
        a = node.arena
        self.wfd = wfd
        self.ctl, self.phase = a.v["run_ctl"], C.percpu_words(a, "cpu_phase")
        self.beat, self.doing = C.percpu_words(a, "cpu_beat"), C.percpu_words(a, "cpu_doing")
        self.ops, self.stat = a.v["cpu_ops"], a.v["cpu_stat"]
        self.sbase = C.stat_base(cpu_id)
        self.mailboxes, self.percpu, self.locks = plan.mailboxes, plan.percpu, plan.locks
        self.dead = set()
        self.nfail = 0
        self.softirqs = Softirqs(self.stat, self.sbase)
        tlb_config = getattr(plan.scenario, "tlb", None)       # [tlb]: this CPU's own TLB
        self.tlb = _tlb.TLB(node, cpu_id, tlb_config) if tlb_config is not None else None
        self.k = [Kernel(self, x, plan.rng_stream(cpu_id, C.CONTEXTS[x])) for x in range(C.NR_CTX)]
        self.work = plan.work_for(cpu_id)              # context index -> fn(k) or None
        self.irq = Irq(cpu_id, self.stat, C.STAT_ROW, plan.scenario.irq_rate,
                       plan.scenario.irq_jitter, plan.rng_stream(cpu_id, "irq-timer"),
                       self._hardirq_work, self.softirqs)
        self.chip = CHIPS[plan.irq_mask](self.irq)
        self._tasklets = {}
        if self.work[C.X_SOFTIRQ]:
            fn = self.work[C.X_SOFTIRQ]
            self.softirqs.open_softirq(SCENARIO_SOFTIRQ, lambda: self.call(C.X_SOFTIRQ, fn))

    # -- messages -----------------------------------------------------------------
    def send(self, t, **fields):
        buf = messages.encode(t, **fields)
        flags = context.local_irq_save()          # no hardirq message in the middle of this one
        try:
            while buf:
                n = os.write(self.wfd, buf)
                buf = buf[n:]
        except OSError:
            pass                                   # the machine is gone; nothing to tell
        finally:
            context.local_irq_restore(flags)

    # -- guarded calls ---------------------------------------------------------------
    def call(self, x, fn):
        if x in self.dead:
            return
        cpu = context.this_cpu
        pc, irqs = cpu.preempt_count, cpu.irqs_off
        self.doing[self.cpu_id] = x << 16
        try:
            fn(self.k[x])
        except HARNESS_UNWIND:
            raise
        except BaseException as exc:  # noqa: BLE001 - a workload's bug is a report, not a crash
            self._failed(x, exc, pc, irqs)
        self.ops[C.ops_base(self.cpu_id, x) + C.OP_CALL] += 1
        exit_hook = getattr(debug.hooks, "context_exit", None)
        if exit_hook is not None:
            exit_hook()

    def _failed(self, x, exc, pc, irqs):
        cpu = context.this_cpu
        self.dead.add(x)
        self.stat[self.sbase + C.STAT["failures"]] += 1
        doing = C.doing_text(self.doing[self.cpu_id])
        cpu.preempt_count = pc
        cpu.irqs_off = irqs
        released = self._release_locks(_MODEL_CTX[x])
        self.nfail += 1
        if self.nfail > 20:
            return
        try:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        except BaseException:  # noqa: BLE001 - a workload exception that cannot be formatted
            tb = "".join(traceback.format_tb(exc.__traceback__)) + safe_str(exc) + "\n"
        kind = getattr(exc, "kind", None)
        site = record.tb_site(exc.__traceback__)
        error = error_text(exc, self.plan.scenario.source)
        if error is not None:                 # the scenario's key, not the model's boot() advice
            tb = ("Traceback (most recent call last):\n" + "".join(traceback.format_tb(exc.__traceback__))
                  + f"{type(exc).__name__}: {error}\n")
        else:
            error = safe_str(exc)
        self.send("failure", kind="workload-error", cpu=self.cpu_id, context=C.CONTEXTS[x],
                  error=error, site=site,
                  message=f"CPU {self.cpu_id} {C.CONTEXTS[x]}: {error}"
                          + (f" at {site}" if site else ""),
                  kernel_bug=kind if isinstance(kind, str) else None, doing=doing,
                  traceback=tb[-6000:], released_locks=released)

    def _release_locks(self, model_ctx):
        """Release spinlocks this CPU still holds in the failed context; their names."""
        pool = self.node.locks
        word = spinlock.owner_word_of(self.cpu_id, model_ctx)
        names = []
        for i in range(pool.next[0]):
            if pool.owner[i] == word:
                names.append(pool.name_of(i))
                pool.owner[i] = 0
                pool.sems[i].release()
        return names

    # -- interrupt-side work ----------------------------------------------------------
    def _hardirq_work(self):
        fn = self.work[C.X_HARDIRQ]
        if fn is not None:
            self.call(C.X_HARDIRQ, fn)
        if self.plan.mix_mode:                     # op mixes: the "device" raises the bottom halves
            rng = self.k[C.X_HARDIRQ].rng
            sc = self.plan.scenario
            if self.work[C.X_SOFTIRQ] and rng.random() < sc.softirq_p:
                self.softirqs.raise_softirq_irqoff(SCENARIO_SOFTIRQ)
            if self.work[C.X_TASKLET] and rng.random() < sc.tasklet_p:
                self.tasklet_schedule(None)

    def raise_softirq(self, nr):
        self.softirqs.raise_softirq(SCENARIO_SOFTIRQ if nr is None else nr)

    def tasklet_schedule(self, fn):
        fn = fn or self.work[C.X_TASKLET]
        if fn is None:
            raise ValueError("tasklet_schedule(): this scenario has no tasklet function")
        wrapper = self._tasklets.get(fn)
        if wrapper is None:
            wrapper = self._tasklets[fn] = lambda: self.call(C.X_TASKLET, fn)
        self.softirqs.tasklet_schedule(wrapper)

    # -- phases -------------------------------------------------------------------------
    def set_phase(self, p):
        self.phase[self.cpu_id] = p

    def wait_all(self, p, eng=None):
        """Wait until every CPU reached phase ``p``; False if the run was aborted.
        Under a schedule the wait is a yield point: this CPU holds the token (or
        the ticket) and must let the others get here."""
        ctl, phase, beat, me = self.ctl, self.phase, self.beat, self.cpu_id
        while True:
            if ctl[C.CTL_ABORT]:
                return False
            if all(phase[c] >= p for c in range(self.nr_cpus)):
                return True
            beat[me] += 1
            if eng is not None:
                debug.hooks.yield_point("wait")
            else:
                time.sleep(0.0005)

    def wait_go(self):
        ctl, beat, me = self.ctl, self.beat, self.cpu_id
        while not ctl[C.CTL_GO]:
            if ctl[C.CTL_ABORT]:
                return False
            beat[me] += 1
            time.sleep(0.0005)
        return True

    # -- the life ---------------------------------------------------------------------
    def main(self):
        plan, me = self.plan, self.cpu_id
        self.set_phase(C.PHASE_READY)
        if not self.wait_go():
            return
        self.set_phase(C.PHASE_RUNNING)
        kp = self.k[C.X_PROCESS]
        eng = plan.engine
        try:
            if eng is not None:
                serial = eng.serialised
                eng.start(me, deliver_irq=self.irq.inject if serial else None,
                          irq_gate=None if serial else self.irq)
                scheduling.attach(eng, self.hooks)   # the yield points start() built
            if plan.setup is not None:
                self.call(C.X_PROCESS, plan.setup)   # a failed setup leaves the CPU idle
            self.irq.start(timer=eng is None or not eng.serialised)
            self._run_loop(kp, eng)
            if eng is not None:
                debug.hooks.yield_point("loop_end")
            self.irq.stop()
            self.softirqs.shutdown()
            self.set_phase(C.PHASE_STOPPED)
            if not self.wait_all(C.PHASE_STOPPED, eng):
                return
            self.doing[me] = C.X_PROCESS << 16
            self.dead.discard(C.X_PROCESS)        # teardown runs even after a failed iteration
            self.teardown(kp)                     # scheduled too: its frees race as the run's did
            self.stat[self.sbase + C.STAT["mbox_leftover"]] = self.mailboxes.count(me)
            if eng is not None:
                eng.cpu_done()
        except HARNESS_UNWIND as exc:
            self.irq.stop()
            if isinstance(exc, DeadlockStop) and eng is not None and not eng.serialised:
                eng.cpu_done()                       # free mode: let go of the ticket
            self._sched_stopped(exc)
            return                                   # no teardown: the run is over as it stands
        if "kmemleak" in plan.scenario.checkers:
            self.send("roots", cpu=me, addrs=self.roots())
        self.hooks.finish()
        self.set_phase(C.PHASE_TORNDOWN)

    def _run_loop(self, kp, eng=None):
        ctl, beat, me = self.ctl, self.beat, self.cpu_id
        softirqs = self.softirqs
        limit = self.plan.ops
        fn = self.work[C.X_PROCESS]
        idle = 0.0 if eng is not None else 0.001     # never sleep holding the token or ticket
        replaying = eng is not None and eng.replay      # only a replay stops by the trace
        i = 0
        while not ctl[C.CTL_STOP] and not ctl[C.CTL_ABORT]:
            if eng is not None:
                if replaying and eng.should_stop():
                    break
                debug.hooks.yield_point("iter")
            if softirqs.ksoftirqd:
                softirqs.run_ksoftirqd()
            if fn is None or C.X_PROCESS in self.dead:
                if idle:
                    time.sleep(idle)               # idle: only interrupts run here
            else:
                self.call(C.X_PROCESS, fn)
            beat[me] += 1
            i += 1
            if limit and i >= limit:
                break

    def _sched_stopped(self, exc):
        """The schedule ended the run: a deadlock (a violation), a divergence (not replayable)."""
        if isinstance(exc, DeadlockStop):
            self.ctl[C.CTL_ABORT] = 1                # the deadlock is reported: end the run
        elif isinstance(exc, SchedDeadlock):          # the deadlock checker owns every cycle
            checker = next((c for c in self.hooks.checkers if isinstance(c, DeadlockChecker)),
                           None) or DeadlockChecker(self.hooks.sink, self.node)
            checker.report_cycle(exc.cycle, note=" (found by the scheduler: every CPU left "
                                                 "spins or busy-waits)")
        elif isinstance(exc, Divergence):
            self.send("failure", kind="not-replayable", cpu=self.cpu_id, context="process",
                      error=str(exc), doing=None, traceback=None)

    def roots(self):
        """Addresses this process's workload state still holds: module globals, what
        workloads keep on ``k``, the op mixes' held lists (kmemleak's roots)."""
        plan = self.plan
        objs = [k.__dict__.get("state") for k in self.k]
        objs += [{n: v for n, v in vars(k).items() if not n.startswith("_")
                  and n not in ("cpu", "nr_cpus", "context", "rng")} for k in self.k]
        if plan.mix_mode:
            objs += [m.held for m in plan.mixes_of(self.cpu_id).values()]
        elif plan.module is not None:
            objs.append({n: v for n, v in vars(plan.module).items()
                         if not n.startswith("__") and not callable(v)})
        return kmemleak.collect_roots(objs)

    def teardown(self, kp):
        plan = self.plan
        if plan.mix_mode:
            def mix_teardown(k):
                for mix in plan.mixes_of(self.cpu_id).values():
                    mix.drain(k)
                while (item := k.recv_meta()) is not None:
                    free_item(k, item[0], item[1], plan.caches)
            self.call(C.X_PROCESS, mix_teardown)
        elif plan.teardown is not None:
            self.call(C.X_PROCESS, plan.teardown)


def _dump_stack(rt):
    def handler(signum, frame):
        rt.send("stack", cpu=rt.cpu_id, doing=C.doing_text(rt.doing[rt.cpu_id]),
                preempt_count=context.this_cpu.preempt_count,
                irqs_off=context.this_cpu.irqs_off, site=workload_site(frame=frame),
                stack="".join(traceback.format_stack(frame))[-6000:])
    return handler


def _machine_gone(signum, frame):
    """The machine died (PR_SET_PDEATHSIG; it was SIGKILLed): SIGKILL this CPU's process
    group -- the CPU and whatever its workload started, which a plain SIGKILL of the CPU
    would leave running now that they are out of the machine's group."""
    os.killpg(0, signal.SIGKILL)
    os._exit(3)                                  # not reached


def cpu_main(plan, cpu_id, wfd):
    """Entry point of the forked CPU process; never returns (os._exit)."""
    code = 0
    try:
        # Stopping is the machine's job (run_ctl STOP/ABORT): a CPU ignores SIGINT and
        # SIGTERM, and leaves the machine's process group for one of its own, so a group
        # signal (a terminal's Ctrl-C, `timeout`, a CI runner) reaches the machine alone
        # and the machine's SIGKILL of this group at the end takes what the workload spawned.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            os.setpgid(0, 0)
        except OSError:
            pass                                           # the machine did it first
        signal.signal(MACHINE_GONE, _machine_gone)
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, MACHINE_GONE)
        except (OSError, AttributeError):
            pass
        if os.getppid() != plan.machine_pid:
            os._exit(3)                                    # the machine died before we set that
        if plan.pin_cores:
            try:
                import psutil
                psutil.Process().cpu_affinity([plan.pin_cores[cpu_id]])
            except Exception:  # noqa: BLE001 - pinning is best effort
                pass
        if plan.scenario.planted:
            planted.plant(plan.scenario.planted)
        rt = CpuRuntime(plan, cpu_id, wfd)
        context.set_this_cpu(context.CPU(cpu_id, chip=rt.chip, comm=f"mmstress/{cpu_id}",
                                         pid=os.getpid()))
        def report(v):
            if plan.engine is not None:
                v = dict(v, step=plan.engine.note_violation())   # orders reports across CPUs
            rt.send("violation", **dict(v, cpu=cpu_id))
        rt.hooks, rt.sink = make_hooks(plan.scenario.checkers, plan.node, report,
                                       faults=getattr(plan.scenario, "fault", None), seed=plan.seed)
        debug.install(rt.hooks)
        signal.signal(signal.SIGUSR2, _dump_stack(rt))
        rt.main()
        rt.send("done", cpu=cpu_id, repeats=repeat_counts(rt.sink))
    except BaseException:  # noqa: BLE001 - the harness's own bug: tell the machine, exit 3
        code = 3
        try:
            os.write(wfd, messages.encode("harness-error", cpu=cpu_id,
                                          traceback=traceback.format_exc()[-6000:]))
        except Exception:  # noqa: BLE001
            pass
    finally:
        try:
            C.percpu_words(plan.node.arena, "cpu_phase")[cpu_id] = C.PHASE_EXITED
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        os._exit(code)
