"""``dfs``: follow a schedule of forced choices, otherwise never preempt.

The strategy the bounded exhaustive search (``harness/tools/explore.py``,
CHESS's iterative context bounding: Musuvathi and Qadeer, PLDI 2007) drives
one execution at a time, as Shuttle's DfsScheduler replays a prefix of
choices.  ``schedule`` is a tuple of (step, cpu): after step ``step`` the
token goes to ``cpu``.  Anywhere else the default is non-preemptive: the
current CPU goes on while it can; when it spins, waits, busy-waits (``relax``,
a yield) or is done, the next CPU (in CPU order after it) that can make
progress runs.  A forced choice of
another CPU while the current one could go on is a preemption; the search
bounds their number.

The decisions are a pure function of the schedule and the view, so a failing
execution is redone by ``mmstress run ... --sched dfs --schedule 17:1,40:0``.
"""

from .base import KIND_CODE, RUNNABLE, Option, Strategy

_RELAX = KIND_CODE["relax"]


def parse_schedule(text):
    """``"17:1,40:0"`` -> ((17, 1), (40, 0)); ValueError says what is allowed."""
    out = []
    for part in (p for p in text.split(",") if p.strip()):
        try:
            step, cpu = (int(x) for x in part.split(":"))
        except ValueError:
            raise ValueError("STEP:CPU pairs separated by commas, e.g. 17:1,40:0") from None
        if step < 0 or cpu < 0:
            raise ValueError("steps and CPUs are >= 0")
        out.append((step, cpu))
    return tuple(sorted(out))


def format_schedule(schedule):
    return ",".join(f"{s}:{c}" for s, c in schedule)


def default_choice(view, current, kind=None):
    """The non-preemptive choice: ``current`` while it can go on (and did not just
    yield in cpu_relax), else the next CPU after it that can; if none can, the next
    one not done (all spin: deadlock)."""
    n = view.ncpus
    if view.state[current] == RUNNABLE and kind != _RELAX:
        return current
    order = [(current + i) % n for i in range(1, n + 1)]
    for c in order:
        if view.state[c] == RUNNABLE:
            return c
    for c in order:
        if c in view.runnable():
            return c
    return current


class DfsScheduler(Strategy):
    name = "dfs"
    OPTIONS = (Option("schedule", parse_schedule, (), "dfs: forced choices STEP:CPU,... "
                      "(after step STEP, CPU runs); elsewhere never preempt",
                      fmt=format_schedule, load=lambda v: tuple(tuple(p) for p in v)),)

    def __init__(self, irq_rate=0.0, **options):
        super().__init__(irq_rate, **options)
        self.forced = dict(self.schedule)

    def next_cpu(self, view, current, kind):
        want = self.forced.get(view.step)
        if want is not None and want < view.ncpus and view.state[want] == RUNNABLE:
            return want
        return default_choice(view, current, kind)
