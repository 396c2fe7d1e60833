"""Samples over time in real runs (harness/runtime/samples.py): a serialised run's samples
are the same for the same seed, a free-running run's follow wall time, and ``explore --html``
draws the failing execution.  Nothing here asserts timing."""

import dataclasses
import os
import re
import subprocess
import sys

from harness import scenario
from harness.outputs import report
from harness.runtime import samples
from harness.scheduler import options as scheduling
from harness.supervisor import machine

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def smoke(**over):
    return dataclasses.replace(scenario.resolve("smoke"), **over)


def test_a_serialised_run_samples_every_k_steps_the_same_for_the_same_seed():
    sc = smoke(ops=120, duration=None)
    runs = [machine.run(sc, 5, sched=scheduling.options_for("random", sc)) for _ in range(2)]
    a, b = (report.run_dict(r)["samples"] for r in runs)
    assert a == b
    assert a["clock"] == "step" and a["t"][0] == 0
    assert a["t"][-1] == runs[0].sched["steps"]                   # the last one: the end of the run
    assert all(t % samples.INTERVAL_STEPS == 0 for t in a["t"][1:-1])
    assert len(a["t"]) >= 3
    assert any(c["alloc_fastpath"][-1] for c in a["caches"])      # smoke allocates from slab caches


def test_a_free_running_run_samples_wall_time_and_every_cpu():
    sc = smoke(duration=0.4, ops=None, cpus=2)
    res = machine.run(sc, 1)
    s = report.run_dict(res)["samples"]
    assert s["clock"] == "ms" and s["t"][0] == 0 and s["t"] == sorted(s["t"])
    assert len(s["t"]) >= 3
    assert [c["cpu"] for c in s["cpus"]] == [0, 1]
    assert all(c["calls"]["process"][-1] > 0 for c in s["cpus"])   # both CPUs did work
    assert len(s["t"]) <= samples.CAPACITY


def test_explore_html_draws_the_failing_execution(tmp_path):
    page = tmp_path / "found.html"
    env = dict(os.environ, PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-m", "harness", "explore", "bugs/lock_abba", "--strategy",
                          "random", "--runs", "20", "--ops", "100", "--html", str(page)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    text = page.read_text()
    plots = set(re.findall(r'data-plot="([^"]+)"', text))
    assert {"timeline", "lock-contention", "cpu-activity"} <= plots
    assert "possible circular locking dependency" in text or "deadlock" in text
