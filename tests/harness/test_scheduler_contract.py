"""The scheduler contract: the registry, declared options, SchedOptions, and the
engine calling only what base.Scheduler names."""

import inspect

import pytest

from harness import scheduler
from harness.scheduler import base, engine
from harness.scheduler import options as scheduling
from harness.scheduler.dfs import format_schedule, parse_schedule


def test_every_registered_strategy_has_the_whole_contract():
    hooks = [n for n, v in vars(base.Scheduler).items() if callable(v) and not n.startswith("_")]
    assert set(hooks) == {"new_execution", "on_token", "next_cpu", "irq_due", "check", "expect",
                          "run_budget", "spend"}
    for name, cls in scheduler.REGISTRY.items():
        assert cls.name == name and issubclass(cls, base.Strategy)
        for hook in hooks:
            assert callable(getattr(cls, hook)), (name, hook)


def test_the_engine_calls_only_the_contract_and_never_probes():
    src = inspect.getsource(engine)
    called = set()
    for line in src.splitlines():
        if "self.strategy." in line or "strategy." in line and "self.strategy =" not in line:
            for part in line.split("strategy.")[1:]:
                called.add(part.split("(")[0].split(" ")[0].strip(")").strip(","))
    contract = {"new_execution", "on_token", "next_cpu", "irq_due", "check", "expect",
                "serialised", "follows_trace", "irq_possible", "grants_runs", "KIND_WEIGHTS",
                "run_budget", "spend"}
    assert called and called <= contract, called - contract
    assert "getattr(strategy" not in src and "getattr(self.strategy" not in src
    assert "except TypeError" not in src


def test_options_declared_become_flags_and_header():
    import argparse
    p = argparse.ArgumentParser()
    scheduling.add_arguments(p)
    args = p.parse_args(["--depth", "2", "--pct-steps", "500"])
    params, seed = scheduling.params_from_args(args, "pct")
    assert params == {"depth": 2, "steps": 500} and seed is None
    opts = scheduling.SchedOptions("pct", **params)
    assert opts.depth == 2 and opts.header()["steps"] == 500
    assert opts.args() == ["--sched", "pct", "--depth", "2", "--pct-steps", "500"]
    with pytest.raises(ValueError, match="--depth is an option of --sched pct"):
        scheduling.params_from_args(p.parse_args(["--depth", "2"]), "random")
    with pytest.raises(ValueError, match="--depth 0: allowed: an integer >= 1"):
        scheduling.params_from_args(p.parse_args(["--depth", "0"]), "pct")
    with pytest.raises(TypeError, match="no scheduling option"):
        scheduling.SchedOptions("pct", colour=3)


def test_an_old_trace_header_still_makes_options():
    old = {"depth": 3, "irq_rate": 0.0, "steps": 40000, "strategy": "random", "switch_prob": 0.03125}
    opts = scheduling.SchedOptions(**old)
    assert opts.switch_prob == 0.03125 and "depth" not in opts.header()
    again = scheduling.SchedOptions(**{**opts.header(), "strategy": "replay", "trace_steps": [(0, 1)]})
    assert again.trace_steps == [(0, 1)]


def test_dfs_schedule_round_trips_through_flag_and_header():
    sched = parse_schedule("40:0, 17:1")
    assert sched == ((17, 1), (40, 0)) and format_schedule(sched) == "17:1,40:0"
    opts = scheduling.SchedOptions("dfs", schedule=sched)
    header = opts.header()
    assert header["schedule"] == [(17, 1), (40, 0)] or header["schedule"] == [[17, 1], [40, 0]]
    assert scheduling.SchedOptions(**header).schedule == sched
    assert opts.args()[-2:] == ["--schedule", "17:1,40:0"]
    for bad in ("17", "a:b", "-1:0"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


def test_sched_seed_separates_the_schedule_from_the_workload():
    opts = scheduling.SchedOptions("pos", sched_seed=7)
    assert opts.args() == ["--sched", "pos", "--sched-seed", "7"]
    a, b = base.Stream(1, "pos"), base.Stream(7, "pos")
    assert a.at(5, 0) != b.at(5, 0) and a.at(5, 0) == base.Stream(1, "pos").at(5, 0)
    assert base.Stream(1, "irq").at(5, 0) != a.at(5, 0), "one stream per purpose"


def test_irq_decisions_depend_only_on_the_steps_taken():
    def decisions(steps, rate=0.1, seed=3):
        """irq_due at each step; the token taken again wherever the steps jump."""
        s = scheduler.make("pos", irq_rate=rate)
        view = base.SchedView(2)
        s.new_execution(seed, view)
        out, last = [], None
        for step in steps:
            view.step = step
            if last is None or step != last + 1:
                s.on_token(view, 1)
            last = step
            out.append(s.irq_due(view, 1))
        return out
    walk = list(range(1, 2001))
    a = decisions(walk)
    assert a == decisions(walk), "a pure function of seed and steps"
    assert 0.07 < sum(a) / len(a) < 0.13, "about irq_rate per yield point"
    jumped = list(range(1, 50)) + list(range(80, 130))
    assert decisions(jumped)[49:] == decisions(list(range(80, 130))), \
        "after another CPU ran, the countdown is redrawn at the step the token came back"
    assert not any(decisions(walk, rate=0.0))
