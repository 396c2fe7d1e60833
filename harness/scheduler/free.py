"""``free``: the operating system interleaves the CPUs; nothing is decided here.

The engine still numbers every yield point with a shared ticket and records
(CPU, kind) in that order, so a free run that caught a bug can be replayed
by the ``replay`` strategy.  Hardirqs are real asynchronous signals in this
mode; an interrupt is recorded at the first yield point its handler reaches.
"""

from .base import Strategy


class FreeScheduler(Strategy):
    name = "free"
    serialised = False

    def irq_due(self, view, cpu):
        return False
