"""cache-scratch: passive false sharing (mimalloc-bench cache-scratch).

CPU 0 allocates a batch of small objects, one per CPU, and hands each CPU
one (its own included) through the mailbox.  A CPU frees the object it was
given -- allocated by CPU 0 -- and then allocates, writes ``WRITES`` times and
frees small objects of the same size: an allocator that gives a CPU memory
next to another CPU's makes those writes share cache lines.  The first
byte of every write is checked back.
"""

from kernel_model.gfp import GFP_KERNEL

from .common import check, fill, write_own

OBJ_SIZE = 8
WRITES = 4
EVERY = 32
loops = 0


def process(k):
    global loops
    if k.cpu == 0 and loops % EVERY == 0:
        for cpu in range(k.nr_cpus):
            addr = k.kmalloc(OBJ_SIZE, GFP_KERNEL)
            if addr is not None:
                fill(k, addr, OBJ_SIZE)
                if not k.send(cpu, addr, OBJ_SIZE):
                    k.kfree(addr)
    loops += 1
    while (item := k.recv_meta()) is not None:
        check(k, item[0], item[1], "handed over by CPU 0")
        k.kfree(item[0])
    addr = k.kmalloc(OBJ_SIZE, GFP_KERNEL)
    if addr is None:
        return
    write_own(k, addr, OBJ_SIZE, WRITES)
    k.kfree(addr)


def teardown(k):
    while (item := k.recv_meta()) is not None:
        k.kfree(item[0])
