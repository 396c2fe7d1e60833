"""``random``: switch to a uniformly chosen other CPU after a geometric number
of yield points (mean ``1 / switch_prob``), and always away from a spinning CPU.

Hand-offs between processes cost ~35 us, so switches are rare by default
(mean every 32 yield points) and each yield point is a countdown, not a
draw.  Determinism: when a CPU takes the token at step s it seeds its local
stream from (seed, s, cpu), so every later decision is a function of the
seed and the steps taken -- whichever process computes it.  A shared memory
access (``access``) counts ACCESS_WEIGHT yield points of the countdown, so
switches land there more often: that is where a read-modify-write splits.  Interrupts are
decisions of the same stream: after a geometric number of yield points
(mean ``1 / irq_rate``) the running CPU takes a hardirq.
"""

import math
import random as _random

from .base import KIND_CODE, SPINNING, rand_at

_ACCESS = KIND_CODE["access"]
ACCESS_WEIGHT = 4      # a shared memory access counts as this many yield points: races live there


class RandomScheduler:
    name = "random"

    def __init__(self, switch_prob=1 / 32, irq_rate=0.0):
        self.switch_prob = switch_prob
        self.irq_rate = irq_rate
        self.seed = 0
        self.rng = None

    def new_execution(self, seed, ncpus):
        self.seed = seed
        self.rng = None

    def _geometric(self, p):
        if p <= 0:
            return 1 << 62
        if p >= 1:
            return 1
        return 1 + int(math.log(1.0 - self.rng.random()) / math.log(1.0 - p))

    def on_token(self, view, cpu):
        self.rng = _random.Random(rand_at(self.seed, view.step, cpu + 1))
        self.countdown = self._geometric(self.switch_prob)
        self.irq_countdown = self._geometric(self.irq_rate)

    def next_cpu(self, view, current, kind):
        if self.rng is None:
            self.on_token(view, current)
        if view.state[current] == SPINNING:
            others = [c for c in view.runnable() if c != current]
            live = [c for c in others if view.state[c] != SPINNING] or others
            return self.rng.choice(live) if live else current
        self.countdown -= ACCESS_WEIGHT if kind == _ACCESS else 1
        if self.countdown > 0:
            return current
        self.countdown = self._geometric(self.switch_prob)
        others = [c for c in view.runnable() if c != current]
        return self.rng.choice(others) if others else current

    def irq_due(self, view, cpu):
        if self.irq_rate <= 0:
            return False
        self.irq_countdown -= 1
        if self.irq_countdown > 0:
            return False
        self.irq_countdown = self._geometric(self.irq_rate)
        return True
