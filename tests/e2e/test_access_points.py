"""Shared memory accesses as scheduling points (harness/runtime/access.py): a
read-modify-write of a shared object written as k.write(k.read() + 1) is split
by the reproducible strategies, the finding replays to the same trace hash,
private data makes no points, and old traces are refused with a clear message."""

import dataclasses
import json
import os
import subprocess
import sys
import zlib

import pytest

from harness import scenario
from harness.outputs import recording
from harness.scheduler import YIELD_KINDS
from harness.scheduler import options as scheduling
from harness.scheduler.trace import FORMAT, Trace, TraceError
from harness.supervisor import machine

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUGS = os.path.join(ROOT, "scenarios", "bugs")
ACCESS = YIELD_KINDS.index("access")


def _sc(name, **kw):
    return dataclasses.replace(scenario.load(os.path.join(BUGS, name + ".toml")), **kw)


def _run(sc, seed, strategy, path=None, steps=None):
    res = machine.run(sc, seed, sched=scheduling.options_for(strategy, sc, steps=steps))
    if path:
        recording.save(res, path)
    return res


def _lost_or_race(res):
    return any(v["kind"] == "data-race" for v in res.violations)


@pytest.mark.parametrize("strategy", ["random"])
def test_read_then_write_race_found_within_20_seeds_and_replays(strategy, tmp_path):
    sc = _sc("race_refcount", ops=300, duration=None)
    for seed in range(20):
        path = str(tmp_path / f"{strategy}{seed}.mmtrace")
        rec = _run(sc, seed, strategy, path)
        if _lost_or_race(rec):
            break
    else:
        pytest.fail(f"{strategy} never split the read-modify-write in 20 seeds")
    steps = [k for _, k in rec.steps]
    assert ACCESS in steps                                  # the accesses are steps
    trace, rsc, opts = recording.load_for_replay(path)
    rep = machine.run(rsc, trace.header["seed"], sched=opts)
    assert rep.steps == rec.steps and rep.sched["hash"] == rec.sched["hash"]


def test_private_data_makes_no_access_points():
    """race_percpu_lost on one CPU with no interrupts: its variable is touched by one
    context only, so no access is a point."""
    sc = _sc("race_percpu_lost", ops=50, duration=None, irq_rate=0)
    res = _run(sc, 1, "random")
    assert res.exit_code == 0
    assert ACCESS not in [k for _, k in res.steps]


def test_shared_access_is_a_point_only_once_two_contexts_touched_it():
    sc = _sc("race_percpu_lost", ops=200, duration=None)
    res = _run(sc, 1, "random")
    kinds = [YIELD_KINDS[k] for _, k in res.steps]
    first_irq = kinds.index("irq")
    assert "access" not in kinds[:first_irq] and "access" in kinds[first_irq:]


def test_serialised_runs_with_access_points_are_deterministic():
    sc = _sc("race_check_act", ops=100, duration=None)
    a, b = _run(sc, 4, "pct"), _run(sc, 4, "pct")
    assert a.sched["hash"] == b.sched["hash"] and a.steps == b.steps


def test_old_trace_format_is_refused_with_how_to_re_record(tmp_path):
    path = tmp_path / "old.mmtrace"
    header = {"format": FORMAT - 1, "scenario": "lock_abba", "source": "bugs/lock_abba",
              "strategy": "random", "seed": 3, "ops": 200, "cpus": 2}
    path.write_bytes(json.dumps(header).encode() + b"\n" + zlib.compress(b"\0\1"))
    with pytest.raises(TraceError, match="older mmstress"):
        Trace.load(str(path))
    proc = subprocess.run([sys.executable, "-m", "harness", "replay", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert (f"recorded by an older mmstress (trace format {FORMAT - 1}); re-record it with "
            f"`mmstress run bugs/lock_abba --sched random --ops 200 --cpus 2 --seed 3") in proc.stderr
    assert "Traceback" not in proc.stderr


NEW_RACES = ["race_refcount", "race_check_act", "race_publish", "race_percpu_lost",
             "race_zone_counter", "race_free_lookup"]


@pytest.mark.parametrize("name", NEW_RACES)
def test_new_planted_race_found_by_random_and_its_seed_redoes_it_10_of_10(name):
    sc = _sc(name, ops=300, duration=None)
    for seed in range(20):
        first = _run(sc, seed, "random")
        if set(sc.expect) <= {v["kind"] for v in first.violations}:
            break
    else:
        pytest.fail(f"random did not find {name} in 20 seeds")
    for _ in range(10):
        again = _run(sc, seed, "random")
        assert again.sched["hash"] == first.sched["hash"]


@pytest.mark.parametrize("name,ops", [("slub_skip_double_free", 300), ("zone_lock_missing", 300)])
def test_model_races_only_none_found_before_are_found_by_random(name, ops):
    """The model's own lockless accesses are points (the SLUB debug state, the buddy's
    free lists without zone->lock): planted model races --sched none found and the
    serialised strategies could not (issue 13) are found by random, and replay."""
    sc = _sc(name, ops=ops, duration=None)
    for seed in range(10):
        first = _run(sc, seed, "random")
        kinds = {v["kind"] for v in first.violations} | ({"invariant"} if first.invariants else set())
        if set(sc.expect) <= kinds:
            break
    else:
        pytest.fail(f"random did not find {name} in 10 seeds")
    assert _run(sc, seed, "random").sched["hash"] == first.sched["hash"]
