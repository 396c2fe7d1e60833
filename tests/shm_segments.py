"""Which /dev/shm arena segments belong to this test process (a helper module, not a
conftest: two conftest modules share one name on sys.path, so tests import this)."""

import os

from kernel_model.arena import PREFIX

SHM = "/dev/shm"


def own_segments():
    """Arena segments whose owner is this process (this xdist worker)."""
    try:
        names = os.listdir(SHM)
    except OSError:
        return []
    mine = f"{PREFIX}{os.getpid()}_"
    return [n for n in names if n.startswith(mine)]
