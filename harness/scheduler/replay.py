"""``replay``: follow a recorded order of yield points.

At step s the CPU that reaches a yield point must be the one the trace
names, with the same kind of yield point; the next CPU is the trace's next
step; an interrupt is delivered where the trace shows the CPU entering one.
A mismatch is a divergence: the engine stops the run and reports the first
differing step ("not replayable"), exit code 3.
"""

from .base import DONE, KIND_CODE, RUNNABLE, YIELD_KINDS, Option, Strategy

_RELAX = KIND_CODE["relax"]


class Divergence(BaseException):
    def __init__(self, step, expected, got):
        super().__init__(f"not replayable: step {step} expected CPU {expected[0]} at "
                         f"{expected[1]}, got CPU {got[0]} at {got[1]}")
        self.step = step
        self.expected = expected
        self.got = got


class ReplayScheduler(Strategy):
    name = "replay"
    follows_trace = True
    irq_possible = True              # wherever the trace shows one
    OPTIONS = (Option("trace_steps", list, (), "the recorded [(cpu, kind code)] (step 1 first)",
                      cli=False),)

    @property
    def steps(self):
        return self.trace_steps

    def expect(self, step):
        if 1 <= step <= len(self.trace_steps):
            return self.trace_steps[step - 1]
        return None

    def check(self, step, cpu, kind):
        want = self.expect(step)
        if want is None or want != (cpu, kind):
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


class GuidedScheduler(Strategy):
    """Follow ``trace_steps`` (steps as a trace has them) where it applies, never stopping
    on a mismatch: the minimiser's candidate schedules (harness/tools/minimize.py).

    Decisions are a function of (plan, step, CPU states) only, as every strategy's
    must be: ``trace_steps[s]`` names the CPU for step s+1 and, when its kind is
    ``irq``, that the CPU enters a hardirq there.  Past the plan, or where it names a
    CPU that cannot run, the current CPU goes on until it finishes, spins, waits or
    busy-waits (``relax``: it yields, as under dfs)."""

    name = "guided"
    irq_possible = True              # wherever the plan shows one
    OPTIONS = (Option("trace_steps", list, (), "the candidate [(cpu, kind code)] (step 1 first)",
                      cli=False),)

    def _want(self, step):
        plan = self.trace_steps
        return tuple(plan[step]) if 0 <= step < len(plan) else None

    def next_cpu(self, view, current, kind):
        want = self._want(view.step)
        if want is not None and want[0] < view.ncpus and view.state[want[0]] != DONE:
            return want[0]
        if view.state[current] == RUNNABLE and kind != _RELAX:
            return current
        order = [(current + i) % view.ncpus for i in range(1, view.ncpus)]
        live = [c for c in order if view.state[c] == RUNNABLE] or \
            [c for c in order if view.state[c] != DONE]
        return live[0] if live else current      # a lone relaxing CPU polls again

    def irq_due(self, view, cpu):
        return self._want(view.step) == (cpu, KIND_CODE["irq"])
