"""The nightly lane of determinism: every library scenario, 100 seeds, --sched random twice each.

Two serialised runs with the same seed must record the same trace hash.
Run with ``pytest --nightly``.
"""

import dataclasses

import pytest

from harness import scenario
from harness.scheduler import options as scheduling
from harness.supervisor import machine


def _run(sc, seed, strategy):
    return machine.run(sc, seed, sched=scheduling.options_for(strategy, sc))


@pytest.mark.nightly
@pytest.mark.parametrize("name", [n for n, _ in scenario.available() if not n.startswith("bugs/")])
def test_100_seeds_deterministic(name):
    sc = dataclasses.replace(scenario.resolve(name), ops=40, duration=None)
    for seed in range(100):
        a, b = _run(sc, seed, "random"), _run(sc, seed, "random")
        assert a.sched["hash"] == b.sched["hash"], (name, seed)
