"""``replay``: follow a recorded order of yield points.

At step s the CPU that reaches a yield point must be the one the trace
names, with the same kind of yield point; the next CPU is the trace's next
step; an interrupt is delivered where the trace shows the CPU entering one.
A mismatch is a divergence: the engine stops the run and reports the first
differing step ("not replayable"), exit code 3.
"""

from .base import KIND_CODE


class Divergence(BaseException):
    def __init__(self, step, expected, got):
        super().__init__(f"not replayable: step {step} expected CPU {expected[0]} at "
                         f"{expected[1]}, got CPU {got[0]} at {got[1]}")
        self.step = step
        self.expected = expected
        self.got = got


class ReplayScheduler:
    name = "replay"

    def __init__(self, steps):
        """``steps``: [(cpu, kind_code)] as recorded (step 1 is steps[0])."""
        self.steps = steps

    def new_execution(self, seed, ncpus):
        pass

    def expect(self, step):
        if 1 <= step <= len(self.steps):
            return self.steps[step - 1]
        return None

    def check(self, step, cpu, kind):
        want = self.expect(step)
        if want is None or want != (cpu, kind):
            from .base import YIELD_KINDS
            exp = (want[0], YIELD_KINDS[want[1]]) if want else ("-", "end of trace")
            raise Divergence(step, exp, (cpu, YIELD_KINDS[kind]))

    def next_cpu(self, view, current, kind):
        nxt = self.expect(view.step + 1)
        if nxt is None:
            return current
        return nxt[0]

    def irq_due(self, view, cpu):
        nxt = self.expect(view.step + 1)
        return nxt is not None and nxt == (cpu, KIND_CODE["irq"])
