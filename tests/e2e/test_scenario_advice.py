"""A workload op that needs what its scenario turned off says which TOML key to set,
in the scenario's words (``[allocator] slab = "slub"``), not the model's ``boot()`` advice."""

import json

from harness.cli import main
from harness.exits import EXIT_OK, EXIT_VIOLATIONS

WORKLOAD = """
from kernel_model.gfp import GFP_KERNEL
def process(k):
    k.kfree(k.kmalloc(64, GFP_KERNEL))
"""


def _run(tmp_path, monkeypatch, allocator):
    (tmp_path / "wl_advice.py").write_text(WORKLOAD)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "advice.toml"
    path.write_text(f'workload = "wl_advice"\nops = 20\ncpus = 1\n[memory]\nsize = "32M"\n{allocator}')
    out = tmp_path / "r.json"
    code = main(["run", str(path), "--seed", "1", "--quiet", "--json", str(out)])
    return code, json.loads(out.read_text())["runs"][0], str(path)


def test_kmalloc_with_slab_none_names_the_allocator_key(tmp_path, monkeypatch):
    code, run, path = _run(tmp_path, monkeypatch, '[allocator]\nslab = "none"\n')
    assert code == EXIT_VIOLATIONS
    fail = run["failures"][0]
    assert fail["message"].startswith("CPU 0 process: this model was booted without a slab "
                                      f'allocator: set [allocator] slab = "slub" in {path} at ')
    assert "boot(..." not in fail["traceback"] and "wl_advice.py" in fail["traceback"]


def test_the_same_workload_runs_clean_with_the_default_allocator(tmp_path, monkeypatch):
    code, run, _ = _run(tmp_path, monkeypatch, "")
    assert code == EXIT_OK and run["failures"] == [] and run["allocator"] == "slub"
