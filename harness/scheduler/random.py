"""``random``: switch to a uniformly chosen other CPU after a geometric number
of yield points (mean ``1 / switch_prob``), and always away from a spinning CPU
or one that busy-waits (``relax``: it yields).

Hand-offs between processes cost ~35 us, so switches are rare by default
(mean every 32 yield points) and each yield point is a countdown, not a
draw.  Determinism: when a CPU takes the token at step s it seeds its local
sequence from the ``switch`` stream at (s, cpu), so every later decision is a
function of the seed and the steps taken -- whichever process computes it.
A shared memory access (``access``) counts ACCESS_WEIGHT yield points of the
countdown, so switches land there more often: that is where a
read-modify-write splits (weights 1 and 2 found fewer of the catalogue's races).
"""

from .base import KIND_CODE, SPINNING, YIELD_KINDS, Option, Stream, Strategy, geometric, probability

_ACCESS, _RELAX = KIND_CODE["access"], KIND_CODE["relax"]
ACCESS_WEIGHT = 4      # a shared memory access counts as this many yield points: races live there


class RandomScheduler(Strategy):
    name = "random"
    grants_runs = True           # the countdown: steps that only count it down need no call
    KIND_WEIGHTS = tuple(ACCESS_WEIGHT if k == _ACCESS else 1 for k in range(len(YIELD_KINDS)))
    OPTIONS = (Option("switch_prob", probability, 1 / 32,
                      "P(switch to another CPU) per yield point (default 1/32)"),)

    def new_execution(self, seed, view):
        super().new_execution(seed, view)
        self.switch = Stream(seed, "switch")
        self.rng = None

    def on_token(self, view, cpu):
        super().on_token(view, cpu)
        self.rng = self.switch.sequence(view.step, cpu)
        self.countdown = geometric(self.rng, self.switch_prob)

    def next_cpu(self, view, current, kind):
        if self.rng is None:
            self.on_token(view, current)
        if view.state[current] == SPINNING or kind == _RELAX:
            others = [c for c in view.runnable() if c != current]
            live = [c for c in others if view.state[c] != SPINNING] or others
            return self.rng.choice(live) if live else current
        self.countdown -= ACCESS_WEIGHT if kind == _ACCESS else 1
        if self.countdown > 0:
            return current
        self.countdown = geometric(self.rng, self.switch_prob)
        others = [c for c in view.runnable() if c != current]
        return self.rng.choice(others) if others else current

    def run_budget(self, view, cpu):
        return self.countdown        # a plain step of weight w < countdown keeps the CPU

    def spend(self, units):
        self.countdown -= units
