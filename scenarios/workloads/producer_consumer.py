"""producer-consumer: xmalloc-test's shape -- disjoint allocating and freeing CPUs.

Even CPUs produce: they allocate objects of random sizes, write the
self-address pattern and push them into the next (odd) CPU's mailbox, a
bounded queue: when it is full the producer keeps the object and retries
next step (it blocks, as xmalloc-test's producer waits for room), holding at
most ``MAX_PENDING``.  Odd CPUs consume: they pop, check the pattern and
free.  No CPU both allocates and frees; with an odd number of CPUs the last
one has no producer and idles (one CPU alone allocates and frees itself).
"""

from kernel_model.gfp import GFP_KERNEL

from .common import check, fill

BATCH = 8
MAX_PENDING = 64
SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048)
pending = []                # producer: objects waiting for room in the queue


def _producer(k):
    return k.cpu % 2 == 0 and k.cpu + 1 < k.nr_cpus or k.nr_cpus == 1


def process(k):
    if k.nr_cpus == 1:                     # nobody to hand to: free it yourself
        addr = k.kmalloc(k.rng.choice(SIZES), GFP_KERNEL)
        if addr is not None:
            k.kfree(addr)
        return
    if _producer(k):
        target = k.cpu + 1
        while pending:
            addr, size = pending[-1]
            if not k.send(target, addr, size):
                break
            pending.pop()
        for _ in range(BATCH if len(pending) < MAX_PENDING else 0):
            size = k.rng.choice(SIZES)
            addr = k.kmalloc(size, GFP_KERNEL)
            if addr is None:
                continue
            fill(k, addr, size)
            if not k.send(target, addr, size):
                pending.append((addr, size))
    else:
        for _ in range(BATCH * 2):
            item = k.recv_meta()
            if item is None:
                break
            check(k, item[0], item[1], "consumed")
            k.kfree(item[0])


def teardown(k):
    # Every CPU stopped before teardown: what is still queued is the consumer's to free.
    for addr, size in pending:
        k.kfree(addr)
    pending.clear()
    while (item := k.recv_meta()) is not None:
        check(k, item[0], item[1], "teardown")
        k.kfree(item[0])
