"""A user's own workload, next to their own scenario, run from another folder:
the bug is reported at their file:line, the fixed twin runs clean."""

import os
import subprocess
import sys

from harness.scenario.workload import ROOT

BUGGY = '''\
from kernel_model.gfp import GFP_KERNEL
from mydrv_sizes import SIZE


def process(k):
    obj = k.kmalloc(SIZE, GFP_KERNEL)
    k.kfree(obj)
    k.kfree(obj)
'''
FIXED = BUGGY.replace("    k.kfree(obj)\n    k.kfree(obj)\n", "    k.kfree(obj)\n")
TOML = 'cpus = 2\nops = 50\nworkload = "drivers/mydrv.py"\n[allocator]\nslab = "slub"\n'


def _run(toml, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = ROOT                  # mmstress itself, as installed; not the user's folder
    return subprocess.run([sys.executable, "-m", "harness", "run", str(toml), "--seed", "3"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_users_double_free_is_reported_at_their_line_and_the_fix_runs_clean(tmp_path):
    user, cwd = tmp_path / "proj", tmp_path / "ci"
    (user / "drivers").mkdir(parents=True)
    cwd.mkdir()
    (user / "drivers" / "mydrv_sizes.py").write_text("SIZE = 96\n")
    (user / "drivers" / "mydrv.py").write_text(BUGGY)
    (user / "my.toml").write_text(TOML)
    proc = _run(user / "my.toml", cwd)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "BUG: KASAN: double-free" in proc.stdout
    assert "mydrv.py:8" in proc.stdout               # the second kfree
    assert proc.stdout.count("BUG: KASAN: double-free") == 1
    assert f"reproduce: mmstress run {user / 'my.toml'} --seed 3" in proc.stdout

    (user / "drivers" / "mydrv.py").write_text(FIXED)
    proc = _run(user / "my.toml", cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BUG:" not in proc.stdout
