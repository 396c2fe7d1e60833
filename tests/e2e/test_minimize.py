"""``mmstress minimize`` (harness/tools/minimize.py, issue 18 item 6).

First the shrinker against a pure fake machine (no processes): a property
test over random schedules that the result is never larger on any axis and
fails the same way, and that a long race shrinks to its known minimum; then
the guided scheduler's decisions; then the real thing -- free traces of
lock_abba, percpu_irq_race and double_free_cross_cpu shrink to at most 30
steps without growing on any axis, and the result replays."""

import functools
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.scheduler import GuidedScheduler, KIND_CODE, SchedView
from harness.scheduler.base import DONE, RUNNABLE, SPINNING
from harness.scheduler.trace import Trace
from harness.tools import minimize
from harness.tools.minimize import AXES, Attempt, Candidate, Shrinker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ITER, ENTER, ALLOC, EXIT = (KIND_CODE[k] for k in ("iter", "percpu_enter", "alloc", "percpu_exit"))
IRQ, DONE_K, SPIN, WAIT = (KIND_CODE[k] for k in ("irq", "done", "spin", "wait"))
PROGRAM = (ITER, ENTER, ALLOC, EXIT)          # one iteration of a fake CPU


# -- a fake machine: a pure function from a candidate to what its run did ---------------------
def fake_run(cand, pool=None):
    """CPUs each run ``ops`` iterations of PROGRAM, then ``done``, under the guided
    scheduler as the engine drives it (the CPU about to step asks ``irq_due``, never
    right after an interrupt).  Bugs: a hardirq inside a CPU's percpu section
    ("irq-race"), an ``alloc`` while another CPU is inside its section ("race").
    With a ``pool``, the alloc that finds it empty reports the same "race": the bug
    then has a long way without preemptions and a short way with one, so a
    shrinker that looked only at steps would trade one axis for another."""
    n = cand.cpus
    sched = GuidedScheduler(trace_steps=list(cand.plan))
    view = SchedView(n)
    pos, iters, inside = [0] * n, [0] * n, [False] * n
    steps, violation, vstep, allocs = [], None, None, 0
    cur = sched.next_cpu(view, 0, KIND_CODE["start"])
    last = None

    def step(cpu, kind):
        nonlocal violation, vstep, allocs
        view.step += 1
        allocs += kind == ALLOC
        steps.append((cpu, kind))
        bug = None
        if kind == IRQ and inside[cpu]:
            bug = {"kind": "irq-race", "site": "fake:handler", "title": "BUG: irq in section"}
        if kind == ALLOC and (any(inside[c] for c in range(n) if c != cpu) or allocs == pool):
            bug = {"kind": "race", "site": "fake:alloc", "title": "BUG: alloc races"}
        if bug and violation is None:
            violation, vstep = bug, view.step

    while view.runnable():
        if view.step and last != IRQ and sched.irq_due(view, cur):
            kind = IRQ
        elif iters[cur] == cand.ops:
            kind = DONE_K
            view.state[cur] = DONE
        else:
            kind = PROGRAM[pos[cur]]
            inside[cur] = kind in (ENTER, ALLOC)
            pos[cur] = (pos[cur] + 1) % len(PROGRAM)
            iters[cur] += pos[cur] == 0
        step(cur, kind)
        last = kind
        if not view.runnable():
            break
        nxt = sched.next_cpu(view, cur, kind)
        if view.state[nxt] == DONE:
            nxt = view.runnable()[0]
        cur = nxt
    return Attempt(cand, violation, steps, vstep)


def recorded(cpus, ops, plan, run=fake_run):
    """A 'recording': the fake run of ``plan`` as the input Attempt minimize starts from."""
    att = run(Candidate(cpus, ops, tuple(plan)))
    return Attempt(Candidate(cpus, ops, tuple(att.prefix)), att.violation, att.steps,
                   att.violation_step)


@st.composite
def schedules(draw):
    cpus = draw(st.integers(1, 3))
    ops = draw(st.integers(1, 5))
    plan = draw(st.lists(st.tuples(st.integers(0, cpus - 1), st.sampled_from([ITER, ITER, IRQ])),
                         max_size=40))
    return cpus, ops, plan


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_never_larger_on_any_axis_and_the_same_bug(schedule):
    run = functools.partial(fake_run, pool=4)
    initial = recorded(*schedule, run=run)
    if initial.violation is None:
        return
    s = Shrinker(initial, run, budget=400)
    best = s.shrink()
    assert minimize.same_bug(best.violation, initial.violation)
    before, after = initial.sizes(), best.sizes()
    assert all(after[a] <= before[a] for a in AXES), (before, after)
    assert best is initial or best.key() < initial.key()
    assert s.runs <= 400
    # a shrunk result is a real run of its candidate; either way its recording replays
    if s.shrunk:
        assert run(best.candidate).steps == best.steps
    full = run(Candidate(best.candidate.cpus, best.candidate.ops, tuple(best.steps)))
    assert full.steps == best.steps and full.violation == best.violation


