"""[tlb] in a scenario: parsing, the per-CPU counters in the report, and the library
scenario that shows the TLB cost of vmalloc against kmalloc."""

import dataclasses
import json

import jsonschema
import pytest

from harness import scenario
from harness.outputs import report
from harness.scenario import ScenarioError
from harness.supervisor import machine
from kernel_model import tlb

BASE = """
cpus = 2
ops = 10
[allocator]
slab = "slub"
[process]
ops = [ { op = "kmalloc", size = "8..64" } ]
"""


def _parse(extra, arch=None):
    text = BASE + (f'[memory]\narch = "{arch}"\n' if arch else "") + extra
    return scenario.parse(text, "t.toml", "t")


def test_tlb_table_turns_it_on_with_the_arch_defaults():
    assert _parse("").tlb is None
    assert _parse("[tlb]\n").tlb == tlb.ARCH_DEFAULTS["x86_64"]
    assert _parse("[tlb]\n", arch="x86_32").tlb.large_page == 4 << 20
    got = _parse('[tlb]\nentries = 16\nlarge_entries = 4\nlarge_page = "1G"\n').tlb
    assert (got.entries, got.large_entries, got.large_page) == (16, 4, 1 << 30)
    assert _parse("[tlb]\nenabled = false\nentries = 16\n").tlb is None


@pytest.mark.parametrize("extra, key", [
    ("[tlb]\nentries = 0\n", "entries"),
    ("[tlb]\nlarge_entries = 1.5\n", "large_entries"),
    ('[tlb]\nlarge_page = "3M"\n', "large_page"),
    ("[tlb]\nways = 4\n", "ways"),
    ("tlb = 64\n", "tlb"),
])
def test_bad_tlb_keys_name_the_key(extra, key):
    with pytest.raises(ScenarioError) as exc:
        _parse(extra)
    assert "t.toml" in str(exc.value) and key in str(exc.value)


@pytest.fixture(scope="module")
def tlb_run():
    sc = dataclasses.replace(scenario.resolve("tlb_vmalloc_vs_kmalloc"), ops=30, duration=None)
    return report.run_dict(machine.run(sc, 1))


def test_vmalloc_misses_far_above_kmalloc_misses(tlb_run):
    """The scenario's point: CPU 0 walks a kmalloc buffer (2 MiB direct-map pages), CPU 1
    a vmalloc buffer of the same size (4 KiB pages) with the same walk."""
    assert tlb_run["exit_code"] == 0, (tlb_run["violations"][:2], tlb_run["failures"][:2])
    kmalloc_cpu, vmalloc_cpu = tlb_run["tlb"]["by_cpu"]
    assert vmalloc_cpu["misses"] > 10 * max(kmalloc_cpu["misses"], 1)
    assert vmalloc_cpu["small_misses"] == vmalloc_cpu["misses"]
    assert kmalloc_cpu["small_misses"] == 0
    assert tlb_run["tlb"]["misses"] == kmalloc_cpu["misses"] + vmalloc_cpu["misses"]
    text = report.summary(tlb_run)
    assert "tlb: " in text and "  CPU 1: " in text


def test_tlb_counters_are_valid_json_schema(tlb_run):
    doc = report.document([], "mmstress run", 1, 0)
    doc["runs"] = [tlb_run]
    with open(report.SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.validate(json.loads(json.dumps(doc, default=str)), schema)


def test_without_tlb_nothing_is_counted_or_printed():
    sc = _parse("")
    doc = report.run_dict(machine.run(sc, 1))
    assert doc["exit_code"] == 0 and doc["tlb"] is None
    assert "tlb:" not in report.summary(doc)
