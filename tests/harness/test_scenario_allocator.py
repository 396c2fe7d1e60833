"""``[allocator] slab``: the kernel's default ("slub") unless the scenario turns it off, and the
scenario key (not the model's ``boot()`` advice) named when an op needs what is turned off."""

import pytest

from kernel_model import NotBootedWith
from harness import scenario
from harness.runtime.workload_api import error_text
from harness.scenario import ScenarioError

PAGES = """\
ops = 10
[memory]
size = "32M"
{memory}
{allocator}
[process]
ops = [ {{ op = "alloc_pages", order = "0..1" }}, {{ op = "{op}" }} ]
"""


def _load(tmp_path, op="get_zeroed_page", memory="", allocator=""):
    path = tmp_path / "s.toml"
    path.write_text(PAGES.format(op=op, memory=memory, allocator=allocator))
    return scenario.load(str(path))


def _err(tmp_path, **kw):
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, **kw)
    return str(info.value)


def test_slab_defaults_to_slub_for_a_workload_module(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text('workload = "scenarios.workloads.memory_pressure"\n')
    assert scenario.load(str(path)).slab == "slub"


def test_slab_defaults_to_slub_for_a_pages_only_op_mix(tmp_path):
    assert _load(tmp_path).slab == "slub"


def test_slab_none_and_page_data_false_boot_no_slab_allocator(tmp_path):
    assert _load(tmp_path, allocator='[allocator]\nslab = "none"').slab is None
    assert _load(tmp_path, memory="page_data = false").slab is None


def test_an_explicit_slab_on_a_metadata_only_arena_names_both_keys(tmp_path):
    msg = _err(tmp_path, memory="page_data = false", allocator='[allocator]\nslab = "slub"')
    assert "allocator.slab" in msg and "set [memory] page_data = true" in msg


def test_a_slab_op_with_slab_none_names_the_toml_key(tmp_path):
    msg = _err(tmp_path, op="kmalloc", allocator='[allocator]\nslab = "none"')
    assert "s.toml:8: process.ops[1].op: kmalloc needs a slab allocator" in msg
    assert 'set [allocator] slab = "slub"' in msg and "boot(" not in msg


def test_a_slab_op_on_a_metadata_only_arena_names_page_data(tmp_path):
    msg = _err(tmp_path, op="vmalloc", memory="page_data = false")
    assert "vmalloc needs a slab allocator" in msg and "set [memory] page_data = true" in msg


def test_unknown_allocator_lists_none_among_the_choices(tmp_path):
    msg = _err(tmp_path, allocator='[allocator]\nslab = "slob"')
    assert "allocator.slab" in msg and "slub, slab, sheaves, none" in msg


@pytest.mark.parametrize("option, value, advice", [
    ("slab", "slub", 'set [allocator] slab = "slub" in ring.toml'),
    ("page_data", True, "set [memory] page_data = true in ring.toml"),
])
def test_error_text_turns_boot_advice_into_the_scenario_key(option, value, advice):
    exc = NotBootedWith("this model was booted without it", option, value)
    assert "boot(" in str(exc)
    assert error_text(exc, "ring.toml") == f"this model was booted without it: {advice}"


def test_error_text_leaves_other_errors_alone():
    assert error_text(ValueError("boom"), "ring.toml") is None
    assert error_text(NotBootedWith("x", "kasan", True), "ring.toml") is None
