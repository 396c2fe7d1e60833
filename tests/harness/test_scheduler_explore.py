"""The parent-side explorer with a fake executor (fake CPUs, no processes): DFS's
tree and bound, its checkpoint, PCT's measured k, and the loop's stopping rules."""

import json

import pytest

from harness.scheduler import SchedView
from harness.scheduler.base import SPINNING
from harness.scheduler.dfs import DfsScheduler, default_choice
from harness.tools import explore
from sched_fakes import atomic_cpu, fake_executor, fake_scenario, racy_cpu


def test_dfs_default_never_preempts_and_forced_choices_win():
    view = SchedView(3)
    assert default_choice(view, 1) == 1
    view.state[1] = SPINNING
    assert default_choice(view, 1) == 2
    d = DfsScheduler(schedule=((4, 2),))
    view.step = 4
    assert d.next_cpu(view, 0, 1) == 2
    view.step = 5
    assert d.next_cpu(view, 0, 1) == 0


def test_dfs_finds_the_lost_update_with_one_preemption():
    sc = fake_scenario(cpus=2, ops=2)
    ex = explore.make_explorer("dfs", sc, 1, bound=2)
    out = explore.explore(ex, runs=500, execute=fake_executor(racy_cpu))
    assert out.found is not None
    execution, result = out.found
    assert execution.preemptions == 1 and result.violations
    # the found schedule, run again, fails again: the command's options redo it
    again = fake_executor(racy_cpu)(sc, execution)
    assert again.steps == result.steps and again.violations


def test_dfs_exhausts_the_correct_twin_and_counts_the_space():
    sc = fake_scenario(cpus=2, ops=2)
    sizes = []
    for bound in (0, 1, 2):
        ex = explore.make_explorer("dfs", sc, 1, bound=bound)
        execute = fake_executor(atomic_cpu)
        out = explore.explore(ex, runs=10_000, execute=execute)
        assert out.exhausted and out.found is None
        assert ex.status().startswith(f"explored {out.executions} of {out.executions} schedules")
        assert (ex.beyond > 0) == ("more need more preemptions" in ex.status())
        sizes.append(out.executions)
        rerun = fake_executor(atomic_cpu)
        seen = {tuple(rerun(sc, c).steps) for c in list(execute.calls)}
        assert len(seen) == out.executions, "every schedule explored is a different execution"
    assert sizes[0] == 2             # who starts: CPU 0 or CPU 1, then no preemption
    assert sizes[0] < sizes[1] < sizes[2]


def test_dfs_checkpoint_resumes_where_it_stopped(tmp_path):
    sc = fake_scenario(cpus=2, ops=2)
    path = str(tmp_path / "dfs.json")
    whole = explore.explore(explore.make_explorer("dfs", sc, 1, bound=2), runs=10_000,
                            execute=fake_executor(atomic_cpu))
    ex = explore.make_explorer("dfs", sc, 1, bound=2)
    first = explore.explore(ex, runs=5, execute=fake_executor(atomic_cpu), checkpoint=path)
    assert first.executions == 5 and not first.exhausted
    doc = json.load(open(path))
    resumed = explore.make_explorer("dfs", sc, 1, bound=2, state=doc["state"])
    rest = explore.explore(resumed, runs=10_000, execute=fake_executor(atomic_cpu), checkpoint=path)
    assert rest.exhausted and first.executions + rest.executions == whole.executions
    with pytest.raises(ValueError, match="preemptions"):
        explore.make_explorer("dfs", sc, 1, bound=1, state=doc["state"])


def test_pct_k_is_measured_from_the_last_execution():
    sc = fake_scenario(cpus=2, ops=5)
    ex = explore.make_explorer("pct", sc, 1)
    execute = fake_executor(atomic_cpu, n=5)
    explore.explore(ex, runs=3, execute=execute)
    first, later = execute.calls[0], execute.calls[1:]
    assert first.opts.steps >= 1000                 # nothing measured yet: the size guess
    rerun = fake_executor(atomic_cpu, n=5)
    live = [explore.live_steps(rerun(sc, c).steps, 2) for c in execute.calls]
    assert [c.opts.steps for c in later] == [max(live[:i + 1]) for i in range(len(later))]
    assert ex.measured == max(live) and 10 <= ex.measured <= 21   # 2 x 5 x 2 steps, both live
    fixed = explore.make_explorer("pct", sc, 1, {"steps": 7})
    explore.explore(fixed, runs=2, execute=fake_executor(atomic_cpu, n=5))
    assert fixed.options().steps == 7


