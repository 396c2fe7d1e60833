"""What a killed mmstress leaves behind, found by its owner's pid: arena segments and sweep folders.

A run cleans up after itself on every path it controls (the arena is closed
in ``finally``, a sweep removes its folder).  SIGKILL -- the OOM killer, a
CI runner's ``kill -9`` of the whole group -- leaves no path, so whatever a
process owns carries its pid in its name and is removed by the next process
that sees the owner gone:

    /dev/shm/mmstress_<pid>_<hex>       an arena segment (kernel_model/arena.py);
                                        the next boot (``arena.sweep_stale``) and
                                        ``mmstress clean`` remove it
    $TMPDIR/mmstress-sweep-<pid>-<hex>  a sweep's folder of per-run reports and logs;
                                        the next sweep and ``mmstress clean`` remove it

"Gone" is ``kill(pid, 0)`` failing with ESRCH.  A pid the system has handed
out again looks alive: that leftover stays until the new process ends too,
which errs on the side of never touching a live run's files.
"""

import os
import re
import shutil
import tempfile

from kernel_model.arena import PREFIX as SEGMENT_PREFIX, pid_alive

SHM = "/dev/shm"
SWEEP_PREFIX = "mmstress-sweep-"
_SEGMENT = re.compile(re.escape(SEGMENT_PREFIX) + r"(\d+)_")
_SWEEP = re.compile(re.escape(SWEEP_PREFIX) + r"(\d+)-")


def alive(pid):
    """Is process ``pid`` alive (or at least not known to be gone)?"""
    return pid == os.getpid() or pid_alive(pid)


def _owned(folder, pattern):
    """[(path, owner pid)] of the entries of ``folder`` whose name ``pattern`` matches."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out = []
    for name in names:
        m = pattern.match(name)
        if m:
            out.append((os.path.join(folder, name), int(m.group(1))))
    return out


def stale_segments(shm_dir=None):
    """[(path, owner pid)] of arena segments whose owner is gone."""
    return [(p, pid) for p, pid in _owned(shm_dir or SHM, _SEGMENT) if not alive(pid)]


def live_segments(shm_dir=None):
    """[(path, owner pid)] of arena segments whose owner is alive (left alone)."""
    return [(p, pid) for p, pid in _owned(shm_dir or SHM, _SEGMENT) if alive(pid)]


def stale_sweep_dirs(tmp_dir=None):
    """[(path, owner pid)] of sweep folders whose sweep is gone."""
    return [(p, pid) for p, pid in _owned(tmp_dir or tempfile.gettempdir(), _SWEEP)
            if not alive(pid) and os.path.isdir(p)]


def sweep_dir(tmp_dir=None):
    """A new folder for this sweep's per-run files, named with this process's pid
    (first removing the folders of sweeps that are gone)."""
    remove(stale_sweep_dirs(tmp_dir))
    return tempfile.mkdtemp(prefix=f"{SWEEP_PREFIX}{os.getpid()}-", dir=tmp_dir)


def remove(found):
    """Remove what ``stale_*`` found; returns the paths actually removed."""
    removed = []
    for path, _pid in found:
        try:
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass                            # another cleaner was first
        except OSError:
            pass                            # not ours to remove (another user's)
    return removed
