"""A user's own workload, next to their own scenario, run from another folder:
the bug is reported at their file:line, the fixed twin runs clean."""

import os
import shutil
import subprocess
import sys

import pytest

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
TOML = 'cpus = 2\nops = 50\nworkload = "drivers/mydrv.py"\n'     # slab: the kernel's default, slub


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


COUNTER = '''\
"""A statistics counter in a shared object, bumped without its lock."""
from kernel_model.gfp import GFP_KERNEL

obj = None


def setup(k):
    global obj
    if k.cpu == 0:
        obj = k.kzalloc(64, GFP_KERNEL)
        k.this_cpu_write("stats", obj)          # a pointer in a per-CPU variable
    else:
        while not k.per_cpu("stats", 0):
            k.cpu_relax()
        obj = k.per_cpu("stats", 0)


def process(k):
    n = int.from_bytes(k.read(obj, 8), "little")
    k.write(obj, (n + 1).to_bytes(8, "little"))


def teardown(k):
    if k.cpu == 0:
        k.kfree(obj)
'''
COUNTER_OK = COUNTER.replace('''    n = int.from_bytes(k.read(obj, 8), "little")
    k.write(obj, (n + 1).to_bytes(8, "little"))''', "    k.atomic_inc(obj)")


def _mmstress(args, cwd):
    """The installed console script when there is one (its own frame must not show in
    a report), else ``python -m harness``."""
    exe = shutil.which("mmstress")
    cmd = [exe] if exe else [sys.executable, "-m", "harness"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(cmd + args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.parametrize("sched", ["random"])
def test_a_users_racy_counter_is_one_kcsan_report_at_their_lines_and_atomic_inc_is_clean(
        tmp_path, sched):
    for name, text in (("counter", COUNTER), ("counter_ok", COUNTER_OK)):
        (tmp_path / f"{name}.py").write_text(text)
        (tmp_path / f"{name}.toml").write_text(
            f'cpus = 2\nops = 300\nworkload = "{name}.py"\n[allocator]\nslab = "slub"\n')
    proc = _mmstress(["run", "counter.toml", "--seed", "1", "--sched", sched], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.count("BUG: KCSAN: data-race in process / process") == 1
    report = proc.stdout.split("BUG: KCSAN", 1)[1].split("value changed", 1)[0]
    frames = [ln.strip() for ln in report.splitlines() if ln.startswith(" ")]
    assert frames and all(f.startswith("process (counter.py:") for f in frames), frames
    proc = _mmstress(["run", "counter_ok.toml", "--seed", "1", "--sched", sched], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


HANG = '''\
def setup(k):
    if k.cpu == 0:
        raise RuntimeError("probe failed")
    while not k.per_cpu("ready", 0):       # waits for a CPU whose setup failed
        k.cpu_relax()


def process(k):
    pass
'''


@pytest.mark.slow
@pytest.mark.parametrize("sched", ["none", "random"])
def test_a_wait_for_a_cpu_whose_setup_failed_ends_as_a_report_not_a_hang(tmp_path, sched):
    """Free-running, the waiting CPU is a soft lockup; under a schedule the engine sees
    at once that nobody else can run: a busy-wait deadlock at the workload's line."""
    (tmp_path / "hang.py").write_text(HANG)
    (tmp_path / "hang.toml").write_text('cpus = 2\nops = 50\nworkload = "hang.py"\n'
                                        '[watchdog]\nthresh = "1s"\n')
    proc = _mmstress(["run", "hang.toml", "--seed", "1", "--sched", sched], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    if sched == "none":
        assert "watchdog: BUG: soft lockup - CPU#1 stuck" in proc.stdout
    else:
        assert ("BUG: deadlock: CPU1 busy-waits in cpu_relax() while every other CPU has "
                "finished") in proc.stdout
        assert "busy-waits in cpu_relax() at hang.py:5 (setup)" in proc.stdout
    assert "RuntimeError: probe failed at hang.py:3 (setup)" in proc.stdout


WRITE_AFTER_FREE = '''\
from kernel_model.gfp import GFP_KERNEL


def process(k):
    o = k.kmalloc(64, GFP_KERNEL)
    k.kfree(o)
    k.write(o, b"y")                  # BUG: the object is freed; the next kmalloc gets it back
'''
WRONG_ORDER = '''\
from kernel_model.gfp import GFP_KERNEL


def process(k):
    p = k.alloc_pages(GFP_KERNEL, 2)
    if p is not None:
        k.__free_pages(p, 1)          # BUG: not the order it was allocated with
'''


@pytest.mark.parametrize("text,title,never", [
    (WRITE_AFTER_FREE, "BUG: KASAN: slab-use-after-free in process", ("Poison overwritten",)),
    (WRONG_ORDER, "BUG: Bad page state in process", ("allocator state corrupt",)),
], ids=["uaf-write-is-not-done", "bad-free-is-leaked"])
def test_a_bugs_damage_is_not_reported_again(tmp_path, text, title, never):
    """KASAN's report of a bad write is the bug's one report: the write is not done,
    so SLUB's poison check does not report its damage later; a page freed with the
    wrong order is leaked as the kernel leaks a bad page, so the free lists stay whole."""
    (tmp_path / "w.py").write_text(text)
    (tmp_path / "w.toml").write_text('cpus = 2\nops = 200\nworkload = "w.py"\n'
                                     '[allocator]\nslab = "slub"\n')
    proc = _mmstress(["run", "w.toml", "--seed", "2", "--sched", "random"], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.count(title) == 1, proc.stdout
    for text in never:
        assert text not in proc.stdout, proc.stdout
