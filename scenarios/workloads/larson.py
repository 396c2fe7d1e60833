"""Larson-style cross-CPU churn in all four contexts (a workload module example).

Each CPU allocates in process context and hands half of what it frees to the
next CPU's mailbox, which frees it there (the larson server pattern: memory
allocated on one CPU, freed on another).  Hardirqs allocate with GFP_ATOMIC
and raise the softirq and the tasklet; the softirq works on a list shared
with process context under a lock taken with spin_lock_bh in process
context; the tasklet hands objects to another CPU.  Module globals are
per CPU: every CPU is its own process.
"""

from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL

SIZES = (16, 64, 192, 512, 2048)
held = []          # process context's objects
irq_held = []      # hardirq's objects (freed by the softirq)
pool = []          # shared by process context and the softirq, under "larson_pool"


def setup(k):
    k.this_cpu_write("iterations", 0)


def process(k):
    while (addr := k.recv()) is not None:
        k.kfree(addr)
    rng = k.rng
    if held and (len(held) >= 64 or rng.random() < 0.5):
        addr = held.pop(rng.randrange(len(held)))
        target = (k.cpu + 1) % k.nr_cpus
        if rng.random() < 0.5 or not k.send(target, addr):
            k.kfree(addr)
    else:
        addr = k.kmalloc(rng.choice(SIZES), GFP_KERNEL)
        if addr:
            k.write(addr, bytes([k.cpu]) * 8)
            held.append(addr)
    if rng.random() < 0.05:
        lock = k.lock("larson_pool")
        k.spin_lock_bh(lock)                   # the softirq takes it too
        if len(pool) < 16:
            pool.append(k.kmalloc(32, GFP_ATOMIC))
        k.spin_unlock_bh(lock)
    k.this_cpu_inc("iterations")


def hardirq(k):
    addr = k.kmalloc(32, GFP_ATOMIC)
    if addr:
        irq_held.append(addr)
    k.this_cpu_inc("hardirqs")
    k.raise_softirq()
    k.tasklet_schedule()


def softirq(k):
    while irq_held:
        flags = k.local_irq_save()             # irq_held is also appended to by the hardirq
        addr = irq_held.pop() if irq_held else None
        k.local_irq_restore(flags)
        if addr:
            k.kfree(addr)
    lock = k.lock("larson_pool")
    k.spin_lock(lock)
    while pool:
        addr = pool.pop()
        if addr:
            k.kfree(addr)
    k.spin_unlock(lock)


def tasklet(k):
    addr = k.kzalloc(k.rng.choice(SIZES), GFP_ATOMIC)
    if addr and not k.send((k.cpu + 1) % k.nr_cpus, addr):
        k.kfree(addr)


def teardown(k):
    for addr in held + irq_held + [a for a in pool if a]:
        k.kfree(addr)
    held.clear(), irq_held.clear(), pool.clear()
    while (addr := k.recv()) is not None:
        k.kfree(addr)
