"""The signal matrix, one run per cell: SIGINT/SIGTERM x parent/group x early/mid/late/twice x
run/replay/minimize/sweep (issue 15).  What each cell checks and when each instant is:
tests/signal_matrix.py.  20 runs per cell: tests/nightly/test_signals_nightly.py.

Every cell must end with exit 128 + the signal, a valid JSON report that says
``"interrupted"`` with that signal, no traceback, no /dev/shm segment and no
process of the cell left.  "early" included: a command signalled before its
run booted still writes its report (the run interrupted with no operations,
or no run at all for a sweep or minimize that had not started one).
"""

import pytest

import signal_matrix as matrix

pytestmark = pytest.mark.slow           # each cell is a command in a subprocess


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return matrix.make_files(tmp_path_factory.mktemp("signals"))


@pytest.mark.parametrize("command, signame, target, when", matrix.cells(),
                         ids=["-".join(c) for c in matrix.cells()])
def test_cell(files, tmp_path, command, signame, target, when):
    problems = matrix.run_cell(command, signame, target, when, files, tmp_path)
    assert not problems, "\n".join(problems)
