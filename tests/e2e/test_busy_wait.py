"""cpu_relax() busy-waits under every schedule: a hand-off through a flag runs clean,
two CPUs waiting for each other are a deadlock (not a soft lockup, not a hang)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HANDOFF = '''\
from kernel_model.gfp import GFP_KERNEL


def setup(k):
    if k.cpu == 0:
        obj = k.kzalloc(64, GFP_KERNEL)
        for _ in range(5):
            k.kfree(k.kmalloc(64, GFP_KERNEL))      # work before the flag
        k.this_cpu_write("ready", obj)
    else:
        while not k.per_cpu("ready", 0):
            k.cpu_relax()


def process(k):
    k.atomic_inc(k.per_cpu("ready", 0))


def teardown(k):
    if k.cpu == 0:
        k.kfree(k.per_cpu("ready", 0))
'''

EACH_OTHER = '''\
def setup(k):
    other = 1 - k.cpu
    while not k.per_cpu("ready", other):         # BUG: each waits for the other first
        k.cpu_relax()
    k.this_cpu_write("ready", 1)


def process(k):
    pass
'''


def mmstress(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "harness"] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def write(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(body)
    (tmp_path / f"{name}.toml").write_text(f'cpus = 2\nops = 20\nworkload = "{name}.py"\n'
                                           '[watchdog]\nthresh = "5s"\n')
    return f"{name}.toml"


@pytest.mark.parametrize("sched", ["random", "pct", "pos", "free"])
def test_a_flag_handoff_is_clean_under_every_schedule(tmp_path, sched):
    toml = write(tmp_path, "handoff", HANDOFF)
    for seed in range(3):
        proc = mmstress(["run", toml, "--seed", str(seed), "--sched", sched, "--no-failures"],
                        tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("sched", ["random", "pct", "pos"])
def test_two_cpus_busy_waiting_for_each_other_are_a_deadlock(tmp_path, sched):
    toml = write(tmp_path, "each_other", EACH_OTHER)
    proc = mmstress(["run", toml, "--seed", "1", "--sched", sched, "--no-failures"], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "BUG: deadlock: CPU0 and CPU1 busy-wait for each other" in proc.stdout
    assert proc.stdout.count("busy-waits in cpu_relax() at each_other.py:4 (setup)") == 2
