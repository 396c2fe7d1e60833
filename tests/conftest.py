"""Shared fixtures; and the guard that no test leaves a /dev/shm segment behind."""

import os

import pytest

import kernel_model as km
from kernel_model import context
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


@pytest.fixture(autouse=True)
def _fresh_cpu():
    """Every test starts on CPU 0 in process context with no model booted."""
    context.set_this_cpu(context.CPU(0))
    yield
    context.set_this_cpu(context.CPU(0))


@pytest.fixture
def node():
    """A small x86_64 model with page data, CPU 0."""
    with km.boot(total="32M", page_data=True) as n:
        yield n


def pytest_sessionfinish(session, exitstatus):
    left = own_segments()
    if left:
        print(f"\nERROR: shared-memory segments left in {SHM}: {left}")
        session.exitstatus = 1


def pytest_addoption(parser):
    parser.addoption("--nightly", action="store_true",
                     help="also run the nightly lane: tests marked @pytest.mark.nightly "
                          "(hundreds of seeds per scenario; minutes, not seconds)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--nightly"):
        return
    skip = pytest.mark.skip(reason="nightly lane: run with --nightly")
    for item in items:
        if "nightly" in item.keywords:
            item.add_marker(skip)
