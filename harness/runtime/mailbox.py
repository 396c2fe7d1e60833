"""Per-CPU mailboxes: a bounded ring per CPU in the arena, for cross-CPU hand-off.

A workload hands an object to another CPU with ``k.send(cpu, addr)`` and the
owner of the mailbox takes it with ``k.recv()`` -- the larson and
producer/consumer patterns, where one CPU frees what another allocated.
Every entry carries a ``meta`` word besides the address (the built-in op
mixes put there how the object must be freed).

Arena sections (c = target CPU, s = slot < SLOTS)::

    mbox_ring  u64[nr_cpus * SLOTS * 2]   (addr, meta) of slot s of CPU c
    mbox_ctl   i64[nr_cpus * 2]           head (next to receive), tail (next free);
                                          both only grow; tail - head = entries

Each ring is protected by the model spinlock ``&mbox->lock[c]``, taken with
``spin_lock_irqsave`` so any context (a hardirq included) may send or
receive.  The locks are created by the machine before the CPUs fork so that
every CPU names the same lock.
"""

from kernel_model import debug, spinlock

SLOTS = 256


def arena_sections(nr_cpus, slots=SLOTS):
    return [("mbox_ring", "Q", nr_cpus * slots * 2), ("mbox_ctl", "q", nr_cpus * 2)]


class Mailboxes:
    """All CPUs' mailboxes; build in the machine before fork, use in any CPU."""

    def __init__(self, node, nr_cpus, slots=SLOTS):
        self.nr_cpus = nr_cpus
        self.slots = slots
        self.ring = node.arena.v["mbox_ring"]
        self.ctl = node.arena.v["mbox_ctl"]
        self.locks = [spinlock.spin_lock_init(node.locks, f"&mbox->lock[{c}]")
                      for c in range(nr_cpus)]

    def send(self, cpu, addr, meta=0):
        """Queue (addr, meta) for ``cpu``; False if its mailbox is full."""
        if not 0 <= cpu < self.nr_cpus:
            raise ValueError(f"send: no CPU {cpu} (this machine has CPUs 0-{self.nr_cpus - 1})")
        lock, ctl = self.locks[cpu], self.ctl
        flags = spinlock.spin_lock_irqsave(lock)
        try:
            head, tail = ctl[cpu * 2], ctl[cpu * 2 + 1]
            if tail - head >= self.slots:
                return False
            i = (cpu * self.slots + tail % self.slots) * 2
            self.ring[i] = addr
            self.ring[i + 1] = meta
            ctl[cpu * 2 + 1] = tail + 1
            return True
        finally:
            spinlock.spin_unlock_irqrestore(lock, flags)

    def recv(self, cpu):
        """Take the oldest (addr, meta) from ``cpu``'s mailbox; None when empty."""
        lock, ctl = self.locks[cpu], self.ctl
        empty = ctl[cpu * 2] == ctl[cpu * 2 + 1]
        debug.hooks.yield_point("peeked")  # a scheduler's step: the lockless read
        if empty:
            return None                    # empty: no need for the lock (a racy peek, re-checked below)
        flags = spinlock.spin_lock_irqsave(lock)
        try:
            head, tail = ctl[cpu * 2], ctl[cpu * 2 + 1]
            if head == tail:
                return None
            i = (cpu * self.slots + head % self.slots) * 2
            ctl[cpu * 2] = head + 1
            return self.ring[i], self.ring[i + 1]
        finally:
            spinlock.spin_unlock_irqrestore(lock, flags)

    def count(self, cpu):
        """Entries waiting (a racy read; exact when the machine is quiet)."""
        return self.ctl[cpu * 2 + 1] - self.ctl[cpu * 2]
