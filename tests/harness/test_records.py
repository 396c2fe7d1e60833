"""Violations as data: the record, its key, the sink and the machine's merge, the renderers.

The checkers make records (harness/checkers/record.py); nothing here parses
a rendered string back: the tests read fields, and look at the text only to
see that the renderer words the fields the way the kernel does.
"""

import json
import os

import jsonschema
import pytest

from kernel_model import context

from harness import scenario
from harness.checkers import record
from harness.checkers.base import Checker, ViolationSink
from harness.checkers.record import MAX_OBJECTS, Violation
from harness.outputs import merge, report, text
from harness.outputs.junit import junit_xml
from harness.supervisor import machine

BUGS = os.path.join(scenario.SCENARIO_DIR, "bugs")


def rec(kind="double-free", site="w.py:3 (f)", cpu=0, **kw):
    return Violation(kind=kind, cpu=cpu, context="process", site=site, frames=[site], **kw)


# --- the record and its key ------------------------------------------------------------------
def test_the_key_is_kind_and_site_without_addresses_or_pfns():
    a = rec(site="w.py:3 (f)", objects=[{"address": 0x1000}])
    b = rec(site="w.py:3 (f)", objects=[{"address": 0x2000}], cpu=1)
    assert a.key() == b.key() == ("double-free", "w.py:3 (f)")
    assert record.normalise("vmalloc 0xffffc90000001000 pfn:01a2b") == "vmalloc ADDR ADDR"
    assert rec(site="w.py:4 (f)").key() != a.key()          # another line: another bug
    assert rec(key_site="object allocated at w.py:1 (g)").key() == \
        rec(site="w.py:9 (h)", key_site="object allocated at w.py:1 (g)").key()


def test_the_sink_counts_repeats_and_caps_the_objects_it_keeps():
    sink = ViolationSink()
    sent = []
    sink.listeners.append(sent.append)
    for pfn in range(200):
        sink.add(rec(kind="bad-page", objects=[{"pfn": 0x1000 + 2 * pfn}]))
    (v,) = sink.violations
    assert len(sent) == 1                                     # sent once, when first seen
    assert v.count == 200 and len(v.objects) == MAX_OBJECTS
    assert v.objects_dropped == 200 - MAX_OBJECTS
    (r,) = sink.repeats()
    assert r["count"] == 200 and r["key"] == list(v.key()) and r["objects_dropped"] == 196


def test_the_machine_sums_each_key_over_cpus_and_keeps_per_cpu_counts():
    merged = []
    for cpu, count in ((0, 68), (1, 70)):
        first = rec(kind="sleep-in-atomic", cpu=cpu).to_dict()
        merge.add(merged, dict(first, t="violation"))
    (v,) = merged
    assert v["count"] == 2 and [s["cpu"] for s in v["seen"]] == [0, 1]
    merge.add_repeats(merged, 0, [{"key": ["sleep-in-atomic", "w.py:3 (f)"], "count": 68,
                                   "objects": [], "objects_dropped": 0}])
    merge.add_repeats(merged, 1, [{"key": ["sleep-in-atomic", "w.py:3 (f)"], "count": 70,
                                   "objects": [], "objects_dropped": 0}])
    assert v["count"] == 138 and {s["cpu"]: s["count"] for s in v["seen"]} == {0: 68, 1: 70}
    assert v["title"].startswith("BUG: sleeping function called from invalid context at w.py:3")
    assert "seen 138 times: CPU 0 process: 68, CPU 1 process: 70" in text.render(v)


def test_the_old_emit_api_still_makes_a_record():
    class OldStyle(Checker):
        name = "old"

    sink = ViolationSink()
    v = OldStyle(sink).emit("invariant", "BUG: my own words\nsecond line", site="(end of run)")
    assert v.kind == "invariant" and v.site == "(end of run)" and v.text.startswith("BUG: my own")
    d = v.to_dict()
    assert text.title(d) == "BUG: my own words"
    assert text.render(d).startswith("BUG: my own words\nsecond line")


def test_a_new_style_record_renders_its_fields_as_the_kernel_words_them():
    sink = ViolationSink()
    sink.held_locks = lambda: [{"name": "dev_lock", "site": "w.py:2 (f)"}]
    v = Checker(sink).violation("sleep-in-atomic", site="w.py:3 (f)", frames=["w.py:3 (f)", "w.py:9 (g)"],
                                function="slab_alloc_node",
                                details={"where": "mm/slub.c:slab_alloc_node", "preempt_count": 1,
                                         "irqs_disabled": False, "gfp": "GFP_KERNEL",
                                         "advice": "allocate before taking the lock"})
    out = v.splat.splitlines()
    assert out[0] == "BUG: sleeping function called from invalid context at w.py:3 (f)"
    assert "1 lock held by swapper/0:" in out and " #0: (dev_lock), at: w.py:2 (f)" in out
    i = out.index("Call Trace:")
    assert out[i - 1].startswith(f"CPU: {context.this_cpu.id} PID: ")
    assert out[i + 1:i + 5] == [" <TASK>", " w.py:3 (f)", " w.py:9 (g)", " </TASK>"]
    assert out[-1] == "(mmstress explain sleep-in-atomic)"


