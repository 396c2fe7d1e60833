"""[memory] nodes, cpus_per_node and distance in a scenario: parsing, clear errors
naming the key, and the per-node numastat in the report of a two-node run."""

import dataclasses

import pytest

from harness import scenario
from harness.outputs import report, schemas
from harness.scenario import ScenarioError
from harness.supervisor import machine

BASE = """
cpus = 4
ops = 40
[allocator]
slab = "slub"
[process]
ops = [ { op = "alloc_pages", order = "0..1" }, { op = "kmalloc", size = "8..512" } ]
"""


def _parse(memory):
    return scenario.parse(BASE + "[memory]\n" + memory, "t.toml", "t")


def test_numa_keys_default_to_one_node():
    sc = _parse("")
    assert (sc.nodes, sc.cpus_per_node, sc.distance) == (1, None, None)
    sc = _parse('nodes = ["16M", "48M"]\ncpus_per_node = [1, 3]\ndistance = [[10, 21], [21, 10]]\n')
    assert sc.nodes == [16 << 20, 48 << 20] and sc.cpus_per_node == [1, 3]
    assert sc.distance == [[10, 21], [21, 10]]


@pytest.mark.parametrize("memory, key, words", [
    ("nodes = 9\n", "memory.nodes", "between 1 and 8"),
    ("nodes = true\n", "memory.nodes", "node count"),
    ('nodes = ["16M", "16M"]\n', "memory.nodes", "add up to"),
    ('nodes = ["16M", "lots"]\n', "memory.nodes[1]", "not a size"),
    ("nodes = 2\ncpus_per_node = [1, 1]\n", "memory.cpus_per_node", "adds up to 2"),
    ("nodes = 2\ndistance = [[10, 20]]\n", "memory.distance", "2 x 2"),
    ("nodes = 2\ndistance = [[10, 10], [20, 10]]\n", "memory.distance", "above 10"),
])
def test_bad_numa_keys_name_the_key(memory, key, words):
    with pytest.raises(ScenarioError) as exc:
        _parse(memory)
    text = str(exc.value)
    assert text.startswith("t.toml:") and f"{key}:" in text and words in text


def test_two_node_run_reports_numastat_per_node():
    sc = _parse("nodes = 2\n")
    result = machine.run(sc, 1)
    run = report.run_dict(result)
    assert run["violations"] == [] and run["invariants"] == []
    numa = run["memory"]["numa"]
    assert [n["node"] for n in numa] == [0, 1] and [n["cpus"] for n in numa] == [[0, 1], [2, 3]]
    for n in numa:                        # plenty of memory: every allocation is local
        st = n["numastat"]
        assert st["numa_hit"] > 0 and st["numa_miss"] == st["numa_foreign"] == 0
        assert st["local_node"] == st["numa_hit"] and st["other_node"] == 0
    schemas.validate(report.document([result], "run", 1, 0))
    assert "node 1 (CPUs 2,3): numa_hit" in report.summary(run)


def test_one_node_run_has_no_numa_section():
    run = report.run_dict(machine.run(dataclasses.replace(_parse(""), ops=10), 1))
    assert "numa" not in run["memory"]


def test_numa_lint_is_off_unless_named():
    assert "numa" not in _parse("nodes = 2\n").checkers
    named = scenario.parse('checkers = ["memory", "numa"]\n' + BASE + "[memory]\nnodes = 2\n",
                           "t.toml", "t")
    assert list(named.checkers) == ["memory", "numa"]


def _kinds(name, **over):
    sc = dataclasses.replace(scenario.resolve(name), **over)
    run = report.run_dict(machine.run(sc, 1))
    return run, sorted({v["kind"] for v in run["violations"]})


def test_node_locality_bug_is_reported_and_its_twin_is_silent():
    run, kinds = _kinds("bugs/numa_local_fallback")
    assert kinds == ["numa-remote-alloc"]
    v = run["violations"][0]
    assert v["details"]["node"] == 1 and v["details"]["got_node"] == 0 and v["cpu"] == 1
    assert run["memory"]["numa"][1]["numastat"]["numa_foreign"] > 0
    run, kinds = _kinds("bugs/numa_local_fallback_ok")
    assert kinds == [] and run["invariants"] == []
    assert all(n["numastat"]["numa_miss"] == 0 for n in run["memory"]["numa"])


def test_the_same_fallback_without_the_lint_is_not_reported():
    sc = scenario.resolve("bugs/numa_local_fallback")
    sc = dataclasses.replace(sc, checkers=type(sc.checkers)([c for c in sc.checkers if c != "numa"]))
    run = report.run_dict(machine.run(sc, 1))
    assert run["violations"] == []
    assert run["memory"]["numa"][0]["numastat"]["numa_miss"] > 0     # it did fall back


def test_library_two_node_scenario_allocates_locally():
    run, kinds = _kinds("numa-two-nodes", ops=300, duration=None)
    assert kinds == [] and run["invariants"] == []
    for n in run["memory"]["numa"]:
        st = n["numastat"]
        assert st["numa_hit"] > 0 and st["other_node"] == 0 and st["local_node"] == st["numa_hit"]


@pytest.mark.parametrize("kind", ["slab", "sheaves"])
def test_the_numa_lint_and_numastat_work_with_every_slab_allocator(kind):
    run, kinds = _kinds("bugs/numa_local_fallback", slab=kind)
    assert kinds == ["numa-remote-alloc"]
    run, kinds = _kinds("bugs/numa_local_fallback_ok", slab=kind)
    assert kinds == [] and run["invariants"] == []
    run, kinds = _kinds("numa-two-nodes", ops=300, duration=None, slab=kind)
    assert kinds == [] and run["invariants"] == [] and run["allocator"] == kind
    for n in run["memory"]["numa"]:
        st = n["numastat"]
        assert st["numa_hit"] > 0 and st["numa_miss"] == 0 and st["other_node"] == 0