def test_pct_cycles_the_depth_unless_it_is_given():
    sc = fake_scenario(cpus=2, ops=5)
    ex = explore.make_explorer("pct", sc, 1)
    execute = fake_executor(atomic_cpu, n=5)
    explore.explore(ex, runs=6, execute=execute)
    assert [c.opts.depth for c in execute.calls] == [3, 6, 12, 24, 3, 6]
    fixed = explore.make_explorer("pct", sc, 1, {"depth": 2})
    execute = fake_executor(atomic_cpu, n=5)
    explore.explore(fixed, runs=3, execute=execute)
    assert [c.opts.depth for c in execute.calls] == [2, 2, 2]


@pytest.mark.parametrize("name", ["random", "pct", "pos"])
def test_seeded_explorers_stop_at_the_first_failure_and_vary_the_seed(name):
    sc = fake_scenario(cpus=2, ops=3)
    execute = fake_executor(racy_cpu, n=3)
    out = explore.explore(explore.make_explorer(name, sc, 10), runs=200, execute=execute)
    assert out.found is not None and out.executions == len(execute.calls)
    assert [c.seed for c in execute.calls] == list(range(10, 10 + out.executions))
    clean = explore.explore(explore.make_explorer(name, sc, 10), runs=30,
                            execute=fake_executor(atomic_cpu, n=3))
    assert clean.found is None and clean.executions == 30 and not clean.exhausted


def test_only_the_asked_kind_counts():
    sc = fake_scenario(cpus=2, ops=2)
    out = explore.explore(explore.make_explorer("dfs", sc, 1, bound=1), runs=1000,
                          execute=fake_executor(racy_cpu), kind="deadlock")
    assert out.found is None and out.exhausted


def test_reproduce_command_names_everything_the_run_needs():
    from harness import scenario
    import dataclasses
    sc = dataclasses.replace(scenario.resolve("bugs/lock_abba"), ops=1, duration=None)
    ex = explore.make_explorer("dfs", sc, 3)
    ex.queues = [[((0, 1), (6, 0))], [], []]
    cmd = explore.reproduce_command(sc, ex.new_execution())
    assert cmd == ("mmstress run bugs/lock_abba --seed 3 --cpus 2 --ops 1 --sched dfs "
                   "--schedule 0:1,6:0")


def test_repro_says_when_no_schedule_shows_the_violation():
    sc = fake_scenario(cpus=2, ops=2)
    execute = fake_executor(atomic_cpu)
    out = explore.repro(sc, 5, "double-free", "fake", budget_s=60, runs=9, execute=execute)
    assert out.found is None and out.executions == 9
    assert {c.seed for c in execute.calls} == {5}, "the run's seed (its op streams) is kept"
    assert [c.opts.strategy for c in execute.calls[:3]] == ["pos", "pct", "random"]
    assert [c.opts.sched_seed for c in execute.calls[::3]] == [1, 2, 3]
    found = explore.repro(sc, 5, "double-free", "fake", budget_s=60, runs=50,
                          execute=fake_executor(racy_cpu))
    assert found.found is not None
    wrong_site = explore.repro(sc, 5, "double-free", "elsewhere", budget_s=60, runs=6,
                               execute=fake_executor(racy_cpu))
    assert wrong_site.found is None


def test_pos_redraws_the_runner_and_the_cpus_on_the_same_object_only():
    from harness.scheduler import make
    pos = make("pos")
    view = SchedView(3)
    pos.new_execution(4, view)
    view.obj[:] = [6, 6, 9]
    before = list(view.prio)
    view.step = 17
    pos.next_cpu(view, 0, 2)
    assert view.prio[0] != before[0] and view.prio[1] != before[1]
    assert view.prio[2] == before[2]


def test_a_harness_failure_stops_the_search_and_is_not_a_finding():
    sc = fake_scenario(cpus=2, ops=2)
    execute = fake_executor(atomic_cpu)

    def broken(scenario, execution):
        res = execute(scenario, execution)
        if len(execute.calls) == 3:
            res.exit_code = 3
        return res
    out = explore.explore(explore.make_explorer("pos", sc, 1), runs=10, execute=broken)
    assert out.broken is not None and out.found is None and out.executions == 3
