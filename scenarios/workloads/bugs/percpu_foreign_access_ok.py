"""Correct twin: CPU 0 asks CPU 1 (mailbox message) and CPU 1 writes its own slot."""

BUDGET = 0x2000


def process(k):
    if k.cpu == 0:
        k.send(1, BUDGET, k.rng.randrange(64, 256))
        k.per_cpu("rx_budget", 1)                                   # a remote read is fine
    else:
        while (item := k.recv_meta()) is not None:
            k.this_cpu_write("rx_budget", item[1])
        k.this_cpu_add("rx_budget", -1)
