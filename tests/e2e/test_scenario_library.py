"""The scenario library: every scenario parses, has a description, and runs clean
(all checkers on) for one seed; the fault-injection and fragmentation numbers reach
the report; planted-bug scenarios are listed as bugs/NAME."""

import dataclasses
import os

import pytest

from harness.supervisor import machine
from harness.outputs import report
from harness import scenario
from harness import checkers

LIBRARY = sorted(f[:-5] for f in os.listdir(scenario.SCENARIO_DIR) if f.endswith(".toml"))
SHORT = 0.6


def run(name, seed=1, duration=SHORT):
    sc = dataclasses.replace(scenario.resolve(name), duration=duration, ops=None)
    return report.run_dict(machine.run(sc, seed))


def sums(doc):
    return {k: sum(v) for k, v in doc["percpu"].items()}


def test_library_has_the_issue_scenarios():
    want = {"random-churn", "larson-bleed", "producer-consumer", "cross-rate", "cache-scratch",
            "cache-thrash", "free-order", "fragment-then-high-order", "irq-storm",
            "memory-pressure", "isa-dma", "highmem-32bit", "vmalloc-churn", "slab-churn",
            "fault-injection"}
    assert want <= set(LIBRARY)


@pytest.mark.parametrize("name", LIBRARY)
def test_scenario_parses_with_a_description(name):
    sc = scenario.resolve(name)
    assert sc.description and "\n" not in sc.description
    # every checker but the lints (harness.checkers.LINTS: on only when a scenario names them)
    want = set(checkers.DEFAULT) | (set(checkers.LINTS) & set(sc.checkers))
    assert set(sc.checkers) == want or name in ("pages_irq_storm",)


@pytest.mark.parametrize("name", [n for n in LIBRARY if n not in ("fault-injection",
                                                                   "fragment-then-high-order")])
def test_scenario_runs_clean(name):
    doc = run(name)
    assert doc["exit_code"] == 0, (doc["violations"][:2], doc["failures"][:2], doc["invariants"][:3])
    assert doc["ops"]["total"] > 0


def test_fault_injection_injects_handles_and_leaks_nothing():
    doc = run("fault-injection", duration=1.0)
    assert doc["exit_code"] == 0, (doc["violations"][:2], doc["failures"][:2])
    s = sums(doc)
    assert s["failslab_injected"] + s["fail_page_alloc_injected"] > 0
    assert s["fi_null"] > 0                          # the workload saw NULLs and handled them
    assert s["fi_null"] <= s["failslab_injected"] + s["fail_page_alloc_injected"]
    assert s["fi_alloc"] == s["fi_free"] > 0         # nothing leaked
    assert s["fi_nofail"] > 0                        # NOFAIL calls happened and none was NULL


def test_fragment_then_high_order_reports_index_and_success_ratio():
    sc = dataclasses.replace(scenario.resolve("fragment-then-high-order"), duration=None, ops=300)
    doc = report.run_dict(machine.run(sc, 1))     # ops, not time: CPU 0 tries 300 times after setup
    assert doc["exit_code"] == 0, (doc["violations"][:2], doc["failures"][:2])
    s = sums(doc)
    for order in range(1, 6):
        assert -1000 <= s[f"extfrag_o{order}"] <= 1000
        assert 0 <= s[f"high_o{order}_ok"] <= s[f"high_o{order}_tries"]
    assert s["high_o1_tries"] > 0 and s["checkerboard_pages"] > 0
    # a checkerboard of single pages: every order fails for fragmentation, more so as it grows
    assert 0 < s["extfrag_o1"] < s["extfrag_o3"] < s["extfrag_o5"]


def test_bugs_are_listed_and_resolved(tmp_path, monkeypatch):
    bugs = tmp_path / "bugs"
    bugs.mkdir()
    (bugs / "planted_thing.toml").write_text(
        'description = "a planted bug"\nexpect = ["invariant"]\n'
        '[process]\nops = [ { op = "alloc_pages" } ]\n')
    monkeypatch.setattr(scenario.library, "BUGS_DIR", str(bugs))
    rows = dict(scenario.available())
    assert rows["bugs/planted_thing"] == "a planted bug"
    assert "random-churn" in rows and "smoke" in rows
    assert scenario.resolve("bugs/planted_thing").name == "planted_thing"
    with pytest.raises(scenario.ScenarioError, match="no scenario called"):
        scenario.resolve("bugs/no-such-bug")
