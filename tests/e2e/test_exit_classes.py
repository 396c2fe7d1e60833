"""Exit classes mean what they say: 1 for what the workload or the model did, 3 for the harness.

A deadlock of the workload is found from the lock owner words in every mode
and reported as the kernel would (``*** DEADLOCK ***``), exit 1 -- never a
soft lockup blamed on the harness.  A CPU that exits unasked, a workload
raising any BaseException or an exception whose ``__str__`` raises: exit 1,
naming the CPU or the workload frame.  The soft-lockup watchdog counts only
time a CPU had the host to itself.  The fast lane runs a few seeds; the
nightly lane (``pytest --nightly``) 20 per planted bug.
"""

import json

import pytest

from harness.outputs.text import render

from shm_segments import own_segments
from harness import scenario
from harness.cli import main
from harness.exits import EXIT_VIOLATIONS
from harness.scheduler.options import SchedOptions
from harness.supervisor import machine
from harness.supervisor.watchdog import Watchdog

FAST_SEEDS = [1, 2, 3]
NIGHTLY_SEEDS = list(range(1, 21))


def _short(name):
    sc = scenario.resolve(name)
    sc.duration = 0.6
    return sc


def _deadlock_or_lock_report(name, seed, sched=None):
    result = machine.run(_short(name), seed, sched=sched)
    kinds = [v["kind"] for v in result.violations]
    where = f"{name} seed {seed}: exit {result.exit_code}, {kinds}, {result.failures}"
    assert result.exit_code == 1, where
    assert not result.harness_failed and "soft-lockup" not in kinds, where
    if name.endswith("lock_abba"):
        assert "lock-circular" in kinds or "deadlock" in kinds, where
    else:
        assert any(k.startswith("lock-") for k in kinds), where
    for v in result.violations:
        if v["kind"] == "deadlock":
            assert "*** DEADLOCK ***" in v["text"], where
            if name.endswith("lock_abba"):
                assert "lock_A" in v["text"] and "lock_B" in v["text"], where
                assert v["text"].count("lock_abba.py:") >= 4, v["text"]   # held and waiting sites
            else:                                 # the interrupt spins on its own CPU's lock
                assert "<Interrupt>" in v["text"] and "dev_lock" in v["text"], v["text"]
                assert v["text"].count("lock_inconsistent.py:") >= 2, v["text"]
    return kinds


@pytest.mark.parametrize("seed", FAST_SEEDS)
@pytest.mark.parametrize("name", ["bugs/lock_abba", "bugs/lock_inconsistent"])
def test_planted_lock_bugs_exit_1_under_none(name, seed):
    _deadlock_or_lock_report(name, seed)


@pytest.mark.nightly
@pytest.mark.parametrize("name", ["bugs/lock_abba", "bugs/lock_inconsistent"])
def test_planted_lock_bugs_exit_1_under_none_nightly(name):
    for seed in NIGHTLY_SEEDS:
        _deadlock_or_lock_report(name, seed)


def test_an_abba_deadlock_under_none_is_found_and_reported_with_both_sites():
    """Run until a seed deadlocks for real (lock_abba does on most seeds)."""
    for seed in range(1, 11):
        if "deadlock" in _deadlock_or_lock_report("bugs/lock_abba", seed):
            return
    pytest.fail("lock_abba never deadlocked in 10 seeds under none")


def test_a_scheduler_deadlock_is_the_same_record():
    sc = scenario.resolve("bugs/lock_abba")
    sc.ops = 200
    for seed in range(1, 11):
        result = machine.run(sc, seed, sched=SchedOptions(strategy="random"))
        dl = [v for v in result.violations if v["kind"] == "deadlock"]
        if dl:
            text = render(dl[0])
            assert result.exit_code == 1 and "*** DEADLOCK ***" in text
            assert "scheduler" in text
            return
    pytest.fail("no random schedule of lock_abba deadlocked in 10 seeds")


