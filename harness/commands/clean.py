"""``mmstress clean [--dry-run]``: remove what killed runs left behind, and say what.

A run removes its /dev/shm arena segment and a sweep its folder of per-run
files on every path they control; SIGKILL (the OOM killer, ``kill -9`` of
a CI job's group) leaves them.  Each carries its owner's pid in its name
(harness/tools/leftovers.py); this removes the ones whose owner is gone and
lists each with its size.  Segments of runs still going are left alone and
counted.  The next run or sweep removes them too; ``clean`` is for a machine
where none is coming (a CI runner between jobs, a full /dev/shm).

Exit codes: 0 (also when there was nothing to remove).
"""

import os

from harness.exits import EXIT_OK

HELP = "remove /dev/shm segments and sweep folders that killed runs left behind"


def arguments(p):
    p.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")


def _size(path):
    if os.path.isdir(path):
        total = 0
        for folder, _, files in os.walk(path):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(folder, f))
                except OSError:
                    pass
        return total
    try:
        return os.stat(path).st_blocks * 512       # a sparse segment: what it holds
    except OSError:
        return 0


def main(args):
    from harness.tools import leftovers
    found = leftovers.stale_segments() + leftovers.stale_sweep_dirs()
    sizes = {path: _size(path) for path, _ in found}
    done = [p for p, _ in found] if args.dry_run else leftovers.remove(found)
    verb = "would remove" if args.dry_run else "removed"
    for path, pid in found:
        if path in done:
            print(f"{verb} {path} ({sizes[path] / (1 << 20):,.1f} MiB; pid {pid} is gone)")
    live = leftovers.live_segments()
    total = sum(sizes[p] for p in done)
    print(f"mmstress clean: {verb} {len(done)} item{'s' if len(done) != 1 else ''}, "
          f"{total / (1 << 20):,.1f} MiB"
          + (f"; {len(live)} segment{'s' if len(live) != 1 else ''} of live runs left alone"
             if live else ""))
    return EXIT_OK
