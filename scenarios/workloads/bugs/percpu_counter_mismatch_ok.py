"""Correct twin of percpu_counter_mismatch: bottom halves off around the read-modify-write."""


def process(k):
    k.local_bh_disable()
    v = k.get_cpu_var("rx_packets")
    for _ in range(30):
        pass
    k.put_cpu_var("rx_packets", v + 2)
    k.local_bh_enable()


def hardirq(k):
    k.raise_softirq()


def softirq(k):
    k.this_cpu_add("rx_packets", 3)
