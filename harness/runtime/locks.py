"""Named spinlocks for workloads: ``k.lock("name")`` is the same lock on every CPU.

A workload names its locks; the first CPU to use a name creates the lock in
the model's pre-fork lock pool (``kernel_model/spinlock.py``), later users
find it there by name.  Find-or-create runs under the harness's irq-safe
spinlock ``lock_registry`` so two CPUs cannot create the same name twice;
each process caches name -> spinlock_t.
"""

from kernel_model import spinlock


class NamedLocks:
    def __init__(self, node):
        self.pool = node.locks
        self.registry = spinlock.spin_lock_init(self.pool, "lock_registry")
        self.cache = {}

    def get(self, name):
        lock = self.cache.get(name)
        if lock is not None:
            return lock
        if not isinstance(name, str) or not name:
            raise ValueError(f"k.lock(name): name must be a non-empty string, not {name!r}")
        pool = self.pool
        flags = spinlock.spin_lock_irqsave(self.registry)
        try:
            found = next((i for i in range(pool.next[0]) if pool.name_of(i) == name[:spinlock.NAME_LEN]),
                         None)
            lock = spinlock.spin_lock_init(pool, name) if found is None else _attach(pool, found, name)
        finally:
            spinlock.spin_unlock_irqrestore(self.registry, flags)
        self.cache[name] = lock
        return lock


def _attach(pool, lock_id, name):
    """A spinlock_t for a lock another CPU created (no new pool slot)."""
    lock = spinlock.spinlock_t.__new__(spinlock.spinlock_t)
    lock.id, lock.name = lock_id, name
    lock.sem, lock.owner, lock.stat = pool.sems[lock_id], pool.owner, pool.stat
    if "cls" in spinlock.spinlock_t.__slots__:          # lockdep class, when the pool keeps one
        lock.cls = pool.classes[lock_id]
    return lock


def all_lock_stats(node):
    """[{name, acquired, contended, spins}] for every lock in the pool, busiest first."""
    pool = node.locks
    rows = []
    for i in range(pool.next[0]):
        acquired, contended, spins = (int(pool.stat[i * 4 + j]) for j in range(3))
        if acquired:
            rows.append({"name": pool.name_of(i), "acquired": acquired,
                         "contended": contended, "spins": spins})
    rows.sort(key=lambda r: (-r["contended"], -r["acquired"], r["name"]))
    return rows
