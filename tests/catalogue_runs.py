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