def test_a_record_its_words_cannot_render_still_prints_its_fields():
    v = rec(kind="out-of-bounds", details={"size": 4, "write": True},
            objects=[{"address": 1, "object": "not an address", "size": 3}])
    out = text.render(v.to_dict())
    assert out.startswith("BUG: out-of-bounds at w.py:3 (f)") and "'not an address'" in out
    assert "Call Trace:" in out and "(mmstress explain out-of-bounds)" in out


# --- sites in op-mix scenarios ---------------------------------------------------------------
def test_an_op_entry_runs_at_its_toml_line():
    toml = os.path.join(BUGS, "sleep_hardirq_kmalloc.toml")
    sc = scenario.resolve(toml)
    lines = open(toml).read().splitlines()
    spec = sc.mixes["hardirq"].specs[0]
    code = spec.call.__code__
    assert code.co_filename == toml and code.co_name == "[hardirq] kmalloc"
    assert "GFP_KERNEL" in lines[code.co_firstlineno - 1]
    assert lines[code.co_firstlineno - 2].strip() == "[hardirq]"
    assert spec.site == f"scenarios/bugs/sleep_hardirq_kmalloc.toml:{code.co_firstlineno} ([hardirq] kmalloc)"
    assert spec.call(lambda a, b: a + b, 2, 3) == 5
    free = spec.free_call.__code__
    assert lines[free.co_firstlineno - 1].strip() == "[hardirq]" and free.co_name == "[hardirq] free"
    frame_site = spec.call(record.capture)
    assert frame_site[0] == spec.site                       # what a checker sees below the call


# --- whole runs: JSON (run schema), text, JUnit ------------------------------------------------
@pytest.fixture(scope="module")
def sleeping_run():
    sc = scenario.resolve(os.path.join(BUGS, "sleep_spinlock_kmalloc.toml"))
    return report.run_dict(machine.run(sc, 7))


def test_the_json_report_of_a_bug_is_valid_against_the_run_schema(sleeping_run):
    doc = report.document([], "mmstress run", 7, 1)
    doc["runs"] = [sleeping_run]
    with open(report.SCHEMA_PATH) as f:
        schema = json.load(f)
    assert doc["schema_version"] == report.SCHEMA_VERSION and doc["kind"] == "run"
    jsonschema.validate(json.loads(json.dumps(doc, default=str)), schema)
    bad = json.loads(json.dumps(doc, default=str))
    del bad["runs"][0]["violations"][0]["key"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_sleep_in_atomic_under_a_spinlock_names_the_lock_and_the_line(sleeping_run):
    (v,) = sleeping_run["violations"]
    assert v["site"].startswith("scenarios/workloads/bugs/sleep_spinlock_kmalloc.py:")
    assert [h["name"] for h in v["locks_held"]] == ["cache_lock"]
    assert v["locks_held"][0]["site"].startswith("scenarios/workloads/bugs/sleep_spinlock_kmalloc.py:")
    splat = text.render(v)
    assert f"at {v['site']}" in splat.splitlines()[0]
    assert "1 lock held by mmstress/" in splat and "Comm: mmstress/" in splat
    assert "What to do:" in splat and f"seen {v['count']} times" in splat
    summary = report.summary(sleeping_run)
    assert summary.count("BUG: sleeping function called from invalid context") == 1
    xml = junit_xml({"runs": [sleeping_run]})
    assert 'message="BUG: sleeping function called from invalid context at scenarios/' in xml


def test_lockdep_circular_report_lists_the_chain_with_each_edges_site():
    sc = scenario.resolve(os.path.join(BUGS, "lock_abba.toml"))
    run = report.run_dict(machine.run(sc, 3))
    (v,) = [v for v in run["violations"] if v["kind"] == "lock-circular"]
    assert v["lock_chain"] and all(e["site"].startswith("scenarios/workloads/bugs/lock_abba.py:")
                                   for e in v["lock_chain"])
    assert {v["lock_chain"][0]["after"], v["lock_chain"][0]["lock"]} == {"lock_A", "lock_B"}
    assert v["details"]["held_site"] != v["site"]        # held since its own line
    splat = text.render(v)
    assert "the existing dependency chain (in reverse order) is:" in splat
    assert "-> #0 (" in splat and "lock held by" in splat


def test_a_deadlock_the_scheduler_finds_is_the_deadlock_checkers_record():
    from harness.scheduler.options import SchedOptions
    sc = scenario.resolve(os.path.join(BUGS, "lock_abba.toml"))
    run = report.run_dict(machine.run(sc, 1, sched=SchedOptions(strategy="random")))
    (v,) = [v for v in run["violations"] if v["kind"] == "deadlock"]
    splat = text.render(v)
    assert "*** DEADLOCK ***" in splat and "lock_A" in splat and "lock_B" in splat
    assert "lock_abba.py:" in splat                       # where each CPU took and waits


def test_a_checker_that_builds_the_old_dataclass_itself_still_works():
    sink = ViolationSink()
    v = Violation(kind="double-free", title="BUG: KASAN: double-free in my_free", text="BUG: KASAN: "
                  "double-free in my_free\nmy words", cpu=0, context="process", seq=3,
                  site="w.py:3 (f)", sites={"alloc": "CPU 0 process op 1 w.py:1 (g)"})
    assert sink.add(v) is v and v.title == "BUG: KASAN: double-free in my_free"
    assert v.tracks == {"alloc": {"site": "CPU 0 process op 1 w.py:1 (g)"}}
    assert "sites" not in v.to_dict() and text.render(v.to_dict()).startswith(v.text)
