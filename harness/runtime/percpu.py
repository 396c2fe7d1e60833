"""Per-CPU variables of workloads: ``k.this_cpu_read/write/inc(name)``, ``k.per_cpu(name, cpu)``.

A variable is a named row of one 64-bit slot per CPU, holding what kernel
per-CPU variables hold: a counter (signed: a count that went below zero reads
negative) or a pointer (a kernel address such as 0xffff888001000040 reads back
as written).  The slot is an i64; a value in [2**63, 2**64) is stored as its
two's complement, and a slot below -2**40 -- no counter goes there, every
kernel address of the model does -- reads back unsigned.  Adds wrap at 64 bits
as the kernel's do.  Names are
registered on first use by any CPU (under the irq-safe model spinlock
``percpu_alloc``); each process caches name -> row.

Arena sections (v = variable row < MAX_PERCPU_VARS, c = CPU)::

    percpu_name  u8 [MAX_PERCPU_VARS * 32]     ASCII name, NUL padded
    percpu_nr    i64[1]                        rows in use
    percpu_val   i64[nr_cpus * MAX_PERCPU_VARS] value of row v on CPU c at
                                               c * MAX_PERCPU_VARS + v (``slot_index``)

Each CPU's slots are its own per-CPU area, as the kernel's are: MAX_PERCPU_VARS
words (whole cache lines) of one CPU together, so two CPUs updating their own
copies of a variable never write the same cache line (no false sharing).

Every access goes through ``debug.hooks.percpu_enter(what, cpu, protection)``
/ ``percpu_exit(what, cpu)`` with ``what = "percpu:<name>"``, ``cpu`` the
slot's CPU and ``protection`` ``"irq"`` (the this_cpu_* operations: each runs with
interrupts masked, as the single instruction it is on x86) or ``"remote"``
(``k.per_cpu(name, cpu)``: a deliberate access to a slot the caller chose) --
the vocabulary of ``harness/checkers/percpu.py``, so the per-CPU checker sees
every access and which CPU's slot it touched.
"""

from kernel_model import context, debug, spinlock

MAX_PERCPU_VARS = 64
NAME_LEN = 32
assert MAX_PERCPU_VARS % 8 == 0, "a CPU's area is whole 64-byte lines"


def slot_index(row, cpu):
    """Index in percpu_val of variable ``row`` on CPU ``cpu`` (CPU c's area first)."""
    return cpu * MAX_PERCPU_VARS + row


_U64 = 1 << 64
_POINTER_BELOW = -(1 << 40)         # slot values below this are kernel addresses


def to_slot(name, value):
    """``value`` as the i64 the slot stores (two's complement above 2**63)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"per-CPU variable {name!r}: {value!r} is not an integer "
                        "(per-CPU variables hold counters and addresses)")
    if not -(1 << 63) <= value < _U64:
        raise ValueError(f"per-CPU variable {name!r}: {value} does not fit 64 bits")
    return value - _U64 if value >= 1 << 63 else value


def from_slot(v):
    return v + _U64 if v < _POINTER_BELOW else v


def _wrap(v):
    v &= _U64 - 1
    return v - _U64 if v >= 1 << 63 else v


def arena_sections(nr_cpus):
    return [("percpu_name", "B", MAX_PERCPU_VARS * NAME_LEN), ("percpu_nr", "q", 1),
            ("percpu_val", "q", MAX_PERCPU_VARS * nr_cpus)]


class PerCpuVars:
    def __init__(self, node, nr_cpus):
        a = node.arena
        self.nr_cpus = nr_cpus
        self.names = a.v["percpu_name"]
        self.nr = a.v["percpu_nr"]
        self.val = a.v["percpu_val"]
        self.lock = spinlock.spin_lock_init(node.locks, "percpu_alloc")
        self.rows = {}

    def _name_of(self, row):
        return bytes(self.names[row * NAME_LEN:(row + 1) * NAME_LEN]).rstrip(b"\0").decode()

    def row(self, name):
        row = self.rows.get(name)
        if row is not None:
            return row
        raw = name.encode()
        if not name or len(raw) > NAME_LEN:
            raise ValueError(f"per-CPU variable name {name!r}: 1 to {NAME_LEN} ASCII characters")
        flags = spinlock.spin_lock_irqsave(self.lock)
        try:
            for r in range(self.nr[0]):
                if self._name_of(r) == name:
                    row = r
                    break
            else:
                row = self.nr[0]
                if row >= MAX_PERCPU_VARS:
                    raise ValueError(f"too many per-CPU variables (at most {MAX_PERCPU_VARS})")
                self.names[row * NAME_LEN:(row + 1) * NAME_LEN] = raw.ljust(NAME_LEN, b"\0")
                self.nr[0] = row + 1
        finally:
            spinlock.spin_unlock_irqrestore(self.lock, flags)
        self.rows[name] = row
        return row

    def _slot(self, name, cpu):
        if not 0 <= cpu < self.nr_cpus:
            raise ValueError(f"per_cpu({name!r}, {cpu}): no CPU {cpu} "
                             f"(this machine has CPUs 0-{self.nr_cpus - 1})")
        return slot_index(self.row(name), cpu)

    def access(self, name, cpu, protection, op, value=0):
        """op: 0 read, 1 write, 2 add; returns the value after the op."""
        i = self._slot(name, cpu)
        hooks = debug.hooks
        what = "percpu:" + name
        flags = context.local_irq_save()
        hooks.percpu_enter(what, cpu, protection)
        try:
            if op == 1:
                self.val[i] = to_slot(name, value)
            elif op == 2:
                to_slot(name, value)
                self.val[i] = _wrap(self.val[i] + value)
            return from_slot(self.val[i])
        finally:
            hooks.percpu_exit(what, cpu)
            context.local_irq_restore(flags)

    def sums(self):
        """{name: [value per CPU]} for the report."""
        n = self.nr_cpus
        return {self._name_of(r): [self.val[slot_index(r, c)] for c in range(n)]
                for r in range(self.nr[0])}
