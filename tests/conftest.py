"""Shared fixtures for every layer (tests/model, tests/harness, tests/e2e, tests/nightly);
the layer markers; the --nightly lane; the guard that no test leaves a /dev/shm segment behind.

Fixtures:
    node          a small booted model (32M, page data), CPU 0
    booted        boot(hooks=None, **boot_kwargs) -> node: boots a model for the test and,
                  with hooks, installs them as the model's debug hooks; both undone at
                  teardown (hooks first, then the model), planted switches reset
    debug_hooks   install(hooks) -> hooks: debug hooks for the rest of the test, the
                  previous ones back at teardown
"""

import contextlib
import os

import pytest

import kernel_model as km
from kernel_model import context, planted
import harness.outputs.text  # noqa: E402,F401  (records render through it: v.title, v.splat)

from shm_segments import SHM, own_segments  # noqa: F401,E402  (tests import it from there)

# The failure database (.mmstress/failures/ of the working directory) is off for the suite:
# tests run the CLI in the repository and must neither litter it nor see each other's saved
# failures re-run first.  The tests of the database turn it on in their own temp directory.
os.environ["MMSTRESS_NO_FAILURES"] = "1"


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


@pytest.fixture
def debug_hooks():
    """``install(hooks)``: the model's debug hooks for the rest of the test; restored at teardown."""
    olds = []

    def install(hooks):
        olds.append(km.debug.install(hooks))
        return hooks
    yield install
    for old in reversed(olds):
        km.debug.install(old)


@pytest.fixture
def booted():
    """``boot(hooks=None, **kw)``: a booted model (``km.boot(**kw)``) with ``hooks`` installed.

    Teardown puts the previous hooks back, shuts the model down and resets
    the planted-bug switches, whatever the test did.
    """
    with contextlib.ExitStack() as stack:
        def boot(hooks=None, **kw):
            node = stack.enter_context(km.boot(**kw))
            if hooks is not None:
                stack.callback(km.debug.install, km.debug.install(hooks))
            return node
        stack.callback(planted.reset)
        yield boot


def pytest_sessionfinish(session, exitstatus):
    left = own_segments()
    if left:
        print(f"\nERROR: shared-memory segments left in {SHM}: {left}")
        session.exitstatus = 1


def pytest_addoption(parser):
    parser.addoption("--nightly", action="store_true",
                     help="also run the nightly lane: tests marked @pytest.mark.nightly "
                          "(hundreds of seeds per scenario; minutes, not seconds)")


LAYERS = ("model", "harness", "e2e", "nightly", "bench")     # tests/<layer>/: marker <layer>


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        rel = os.path.relpath(str(item.path), here).split(os.sep)
        if rel[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, rel[0]))
    if config.getoption("--nightly"):
        return
    skip = pytest.mark.skip(reason="nightly lane: run with --nightly")
    for item in items:
        if "nightly" in item.keywords:
            item.add_marker(skip)
