"""cpu_relax() busy-waits under a schedule: the ``relax`` step is a yield, not a spin.

A CPU that busy-waits on a flag can go on as soon as another CPU writes it,
so it stays runnable (unlike a CPU spinning on a lock, which waits for an
unlock).  Each strategy yields at a relax; PCT counts the steps while a CPU
waits as steps with a choice, so its change points can land there."""

from harness.scheduler import KIND_CODE, SchedView, make
from harness.scheduler.base import RUNNABLE, track
from harness.scheduler.dfs import default_choice
from harness.tools.explore import children
from sched_fakes import drive

ITER, RELAX, DONE = KIND_CODE["iter"], KIND_CODE["relax"], KIND_CODE["done"]


def setter(shared, n):
    """CPU 0: n steps of work, then the flag."""
    for _ in range(n):
        yield ITER
    shared["flag"] = 1
    for _ in range(n):
        yield ITER


def waiter(shared, n):
    """CPU 1: busy-waits for the flag, then works."""
    while not shared.get("flag"):
        yield RELAX
    for _ in range(n):
        yield ITER


def run(strategy, seed, n=20):
    shared = {}
    return drive(strategy, seed, [setter(shared, n), waiter(shared, n)])


def test_a_relaxing_cpu_stays_runnable():
    state = [RUNNABLE, RUNNABLE]
    track(state, 1, RELAX, 2)
    assert state[1] == RUNNABLE


def test_every_strategy_finishes_the_handoff_and_yields_at_each_relax():
    for name, kw in (("random", {}), ("pct", {"depth": 3, "steps": 60}), ("pos", {}), ("dfs", {})):
        for seed in range(20):
            steps = run(make(name, **kw), seed)
            assert steps.count((0, DONE)) == 1 and steps.count((1, DONE)) == 1, name
            for i, (cpu, kind) in enumerate(steps[:-1]):
                if kind == RELAX and name != "pos":        # pos: a fresh coin for everyone
                    assert steps[i + 1][0] != cpu or all(c == cpu for c, _ in steps[i + 1:]), \
                        f"{name} seed {seed}: CPU {cpu} went on after its relax at step {i + 1}"


def test_pct_counts_the_steps_while_a_cpu_waits_and_can_change_priority_there():
    """Before the relax kind, a busy-waiting CPU counted as spinning: no step had a
    choice until the setter finished, so no change point could land in its work."""
    pct = make("pct", depth=3, steps=40)
    view = SchedView(2)
    pct.new_execution(1, view)
    view.prio[0], view.prio[1] = 3, 4                  # CPU 1 (the waiter) first
    nxt = pct.next_cpu(view, 1, RELAX)
    assert nxt == 0 and view.prio[1] < view.prio[0]      # it yielded below CPU 0
    assert view.count[0] == 1                            # a step with a choice
    interleaved = 0
    for seed in range(30):
        steps = run(make("pct", depth=3, steps=40), seed)
        setter_end = max(i for i, (c, _k) in enumerate(steps) if c == 0)
        interleaved += any(c == 1 and k != RELAX for c, k in steps[:setter_end])
    assert interleaved, "a change point in CPU 0's work after the flag lets CPU 1 run"


def test_pos_redraws_every_cpu_at_a_relax():
    pos = make("pos")
    view = SchedView(3)
    pos.new_execution(4, view)
    before = list(view.prio)
    view.step = 7
    pos.next_cpu(view, 1, RELAX)
    assert all(a != b for a, b in zip(before, view.prio))


def test_dfs_yields_at_a_relax_and_a_switch_there_is_no_preemption():
    view = SchedView(2)
    assert default_choice(view, 1, ITER) == 1
    assert default_choice(view, 1, RELAX) == 0
    steps = [(1, RELAX), (0, ITER), (0, ITER), (0, DONE), (1, ITER), (1, DONE), (2, ITER),
             (2, DONE)]
    costs = dict(children((), steps, 3))
    assert costs[((1, 2),)] == 0          # CPU 1 yielded: running CPU 2 instead is free
    assert costs[((2, 2),)] == 1          # CPU 0 could go on: a preemption


def test_pct_interrupts_are_threads_that_fire_when_they_outrank_their_cpu():
    """A hardirq source has a PCT priority: it fires at a yield point of its CPU when
    above the CPU's, then drops below everything until the CPU drops again."""
    fired_first = 0
    for seed in range(20):
        pct = make("pct", irq_rate=0.01, depth=3, steps=50)
        view = SchedView(1)
        pct.new_execution(seed, view)
        first = pct.irq_due(view, 0)
        fired_first += first
        assert not pct.irq_due(view, 0)                 # fired or not, nothing changed: no more
        pct.next_cpu(view, 0, ITER)
        assert not pct.irq_due(view, 0)
        assert view.count[0] == 1                       # one CPU, but its irq could come: a choice
        pct.next_cpu(view, 0, RELAX)                    # the CPU drops below the source
        assert pct.irq_due(view, 0)
        assert not pct.irq_due(view, 0)
    assert 0 < fired_first < 20                         # the initial order is the seed's


def test_pct_without_interrupts_never_delivers_one():
    pct = make("pct", irq_rate=0.0, depth=3, steps=50)
    view = SchedView(1)
    pct.new_execution(1, view)
    pct.next_cpu(view, 0, RELAX)
    assert not pct.irq_due(view, 0) and view.count[0] == 0


def test_pct_keeps_the_scenario_rate_below_its_own_interrupts():
    """A source ranked below its CPU still lets interrupts arrive at the rate (the coin
    every strategy flips): PCT adds interrupts, it never takes the rate's away."""
    pct = make("pct", irq_rate=1.0, depth=3, steps=50)
    view = SchedView(1)
    pct.new_execution(3, view)
    pct.on_token(view, 0)
    pct.irq_prio[0] = -100                               # far below the CPU
    assert all(pct.irq_due(view, 0) for _ in range(5))   # rate 1: every point


def test_guided_past_its_plan_yields_at_a_relax():
    guided = make("guided", trace_steps=[])
    view = SchedView(2)
    guided.new_execution(1, view)
    assert guided.next_cpu(view, 1, ITER) == 1
    assert guided.next_cpu(view, 1, RELAX) == 0
    for seed in range(3):
        steps = run(make("guided", trace_steps=[]), seed)
        assert steps.count((0, DONE)) == 1 and steps.count((1, DONE)) == 1
