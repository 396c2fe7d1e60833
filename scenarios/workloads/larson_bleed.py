"""larson-bleed: larson's server shape, where objects bleed from CPU to CPU.

Each CPU keeps an array of slots.  A step frees the object in a random slot
and puts a new one of random size there (larson's inner loop).  Every
``ROUND`` steps the CPU hands its whole array to the next CPU through the
mailbox -- larson's thread hand-off -- and adopts whatever the previous CPU
handed it, so most frees are of objects another CPU allocated.  The slot
holds the allocating CPU in its first byte; adopting checks it survived.
"""

from kernel_model.gfp import GFP_KERNEL

from .common import check, fill

NR_SLOTS = 64
ROUND = 200
SIZES = (8, 16, 32, 48, 64, 96, 128, 192, 256, 512, 1024)
slots = []                  # [(addr, size)]
steps = 0


def _new(k):
    size = k.rng.choice(SIZES)
    addr = k.kmalloc(size, GFP_KERNEL)
    if addr is not None:
        fill(k, addr, size)
    return addr, size


def setup(k):
    for _ in range(NR_SLOTS):
        slots.append(_new(k))


def process(k):
    global steps
    while (item := k.recv_meta()) is not None:        # adopt the previous CPU's objects
        addr, size = item
        check(k, addr, size, "adopted from another CPU")
        slots.append((addr, size))
    i = k.rng.randrange(len(slots)) if slots else None
    if i is not None:
        addr, size = slots[i]
        if addr is not None:
            check(k, addr, size, "free")
            k.kfree(addr)
        slots[i] = _new(k)
    steps += 1
    if steps % ROUND == 0 and k.nr_cpus > 1:
        target, keep = (k.cpu + 1) % k.nr_cpus, []
        for addr, size in slots:
            if addr is not None and not k.send(target, addr, size):
                keep.append((addr, size))
        slots[:] = keep
        while len(slots) < NR_SLOTS // 4:
            slots.append(_new(k))


def teardown(k):
    while (item := k.recv_meta()) is not None:
        slots.append(item)
    for addr, size in slots:
        if addr is not None:
            check(k, addr, size, "teardown")
            k.kfree(addr)
    slots.clear()
