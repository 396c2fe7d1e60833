"""Lost updates: a softirq adds to a per-CPU counter inside process context's unprotected
read-modify-write, so at the end the counter is less than the sum of its updates.
"""


def process(k):
    v = k.get_cpu_var("rx_packets")
    for _ in range(30):
        pass
    k.put_cpu_var("rx_packets", v + 2)      # BUG: overwrites what the softirq added meanwhile


def hardirq(k):
    k.raise_softirq()


def softirq(k):
    k.this_cpu_add("rx_packets", 3)
