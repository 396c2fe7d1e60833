"""Many runs in one process (explore, bench races, the pytest plugin) hold nothing of a
finished run: no arena mapping kept alive by a view, no descriptor left open.  A leak of
one descriptor per run ended `mmstress bench races --seeds 20` at about the thousandth
run with select()'s "filedescriptor out of range"."""

import dataclasses
import gc
import os

from harness import scenario
from harness.supervisor import machine
from kernel_model import arena


def test_runs_in_one_process_leave_no_mapping_and_no_descriptor():
    for name in ("bugs/race_refcount", "smoke"):
        sc = dataclasses.replace(scenario.resolve(name), ops=3, duration=None)
        machine.run(sc, 0)                     # first-use caches (imports, loggers) settle
        gc.collect()
        fds, kept = len(os.listdir("/proc/self/fd")), len(arena._kept_mappings)
        for seed in range(1, 4):
            machine.run(sc, seed)
        gc.collect()
        assert len(arena._kept_mappings) == kept, name
        assert len(os.listdir("/proc/self/fd")) == fds, name