def test_a_long_race_shrinks_to_its_minimum():
    # CPUs 0 and 1 take turns a whole iteration at a time (no race), CPU 2 runs one,
    # and only then CPU 1 comes in while CPU 0 is inside its section
    whole = [(c, ITER) for _ in range(3) for c in (0,) * 4 + (1,) * 4]
    plan = whole + [(2, ITER)] * 4 + [(0, ITER)] * 2 + [(1, ITER)] * 3
    initial = recorded(3, 4, plan)
    assert initial.violation["kind"] == "race" and initial.violation_step == len(plan)
    best = Shrinker(initial, fake_run, budget=400).shrink()
    # one CPU enters its section (iter, percpu_enter), the other comes in and allocates
    assert best.sizes() == {"steps": 5, "preemptions": 1, "interrupts": 0, "cpus": 2, "iterations": 1}
    assert best.violation["kind"] == "race"


def test_an_irq_race_drops_the_other_cpus_and_keeps_the_interrupt():
    plan = [(0, ITER)] + [(1, ITER)] * 4 + [(0, ITER), (0, IRQ)]
    initial = recorded(2, 2, plan)
    assert initial.violation["kind"] == "irq-race"
    best = Shrinker(initial, fake_run, budget=200).shrink()
    assert best.sizes() == {"steps": 3, "preemptions": 0, "interrupts": 1, "cpus": 1, "iterations": 1}


def test_a_minimal_input_is_kept_and_said_so():
    initial = recorded(1, 1, [(0, ITER), (0, ITER), (0, IRQ)])
    assert initial.violation["kind"] == "irq-race" and initial.violation_step == 3
    s = Shrinker(initial, fake_run, budget=200)
    assert s.shrink() is initial and not s.shrunk and s.runs > 0


def test_only_the_same_bug_smaller_and_never_larger_is_accepted():
    initial = recorded(2, 2, [(0, ITER), (0, ITER), (1, ITER), (1, ITER), (1, ITER)])
    assert initial.violation["kind"] == "race" and initial.sizes()["steps"] == 5
    s = Shrinker(initial, fake_run)
    race, irq = dict(initial.violation), {"kind": "irq-race", "site": "fake:handler"}

    def att(cpus, ops, steps, violation):
        return Attempt(Candidate(cpus, ops, ()), violation, steps, len(steps))
    short = [(0, ITER), (1, ITER), (1, ITER), (1, ITER)]
    assert s.better(att(2, 2, short, race))
    assert not s.better(att(2, 2, short, irq))                       # another bug
    assert not s.better(att(2, 2, short, dict(race, site="fake:elsewhere")))   # another site
    assert not s.better(att(2, 2, short, None))                      # no bug
    assert not s.better(att(3, 1, short, race))                      # more CPUs than the input
    assert not s.better(att(2, 3, short, race))                      # more iterations
    assert not s.better(att(2, 2, short[:2] + [(0, ITER), (1, ITER)], race))  # more preemptions
    same = Attempt(Candidate(2, 2, ()), race, initial.steps, initial.violation_step)
    assert not s.better(same)                                        # not smaller


def test_the_same_site_in_another_checkout_is_the_same_bug():
    a = {"kind": "double-free", "site": "/work/main/scenarios/workloads/bugs/x.py:19 (process)"}
    b = {"kind": "double-free", "site": "/tmp/wt/scenarios/workloads/bugs/x.py:19 (process)"}
    assert minimize.same_bug(a, b)
    assert not minimize.same_bug(a, dict(b, site=b["site"].replace(":19", ":24")))
    assert not minimize.same_bug(a, dict(b, kind="use-after-free"))
    assert minimize.same_bug({"kind": "deadlock", "site": "scheduler"},
                             {"kind": "deadlock", "site": "scheduler"})


def test_no_violation_no_shrinking():
    initial = recorded(1, 1, [])
    assert initial.violation is None
    with pytest.raises(minimize.TraceError, match="no violation"):
        Shrinker(initial, fake_run)


# -- sizes and the guided scheduler ------------------------------------------------------------
def test_preemptions_count_switches_away_from_a_cpu_that_could_go_on():
    steps = [(0, ITER), (1, ITER), (1, SPIN), (0, ENTER), (0, DONE_K), (1, WAIT), (0, ITER)]
    # 0->1 after iter: preempted; 1->0 after spin, 0->1 after done, 1->0 after wait: gave way
    assert minimize.preemptions(steps) == 1
    assert minimize.sizes(steps + [(1, IRQ)], 2, 5) == {
        "steps": 8, "preemptions": 2, "interrupts": 1, "cpus": 2, "iterations": 5}


