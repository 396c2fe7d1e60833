"""One run per planted-bug scenario per test process, shared by the tests that read it.

``test_bug_catalogue`` (the kinds each bug reports) and ``test_one_report_per_bug``
(one report group at the bug's own line) look at the same run of each
``scenarios/bugs/*.toml`` with the same seed; running it once halves their time
in one process (under pytest-xdist each worker runs what it is handed).
"""

import functools

from harness import scenario
from harness.supervisor import machine

SEED = 1234


@functools.lru_cache(maxsize=None)
def run(path):
    """The RunResult of ``path`` with its own settings and SEED (read it, never change it)."""
    return machine.run(scenario.resolve(path), SEED)


def found(path, kinds_of):
    """A run of ``path`` that shows its expected kinds (``kinds_of(result)`` -> set), or the
    last one tried.  A free-running race is the OS's interleaving: the shared run, then two
    more seeds, then one serialised ``--sched random`` run of the same seed, which is where
    a race that lives between memory accesses is found every time (test_access_points)."""
    from harness.scheduler.options import options_for
    sc = scenario.resolve(path)
    result = run(path)
    if set(sc.expect) <= kinds_of(result):
        return result
    for seed in (SEED + 1, SEED + 2):
        result = machine.run(sc, seed)
        if set(sc.expect) <= kinds_of(result):
            return result
    return machine.run(sc, SEED, sched=options_for("random", sc))
