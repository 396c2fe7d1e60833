"""Reproducing races: planted races found by random/pct, the printed command redoes them
10 times out of 10, minimize shrinks them, free runs that caught them replay, and
serialised runs are deterministic (issue 6)."""

import dataclasses
import os
import subprocess
import sys

import pytest

from harness.supervisor import machine
from harness.outputs import recording, report
from harness import scenario
from harness.scheduler import options as scheduling
from harness.scheduler.trace import Trace

BUGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scenarios", "bugs")
ROOT = os.path.dirname(BUGS.rstrip("/").rsplit("/", 1)[0])

# planted race -> (strategy, ops per CPU, seeds to search, kind it must report)
RACES = {
    "lock_abba": ("random", 200, 20, "lock-circular"),
    "percpu_irq_race": ("random", 200, 20, "percpu-irq-race"),
    "zone_lock_missing": ("random", 1000, 30, None),
    "double_free_cross_cpu": ("random", 300, 30, "double-free"),
}


def _scenario(name, ops):
    path = os.path.join(BUGS, name + ".toml")
    if not os.path.exists(path):
        pytest.skip(f"{name}.toml is not in the catalogue")
    return dataclasses.replace(scenario.load(path), ops=ops, duration=None)


def _run(sc, seed, strategy, path=None):
    res = machine.run(sc, seed, sched=scheduling.options_for(strategy, sc))
    if path:
        recording.save(res, path)
    return res


def _kinds(res):
    return {v["kind"] for v in res.violations} | {f["kind"] for f in res.failures}


def _caught(res, kind):
    return res.exit_code == 1 and (kind in _kinds(res) if kind else bool(_kinds(res) or res.invariants))


def _find(name):
    strategy, ops, seeds, kind = RACES[name]
    sc = _scenario(name, ops)
    for seed in range(seeds):
        res = _run(sc, seed, strategy)
        if _caught(res, kind):
            return sc, seed, res
    pytest.fail(f"{strategy} did not find {name} in {seeds} seeds")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RACES))
def test_planted_race_found_and_its_command_reproduces_it_10_of_10(name):
    strategy, _, _, kind = RACES[name]
    sc, seed, first = _find(name)
    command = report.reproduce_command(first)
    assert f"--seed {seed}" in command and f"--sched {strategy}" in command
    assert f"--ops {sc.ops}" in command
    for _ in range(10):
        again = _run(sc, seed, strategy)
        assert again.sched["hash"] == first.sched["hash"]
        assert _kinds(again) == _kinds(first) and again.exit_code == first.exit_code


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lock_abba", "percpu_irq_race"])
def test_minimize_shrinks_a_planted_race_and_keeps_its_site(name, tmp_path):
    sc, seed, _ = _find(name)
    src = tmp_path / "bug.mmtrace"
    first = _run(sc, seed, RACES[name][0], str(src))
    out = tmp_path / "min.mmtrace"
    proc = subprocess.run([sys.executable, "-m", "harness", "minimize", str(src), "-o", str(out),
                           "--budget", "16"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "before:" in proc.stdout and "after:" in proc.stdout and "reproduce: mmstress replay" in proc.stdout
    small = Trace.load(str(out))
    assert small.header["violation"]["kind"] == recording.violation_key(first)["kind"]
    assert small.header["violation"]["site"] == recording.violation_key(first)["site"]
    assert small.header["violation_step"] <= first.sched["violation_step"]
    rep = subprocess.run([sys.executable, "-m", "harness", "replay", str(out), "--check", "--quiet"],
                         capture_output=True, text=True, cwd=ROOT)
    assert rep.returncode == 0, rep.stdout + rep.stderr


@pytest.mark.parametrize("name", ["lock_abba", "percpu_irq_race", "double_free_cross_cpu"])
def test_free_run_that_caught_a_race_replays_it(name, tmp_path):
    _, ops, seeds, kind = RACES[name]
    sc = _scenario(name, ops)
    for seed in range(seeds):
        path = str(tmp_path / f"free{seed}.mmtrace")
        res = _run(sc, seed, "free", path)
        if _caught(res, kind):
            break
    else:
        pytest.fail(f"free runs never caught {name}")
    proc = subprocess.run([sys.executable, "-m", "harness", "replay", path, "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "reproduced" in proc.stdout and (kind or "") in proc.stdout


@pytest.mark.parametrize("name", ["smoke", "larson"])
def test_serialised_runs_are_deterministic(name):
    sc = dataclasses.replace(scenario.resolve(name), ops=60, duration=None)
    for strategy in ("random", "pct"):
        a, b = _run(sc, 7, strategy), _run(sc, 7, strategy)
        assert a.exit_code == 0 and a.sched["hash"] == b.sched["hash"] and a.steps == b.steps


def test_free_runs_replay_step_for_step(tmp_path):
    sc = dataclasses.replace(scenario.resolve("larson"), ops=150, duration=None)
    path = str(tmp_path / "larson.mmtrace")
    rec = _run(sc, 3, "free", path)
    assert rec.exit_code == 0 and not rec.sched["truncated"]
    trace, rsc, opts = recording.load_for_replay(path)
    rep = machine.run(rsc, 3, sched=opts)
    assert rep.steps == rec.steps and rep.sched["hash"] == rec.sched["hash"]


def test_check_determinism_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "smoke", "--seed", "2", "--ops", "40",
                           "--sched", "pct", "--check-determinism"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "deterministic" in proc.stdout and "trace hash" in proc.stdout


def test_a_tampered_trace_is_not_replayable_and_says_where(tmp_path):
    sc = dataclasses.replace(scenario.resolve("smoke"), ops=30, duration=None)
    path = str(tmp_path / "s.mmtrace")
    _run(sc, 1, "random", path)
    t = Trace.load(path)
    cpu, kind = t.steps[40]
    t.steps[40] = (1 - cpu, kind)
    t.save(path)
    proc = subprocess.run([sys.executable, "-m", "harness", "replay", path, "--check", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 3
    assert "not replayable" in proc.stdout and "step 41" in proc.stdout


def test_trace_of_a_changed_scenario_is_refused(tmp_path):
    src = tmp_path / "tiny.toml"
    src.write_text('cpus = 2\nops = 20\n[process]\nops = [ { op = "alloc_pages" } ]\n')
    path = str(tmp_path / "t.mmtrace")
    sc = scenario.load(str(src))
    _run(sc, 1, "random", path)
    src.write_text('cpus = 2\nops = 21\n[process]\nops = [ { op = "alloc_pages" } ]\n')
    proc = subprocess.run([sys.executable, "-m", "harness", "replay", path],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "another version of" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "junk.mmtrace"
    bad.write_bytes(b"not a trace\n")
    proc = subprocess.run([sys.executable, "-m", "harness", "replay", str(bad)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "not an mmstress trace" in proc.stderr
