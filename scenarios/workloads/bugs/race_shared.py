"""One object every CPU of a race workload shares: CPU 0 allocates it (zeroed) in
setup and publishes its address in its per-CPU slot ``race_obj``; the other CPUs
read that slot remotely (k.per_cpu) until it is there.  Module globals are per
CPU (every CPU is its own process), so this is how a workload shares memory."""

from kernel_model.gfp import GFP_KERNEL

_obj = [0]


def setup_shared(k, size=64, init=None):
    """CPU 0 allocates and publishes; the others busy-wait for it (cpu_relax), so every
    CPU starts its iterations with the object in hand, whoever a schedule runs first."""
    if k.cpu == 0:
        obj = k.kzalloc(size, GFP_KERNEL)
        if init is not None:
            init(k, obj)                        # before it is published
        _obj[0] = obj
        k.this_cpu_write("race_obj", obj - (1 << 64) if obj >= 1 << 63 else obj)   # an s64 slot
        return
    while shared(k) is None:
        k.cpu_relax()


def shared(k):
    """The shared object's address, or None until CPU 0 has published it."""
    if not _obj[0]:
        _obj[0] = k.per_cpu("race_obj", 0) & 0xFFFFFFFFFFFFFFFF
    return _obj[0] or None


def teardown_shared(k):
    if k.cpu == 0 and _obj[0]:
        k.kfree(_obj[0])


def u32(b):
    return int.from_bytes(b, "little")


def p32(x):
    return (x & 0xFFFFFFFF).to_bytes(4, "little")
