"""Fake CPUs for scheduler tests: generators of yield kinds, driven through the
same calls the engine makes (``base.Scheduler``), without processes."""

from dataclasses import dataclass
from types import SimpleNamespace

from harness.scheduler import KIND_CODE, SchedView, make
from harness.scheduler.base import DONE, track

ITER, LOCK, DONE_KIND = KIND_CODE["iter"], KIND_CODE["lock"], KIND_CODE["done"]


def racy_cpu(shared, n):
    """Increment a shared counter with a yield point between read and write."""
    for _ in range(n):
        v = shared["x"]
        yield ITER
        shared["x"] = v + 1
        yield LOCK


def atomic_cpu(shared, n):
    """The correct twin: read and write with no yield point between them."""
    for _ in range(n):
        shared["x"] += 1
        yield ITER
        yield LOCK


def drive(strategy, seed, cpus):
    """Run fake CPUs as the engine does: record each step, track states, ask
    next_cpu; a finishing CPU records ``done`` and hands on.  Returns the steps."""
    ncpus = len(cpus)
    view = SchedView(ncpus)
    strategy.new_execution(seed, view)
    cur = strategy.next_cpu(view, 0, KIND_CODE["start"])
    strategy.on_token(view, cur)
    steps = []
    while view.runnable():
        try:
            kind = next(cpus[cur])
        except StopIteration:
            kind = DONE_KIND
        view.step += 1
        steps.append((cur, kind))
        if strategy.follows_trace:
            strategy.check(view.step, cur, kind)
        track(view.state, cur, kind, ncpus)
        live = view.runnable()
        if not live:
            break
        nxt = strategy.next_cpu(view, cur, kind)
        if kind == DONE_KIND and (nxt == cur or nxt not in live):
            nxt = live[0]
        if nxt != cur:
            cur = nxt
            strategy.on_token(view, cur)
    return steps


def fake_executor(body=racy_cpu, n=2):
    """An ``execute(scenario, execution)`` for the explorer: fake CPUs under the
    execution's strategy; a lost update is a 'data-race' violation."""
    calls = []

    def execute(scenario, execution):
        shared = {"x": 0}
        opts = execution.opts
        strategy = make(opts.strategy, irq_rate=0.0, **opts.params)
        steps = drive(strategy, execution.seed, [body(shared, n) for _ in range(scenario.cpus)])
        lost = shared["x"] != n * scenario.cpus
        calls.append(execution)
        return SimpleNamespace(steps=steps, scenario=scenario, interrupted=None,
                               violations=[{"kind": "double-free", "site": "fake"}] if lost else [],
                               exit_code=1 if lost else 0, sched={"steps": len(steps)})
    execute.calls = calls
    return execute


@dataclass
class FakeScenario:
    cpus: int = 2
    ops: int = 2
    irq_rate: int = 0
    name: str = "fake"
    source: str = "fake.toml"
    duration: float | None = None


def fake_scenario(cpus=2, ops=2):
    return FakeScenario(cpus=cpus, ops=ops)
