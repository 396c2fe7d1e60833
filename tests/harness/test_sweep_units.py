"""harness/tools/sweep.py without running a sweep: seed lists, a failing run's text and its grouping."""

import pytest

import xml.etree.ElementTree as ET

from harness.tools import sweep_xdist
from harness.tools.run import RunSettings
from harness.tools.sweep import Sweep, failure_text, junit_xml, parse_seeds, problems


# --- seed lists ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, seeds", [
    ("0-3", [0, 1, 2, 3]),
    ("7", [7]),
    ("1,5,7", [1, 5, 7]),
    ("0-2,1,10,8-9", [0, 1, 2, 10, 8, 9]),     # the order given, no repeats
    (" 3..5 , 9 ", [3, 4, 5, 9]),
])
def test_parse_seeds(spec, seeds):
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec, words", [
    ("", "empty"), ("x", "'x' is not a seed"), ("5-1", "ends before it starts"),
    ("-1", "not a seed"), ("1,,2", "not a seed"), ("0-99999999999", "more than"),
])
def test_parse_seeds_rejects(spec, words):
    with pytest.raises(ValueError) as exc:
        parse_seeds(spec)
    assert words in str(exc.value)
    assert "allowed" in str(exc.value) or "more than" in str(exc.value)


def test_failure_text_and_problems_of_a_run():
    record = {"kind": "double-free", "key": "double-free @ w.py:3 (f)", "site": "w.py:3 (f)",
              "frames": ["w.py:3 (f)"], "cpu": 1, "context": "process", "pid": 7, "comm": "mmstress/1",
              "function": "kfree", "objects": [{"address": 0xffff8880001000}], "count": 2,
              "seen": [{"cpu": 0, "context": "process", "count": 1},
                       {"cpu": 1, "context": "process", "count": 1}]}
    run = {"scenario": "s", "seed": 4, "status": "violations", "elapsed": 0.3,
           "violations": [dict(record, title="BUG: KASAN: double-free in kfree")],
           "failures": [{"kind": "workload-error", "cpu": 0, "context": "process", "site": "w.py:9 (g)",
                         "message": "CPU 0 process: ValueError: no"}],
           "invariants": ["zone DMA32 NR_FREE_PAGES is 3 but 4"],
           "reproduce": "mmstress run s.toml --seed 4 --cpus 2 --duration 300ms"}
    text = failure_text(run)
    assert "BUG: KASAN: double-free in kfree" in text and "seen 2 times" in text
    assert "Call Trace:\n <TASK>\n w.py:3 (f)\n </TASK>" in text
    assert "BUG: allocator state corrupt: zone DMA32" in text
    assert text.endswith("reproduce: mmstress run s.toml --seed 4 --cpus 2 --duration 300ms")
    assert [key for key, _ in problems(run)] == ["double-free @ w.py:3 (f)",
                                                 "invariant @ (end of run)",
                                                 "workload-error @ w.py:9 (g)"]
    assert problems(run)[0][1] == {"kind": "double-free", "title": "BUG: KASAN: double-free in kfree",
                                   "site": "w.py:3 (f)"}


# --- where runs ran (sweeps across machines) -------------------------------------------------------
def _run(seed, status, worker, name="box"):
    return {"scenario": "s", "source": "s.toml", "seed": seed, "status": status,
            "exit_code": {"passed": 0, "violations": 1}[status], "elapsed": 0.1,
            "violations": [], "failures": [], "invariants": [],
            "host": {"name": name, "cpus": 4, "worker": worker},
            "reproduce": f"mmstress run s.toml --seed {seed} --cpus 2 --duration 300ms"}


def test_hosts_count_runs_and_failures_per_worker_and_junit_names_them():
    sw = Sweep([], [], 1, RunSettings())
    sw.results = [_run(0, "passed", "gw0"), _run(1, "violations", "gw1", "other"),
                  _run(2, "passed", "gw1", "other")]
    assert sw.hosts() == [{"worker": "gw0", "name": "box", "cpus": 4, "runs": 1, "failing": 0},
                          {"worker": "gw1", "name": "other", "cpus": 4, "runs": 2, "failing": 1}]
    cases = ET.fromstring(junit_xml({"runs": sw.results, "elapsed": 1})).iter("testcase")
    props = [{p.get("name"): p.get("value") for p in c.iter("property")} for c in cases]
    assert props[1] == {"host": "other", "host_cpus": "4", "worker": "gw1"}


def test_xdist_sweep_payload_and_specs_are_plain_data():
    settings = RunSettings(sched="pct", sched_params={"depth": 3}, sched_seed=5, irq_mask="sigmask",
                           json="x.json")
    assert sweep_xdist.payload({"cpus": 3}, settings) == {
        "over": {"cpus": 3},
        "settings": {"sched": "pct", "sched_params": {"depth": 3}, "sched_seed": 5,
                     "irq_mask": "sigmask"}}          # not the controller's report paths
    assert sweep_xdist._expand("2*popen") == ["popen", "popen"]
    assert sweep_xdist._expand("ssh=me@box//python=python3") == ["ssh=me@box//python=python3"]
    assert sweep_xdist._last_error("x\nINTERNALERROR> ConnectionRefusedError: [Errno 111]\n===\n") \
        == "ConnectionRefusedError: [Errno 111]"


class _Report:
    """What pytest-xdist hands the controller's pytest_runtest_logreport."""

    def __init__(self, nodeid, when, failed, props=(), text=""):
        self.nodeid, self.when, self.failed = nodeid, when, failed
        self.user_properties, self.longreprtext = list(props), text
        self.duration, self.node = 0.5, None


def test_xdist_controller_records_runs_and_a_crashed_worker_once():
    from harness import scenario
    sc = scenario.resolve("smoke")
    sw = sweep_xdist.XdistSweep([("smoke", sc)], [0, 1], "0-1", ["popen"], {}, RunSettings())
    args, ids = sw.pytest_args()
    assert "smoke" in args and ids == {"smoke": ("smoke", sc)} and "--tx=popen" in args
    ctl = sweep_xdist._Controller(sw, ids)
    run = _run(0, "passed", "gw0")
    ctl.pytest_runtest_logreport(_Report("smoke::smoke[seed=0]", "setup", False))     # not yet
    ctl.pytest_runtest_logreport(_Report("smoke::smoke[seed=0]", "call", False,
                                         [(sweep_xdist.RESULT, {"exit_code": 0, "run": run, "log": ""})]))
    ctl.pytest_runtest_logreport(_Report("smoke::smoke[seed=0]", "teardown", False))
    ctl.pytest_runtest_logreport(_Report("smoke::smoke[seed=1]", "???", True,
                                         text="worker 'gw1' crashed while running 'smoke::smoke[seed=1]'"))
    assert sw.counts == {"passed": 1, "violations": 0, "failed": 1, "interrupted": 0}
    crashed = sw.results[1]
    assert crashed["seed"] == 1 and crashed["failures"][0]["kind"] == "harness-error"
    assert "worker 'gw1' crashed" in crashed["failures"][0]["message"]
    assert sw.exit_code() == 3 and not sw.usage_error