def test_guided_follows_the_plan_where_it_applies_and_defaults_after():
    g = GuidedScheduler(trace_steps=[(1, ITER), (0, ITER), (0, IRQ)])
    v = SchedView(3)
    assert g.next_cpu(v, 0, KIND_CODE["start"]) == 1
    v.step = 1
    assert g.next_cpu(v, 1, ITER) == 0
    v.step = 2
    assert g.irq_due(v, 0) and not g.irq_due(v, 1)
    v.step = 3                                    # the plan is used up: the current CPU goes on
    assert g.next_cpu(v, 2, ITER) == 2 and not g.irq_due(v, 2)
    v.state[2] = SPINNING                         # ... until it spins: the next CPU in turn
    assert g.next_cpu(v, 2, SPIN) == 0
    v.state[0] = DONE
    assert g.next_cpu(v, 2, SPIN) == 1
    v.state[1] = SPINNING                         # every CPU left spins: take turns
    assert g.next_cpu(v, 2, SPIN) == 1 and g.next_cpu(v, 1, SPIN) == 2
    g2 = GuidedScheduler(trace_steps=[(0, ITER)])             # a planned CPU that finished is skipped
    v2 = SchedView(2)
    v2.state[0] = DONE
    assert g2.next_cpu(v2, 1, ITER) == 1 and v2.state[1] == RUNNABLE


# -- the real machine -----------------------------------------------------------------------------
def _mmstress(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def _free_trace(name, tmp_path, seeds=10):
    for seed in range(1, seeds + 1):
        path = str(tmp_path / f"{name}-free{seed}.mmtrace")
        proc = _mmstress("run", f"bugs/{name}", "--sched", "free", "--seed", str(seed),
                         "--ops", "200", "--trace", path)
        if proc.returncode == 1 and os.path.exists(path) and Trace.load(path).header.get("violation"):
            return path
    pytest.fail(f"no free run of {name} caught it in {seeds} seeds")


def _axes(trace):
    return minimize.initial_attempt(trace).sizes()


@pytest.mark.parametrize("name", ["lock_abba", "percpu_irq_race", "double_free_cross_cpu"])
def test_a_free_trace_shrinks_to_30_steps_never_grows_and_replays(name, tmp_path):
    src = _free_trace(name, tmp_path)
    out = str(tmp_path / "min.mmtrace")
    proc = _mmstress("minimize", src, "-o", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    before_t, after_t = Trace.load(src), Trace.load(out)
    before, after = _axes(before_t), _axes(after_t)
    assert after["steps"] <= 30, proc.stdout
    assert all(after[a] <= before[a] for a in AXES), (before, after)
    assert after_t.header["violation"]["kind"] == before_t.header["violation"]["kind"]
    # The same bug: the record's key (kind + the checker's dedup site). A double free
    # is one bug per object whichever of its kfree calls came second, so the site of
    # the report may move (CPU 1's teardown kfree in the input, its process kfree in
    # the shrunk run) while the key, "object allocated at ...", stays.
    assert minimize.same_bug(after_t.header["violation"], before_t.header["violation"])
    title = after_t.header["violation"]["title"]
    first = proc.stdout.splitlines()[0]
    assert first == title.splitlines()[0] and "=====" not in first
    assert "before:" in proc.stdout and "after:" in proc.stdout and "runs tried" in proc.stdout
    rep = _mmstress("replay", out, "--check", "--quiet")
    assert rep.returncode == 0, rep.stdout + rep.stderr


def test_minimising_a_minimal_trace_keeps_it(tmp_path):
    src = _free_trace("percpu_irq_race", tmp_path)
    small = str(tmp_path / "small.mmtrace")
    assert _mmstress("minimize", src, "-o", small).returncode == 0
    again = str(tmp_path / "again.mmtrace")
    proc = _mmstress("minimize", small, "-o", again, "--budget", "30")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "nothing smaller fails the same way" in proc.stdout
    with open(small, "rb") as a, open(again, "rb") as b:
        assert a.read() == b.read()


def test_a_trace_without_a_violation_is_refused_clearly(tmp_path):
    path = str(tmp_path / "clean.mmtrace")
    assert _mmstress("run", "smoke", "--seed", "1", "--ops", "5", "--sched", "random",
                     "--trace", path).returncode == 0
    proc = _mmstress("minimize", path, "-o", str(tmp_path / "o.mmtrace"))
    assert proc.returncode == 3 and "no violation" in proc.stderr and "Traceback" not in proc.stderr
