"""The soft-lockup detector (kernel/watchdog.c), run by the machine over the CPUs' heartbeats.

A CPU bumps ``cpu_beat`` at every main-loop iteration, every ``k.cond_resched()``
and while it waits at a barrier.  A CPU whose beat has not moved for
``thresh`` seconds is stuck: spinning forever in workload code, in a hardirq
that never returns, or on a lock nobody will release.  The machine then asks
it for its stack (SIGUSR2; the CPU's handler runs even inside a spinning
loop), reports ``watchdog: BUG: soft lockup - CPU#n stuck for Xs!`` with what
it was doing (``cpu_doing``) and the stack, and kills it.

Kept free of processes so it can be tested with fake beats and clocks.
"""


class Watchdog:
    def __init__(self, nr_cpus, thresh):
        self.thresh = thresh
        self.last = [None] * nr_cpus       # (beat, time it last changed)
        self.fired = set()

    def observe(self, beats, now, live):
        """Feed current beats; returns CPUs newly found stuck (``live``: CPUs still running)."""
        stuck = []
        for cpu, beat in enumerate(beats):
            last = self.last[cpu]
            if last is None or last[0] != beat or cpu not in live:
                self.last[cpu] = (beat, now)
                continue
            if now - last[1] >= self.thresh and cpu not in self.fired:
                self.fired.add(cpu)
                stuck.append(cpu)
        return stuck

    def stuck_for(self, cpu, now):
        return now - self.last[cpu][1]
