"""cross-rate: rptest's shape -- every N loops a batch of objects goes to the next CPU.

Each CPU allocates and frees objects of random sizes locally (a working set
of ``WORKING_SET``); every ``CROSS_RATE`` loops it hands ``BATCH`` of them to
the next CPU, which frees them among its own.  rptest's cross-thread rate
parameter is CROSS_RATE.
"""

from kernel_model.gfp import GFP_KERNEL

from .common import check, fill

CROSS_RATE = 16
BATCH = 8
WORKING_SET = 128
SIZES = (16, 24, 32, 64, 128, 256, 512, 1024, 4096)
held = []
loops = 0


def process(k):
    global loops
    rng = k.rng
    while (item := k.recv_meta()) is not None:
        check(k, item[0], item[1], "received batch")
        k.kfree(item[0])
    if len(held) >= WORKING_SET or held and rng.random() < 0.5:
        addr, size = held.pop(rng.randrange(len(held)))
        check(k, addr, size, "free")
        k.kfree(addr)
    else:
        size = rng.choice(SIZES)
        addr = k.kmalloc(size, GFP_KERNEL)
        if addr is not None:
            fill(k, addr, size)
            held.append((addr, size))
    loops += 1
    if loops % CROSS_RATE == 0 and k.nr_cpus > 1:
        target = (k.cpu + 1) % k.nr_cpus
        for _ in range(min(BATCH, len(held))):
            addr, size = held.pop()
            if not k.send(target, addr, size):
                held.append((addr, size))
                break
        k.this_cpu_inc("cross_batches")


def teardown(k):
    while (item := k.recv_meta()) is not None:
        held.append(item)
    for addr, size in held:
        check(k, addr, size, "teardown")
        k.kfree(addr)
    held.clear()
