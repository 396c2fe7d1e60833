"""CPU 0 writes CPU 1's per-CPU slot directly, while CPU 1 may be updating it."""


def process(k):
    if k.cpu == 0:
        k.per_cpu_write("rx_budget", 1, k.rng.randrange(64, 256))   # BUG: another CPU's slot
    else:
        k.this_cpu_add("rx_budget", -1)
