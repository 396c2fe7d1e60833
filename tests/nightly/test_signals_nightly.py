"""The signal matrix of issue 15, 20 runs per cell (MMSTRESS_SIGNAL_RUNS): the nightly lane of
tests/e2e/test_signals_matrix.py.  Run with ``pytest --nightly``."""

import os

import pytest

import signal_matrix as matrix

RUNS = int(os.environ.get("MMSTRESS_SIGNAL_RUNS", "20"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return matrix.make_files(tmp_path_factory.mktemp("signals"))


@pytest.mark.nightly
@pytest.mark.parametrize("command, signame, target, when", matrix.cells(),
                         ids=["-".join(c) for c in matrix.cells()])
def test_cell_20_times(files, tmp_path, command, signame, target, when):
    failed = []
    for i in range(RUNS):
        problems = matrix.run_cell(command, signame, target, when, files, tmp_path)
        if problems:
            failed.append(f"run {i + 1}: " + "\n  ".join(problems))
    assert not failed, f"{len(failed)} of {RUNS} runs failed:\n" + "\n".join(failed)
