"""A lost per-CPU update: process context takes a pending count down with
n = this_cpu_read(x); ...; this_cpu_write(x, n - 1) while the hardirq does
this_cpu_inc(x); an interrupt between the read and the write is lost."""


def process(k):
    n = k.this_cpu_read("pending")
    if n > 0:
        k.this_cpu_write("pending", n - 1)          # BUG: interrupts on between read and write


def hardirq(k):
    k.this_cpu_inc("pending")
