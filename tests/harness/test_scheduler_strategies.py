"""Strategies against fake CPUs (generators), without processes."""

import pytest

from harness.scheduler import KIND_CODE, Divergence, SchedView, make
from sched_fakes import drive, racy_cpu


def run_fake(strategy, seed, ncpus=2, n=20):
    """Serialised execution of fake CPUs through the contract the engine uses
    (base.Scheduler); returns (steps, final counter)."""
    shared = {"x": 0}
    return drive(strategy, seed, [racy_cpu(shared, n) for _ in range(ncpus)]), shared["x"]


@pytest.mark.parametrize("name", ["random", "pct", "pos"])
def test_same_seed_same_schedule(name):
    kw = {"random": {"switch_prob": 0.3}, "pct": {"depth": 2, "steps": 80}, "pos": {}}[name]
    a = run_fake(make(name, **kw), seed=5)
    b = run_fake(make(name, **kw), seed=5)
    assert a == b
    others = {tuple(run_fake(make(name, **kw), seed=s)[0]) for s in range(10)}
    assert len(others) > 1, "different seeds must explore different schedules"


@pytest.mark.parametrize("name,kw", [("random", {"switch_prob": 0.02}), ("pct", {"depth": 2, "steps": 80}),
                                     ("pos", {})])
def test_lost_update_found_within_bounded_seeds(name, kw):
    found = [s for s in range(50) if run_fake(make(name, **kw), seed=s)[1] != 40]
    assert found, f"{name} never interleaved the read and the write"
    assert len(found) < 50, "and some schedules are clean"


def test_replay_follows_and_detects_divergence():
    steps, x = run_fake(make("random", switch_prob=0.3), seed=3)
    again, x2 = run_fake(make("replay", trace_steps=steps), seed=999)
    assert again == steps and x2 == x
    bad = list(steps)
    bad[5] = (bad[5][0], KIND_CODE["alloc"])
    with pytest.raises(Divergence, match="step 6"):
        run_fake(make("replay", trace_steps=bad), seed=0)


def test_pct_bound_and_priorities_distinct():
    pct = make("pct", depth=3, steps=1000)
    view = SchedView(4)
    pct.new_execution(7, view)
    assert sorted(view.prio) == [3, 4, 5, 6]
    assert pct.bound(4) == pytest.approx(1 / (4 * 1000 ** 2))
    assert len(pct.change_points) == 2


def test_unknown_strategy():
    with pytest.raises(ValueError, match="unknown scheduler"):
        make("fifo")


def test_irq_is_the_yield_kind_the_engine_delivers_interrupts_at():
    from harness.scheduler.base import YIELD_KINDS
    assert YIELD_KINDS[KIND_CODE["irq"]] == "irq"


def test_a_stream_differs_between_steps_and_purposes_and_repeats_itself():
    from harness.scheduler.base import Stream
    a, b = Stream(1, "switch"), Stream(1, "irq")
    assert a.random(2, 0).random() != a.random(3, 0).random()
    assert a.random(2, 0).random() == Stream(1, "switch").random(2, 0).random()
    assert a.random(2, 0).random() != b.random(2, 0).random()
