"""The KCSAN-style data-race checker (harness/checkers/kcsan.py): it reports the
refcount race and the per-CPU lost update under --sched none and under --sched
random, naming both accesses, and stays silent on the correct twins."""

import dataclasses
import os

import pytest

from harness.outputs.text import render

from harness import scenario
from harness.checkers import REGISTRY, kcsan
from harness.checkers.kinds import KINDS, explain
from harness.runtime.access import KCSAN_ACCESS_ATOMIC, KCSAN_ACCESS_COMPOUND, KCSAN_ACCESS_WRITE
from harness.scheduler import options as scheduling
from harness.supervisor import machine

BUGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scenarios", "bugs")
TWINS = ["race_refcount_ok", "race_check_act_ok", "race_publish_ok", "race_percpu_lost_ok",
         "race_zone_counter_ok", "race_free_lookup_ok"]


def _sc(name, **kw):
    return dataclasses.replace(scenario.load(os.path.join(BUGS, name + ".toml")), **kw)


def _races(res):
    return [v for v in res.violations if v["kind"] == "data-race"]


def _run(sc, seed, strategy):
    return machine.run(sc, seed, sched=scheduling.options_for(strategy, sc)
                       if strategy != "none" else None)


def _first_race(name, strategy, seeds, **kw):
    sc = _sc(name, **kw)
    for seed in seeds:
        res = _run(sc, seed, strategy)
        both = [v for v in _races(res) if "racing access" in v["tracks"]]
        if both:
            return both[0]
    pytest.fail(f"KCSAN reported no data-race with both accesses in {name} under {strategy}")


def test_kcsan_is_a_default_checker_with_a_kind():
    assert "kcsan" in REGISTRY and "data-race" in KINDS
    assert "BUG: KCSAN: data-race" in explain("data-race")


def test_access_types_are_the_kernels_words():
    assert kcsan.access_type(0) == "read"
    assert kcsan.access_type(KCSAN_ACCESS_WRITE) == "write"
    assert kcsan.access_type(KCSAN_ACCESS_WRITE | KCSAN_ACCESS_ATOMIC) == "write (marked)"
    assert kcsan.access_type(KCSAN_ACCESS_WRITE | KCSAN_ACCESS_COMPOUND) == "read-write"
    assert kcsan.thread_desc(-1) == "interrupt" and kcsan.thread_desc(7) == "task 7"


@pytest.mark.parametrize("strategy,seeds", [("random", range(3)), ("none", range(25))])
def test_refcount_race_reported_with_both_accesses(strategy, seeds):
    v = _first_race("race_refcount", strategy, seeds, ops=300 if strategy == "random" else None)
    text = render(v)
    assert text.startswith("BUG: KCSAN: data-race in ")
    assert " to 0xffff" in text and " of 4 bytes by task " in text
    assert "race_refcount.py" in v["tracks"]["access"]["site"] and "race_refcount.py" in v["tracks"]["racing access"]["site"]
    assert text.count("race_refcount.py") >= 2             # both accesses' workload frames
    assert "Reported by Kernel Concurrency Sanitizer on:" in text


@pytest.mark.parametrize("strategy,seeds", [("random", range(3)), ("none", range(25))])
def test_percpu_lost_update_reported_by_the_interrupt_watcher(strategy, seeds):
    kw = {"ops": 300} if strategy == "random" else {}
    v = _first_race("race_percpu_lost", strategy, seeds, **kw)
    text = render(v)
    assert "by interrupt on cpu 0:" in text and "read to 0x" in text and "by task " in text
    assert "(hardirq)" in v["tracks"]["racing access"]["site"] and "(process)" in v["tracks"]["access"]["site"]
    assert "value changed: 0x" in text and "update is lost" in text


@pytest.mark.parametrize("name", TWINS)
def test_twins_are_silent_under_random(name):
    res = _run(_sc(name, ops=200, duration=None), 5, "random")
    assert res.exit_code == 0 and not res.violations, [v["title"] for v in res.violations]
