"""The soft-lockup detector (kernel/watchdog.c), run by the machine over the CPUs' heartbeats.

A CPU bumps ``cpu_beat`` at every main-loop iteration, every ``k.cond_resched()``
and while it waits at a barrier.  A CPU whose beat has not moved while it
had ``thresh`` seconds of the host to itself is stuck: spinning forever in
workload code, in a hardirq that never returns, or on a lock nobody will
release.  The machine then asks it for its stack (SIGUSR2; the CPU's handler
runs even inside a spinning loop), reports ``watchdog: BUG: soft lockup -
CPU#n stuck for Xs!`` with what it was doing (``cpu_doing``) and the stack --
a violation of the workload or the model (exit 1), not a harness failure --
and kills it.

What "had the host to itself" means.  The kernel's watchdog fires when a CPU
kept its own watchdog thread off for ``thresh`` seconds; it never fires
because *other* work ran.  Here a CPU is a process that the host may starve
(two cores, many processes): the time it spent waiting on the host's run
queue is not time it was stuck.  So the stuck time is the wall time since
the last beat minus the process's run-queue delay over the same interval,
read from ``/proc/PID/schedstat`` (on-CPU ns, run-queue wait ns, slices).
On-CPU time alone would miss a CPU spinning on a lock forever: the model's
spin loop sleeps a millisecond per try once a lock is long contended, as a
``cpu_relax()`` that gives the core back, and that sleep is still spinning.
Where schedstat is missing, the process's CPU time (utime + stime) stands
in for the stuck time (a starved CPU then never trips it either).

Kept free of processes so it can be tested with fake beats, clocks and delays.
"""

import os


def run_delay(pid):
    """Seconds process ``pid`` has waited on a run queue (None: not known here)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def cpu_time(pid):
    """utime + stime of process ``pid`` in seconds (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Watchdog:
    def __init__(self, nr_cpus, thresh):
        self.thresh = thresh
        self.last = [None] * nr_cpus       # (beat, time it last changed, clock then)
        self.stuck = [0.0] * nr_cpus       # stuck seconds at the last observation
        self.fired = set()

    def observe(self, beats, now, live, clocks=None):
        """Feed current beats; returns CPUs newly found stuck (``live``: CPUs still running).

        ``clocks[cpu]``: ("delay", seconds of run-queue wait so far) or ("cpu",
        seconds of CPU time so far) or None (wall time alone counts)."""
        stuck = []
        for cpu, beat in enumerate(beats):
            last = self.last[cpu]
            clock = clocks[cpu] if clocks is not None else None
            if last is None or last[0] != beat or cpu not in live:
                self.last[cpu] = (beat, now, clock)
                self.stuck[cpu] = 0.0
                continue
            self.stuck[cpu] = secs = self._stuck(now - last[1], last[2], clock)
            if secs >= self.thresh and cpu not in self.fired:
                self.fired.add(cpu)
                stuck.append(cpu)
        return stuck

    @staticmethod
    def _stuck(wall, then, clock):
        if clock is None or then is None or clock[0] != then[0] or clock[1] is None \
                or then[1] is None:
            return wall
        if clock[0] == "delay":
            return max(0.0, wall - (clock[1] - then[1]))
        return clock[1] - then[1]

    def stuck_for(self, cpu, now=None):
        return self.stuck[cpu]


def clock_of(pid):
    """The clock ``Watchdog.observe`` wants for process ``pid``."""
    d = run_delay(pid)
    if d is not None:
        return ("delay", d)
    return ("cpu", cpu_time(pid))