# --- unasked exits and exceptions -----------------------------------------------------------
def _scenario(tmp_path, monkeypatch, name, code):
    (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / f"{name}.toml"
    path.write_text(f'description = "{name}"\ncpus = 2\nduration = "1s"\nworkload = "{name}"\n'
                    '[memory]\nsize = "32M"\n[watchdog]\nthresh = "3s"\n')
    return str(path)


def _run(path, tmp_path):
    out = tmp_path / "report.json"
    code = main(["run", path, "--seed", "1", "--quiet", "--json", str(out)])
    assert own_segments() == []
    doc = json.loads(out.read_text())
    assert doc["exit_code"] == code
    return code, doc["runs"][0]


EXITS = """
import os
n = 0
def process(k):
    global n
    n += 1
    if k.cpu == 1 and n == 50:
        os._exit(0)
"""


def test_a_cpu_that_exits_unasked_is_exit_1_naming_the_cpu(tmp_path, monkeypatch):
    code, run = _run(_scenario(tmp_path, monkeypatch, "wl_exits", EXITS), tmp_path)
    assert code == EXIT_VIOLATIONS
    exited = [f for f in run["failures"] if f["kind"] == "cpu-exited"]
    assert len(exited) == 1 and exited[0]["cpu"] == 1, run["failures"]
    assert exited[0]["message"].startswith("CPU 1 exited (status 0) without being asked")
    assert "process" in exited[0]["doing"] and "of wl_exits" in exited[0]["message"]


RAISES = """
class Unprintable(Exception):
    def __str__(self):
        raise ValueError("no words for it")

RAISE = {raise_what}

def process(k):
    raise RAISE
"""


@pytest.mark.parametrize("raise_what, shown", [
    ("KeyboardInterrupt()", "KeyboardInterrupt"),
    ("SystemExit(4)", "SystemExit: 4"),
    ("GeneratorExit()", "GeneratorExit"),
    ("Unprintable()", "Unprintable: <str() raised ValueError>"),
])
def test_any_exception_of_the_workload_is_exit_1_naming_the_frame(tmp_path, monkeypatch,
                                                                  raise_what, shown):
    code_text = RAISES.format(raise_what=raise_what)
    name = "wl_base_" + raise_what.split("(")[0].lower()       # a module name per case
    code, run = _run(_scenario(tmp_path, monkeypatch, name, code_text), tmp_path)
    assert code == EXIT_VIOLATIONS, run["failures"]
    fails = run["failures"]
    assert {f["kind"] for f in fails} == {"workload-error"}, fails
    assert {f["cpu"] for f in fails} == {0, 1}
    for f in fails:
        assert shown in f["message"] and f"{name}.py:9 (process)" in f["site"], f


# --- the watchdog counts only time the CPU had the host -------------------------------------
def test_a_starved_cpu_is_not_stuck_and_a_spinning_one_is():
    dog = Watchdog(2, thresh=5.0)
    # CPU 0 waits on the run queue all the time (a loaded host); CPU 1 has the host
    for t in range(0, 11):
        fired = dog.observe([7, 9], float(t), {0, 1},
                            clocks=[("delay", 100.0 + t * 0.98), ("delay", 3.0)])
        if t < 5:
            assert fired == []
    assert dog.fired == {1}
    assert dog.stuck_for(0) < 1.0 and dog.stuck_for(1) >= 10.0


def test_the_watchdog_falls_back_to_cpu_time():
    dog = Watchdog(1, thresh=2.0)
    dog.observe([1], 0.0, {0}, clocks=[("cpu", 10.0)])
    assert dog.observe([1], 30.0, {0}, clocks=[("cpu", 10.5)]) == []      # 30 s asleep or starved
    assert dog.observe([1], 31.0, {0}, clocks=[("cpu", 12.6)]) == [0]     # 2.1 s of its own
    dog2 = Watchdog(1, thresh=2.0)
    dog2.observe([1], 0.0, {0})
    assert dog2.observe([2], 5.0, {0}) == []                              # the beat moved


QUIET = """
def process(k):
    pass
"""


def test_the_harness_own_exception_is_still_exit_3(tmp_path, monkeypatch):
    from harness.runtime import cpu

    def broken(self, kp):
        raise RuntimeError("a bug in the harness's teardown")
    monkeypatch.setattr(cpu.CpuRuntime, "teardown", broken)    # inherited by the forked CPUs
    code, run = _run(_scenario(tmp_path, monkeypatch, "wl_quiet", QUIET), tmp_path)
    assert code == 3
    errs = [f for f in run["failures"] if f["kind"] == "harness-error"]
    assert {f["cpu"] for f in errs} == {0, 1}
    assert "a bug in the harness's teardown" in errs[0]["traceback"]
