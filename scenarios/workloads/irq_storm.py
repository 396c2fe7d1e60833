"""irq-storm: a network driver's shape under a hardirq storm.

    process  refills the CPU's rx buffer pool with GFP_KERNEL (outside the
             lock), then adds under spin_lock_irqsave("rx_pool") -- the
             hardirq takes the same lock
    hardirq  "a packet arrived": takes a buffer from the pool (or, when the
             pool is dry, kmalloc(GFP_ATOMIC)), wraps it in an "skb"
             (kmalloc(GFP_ATOMIC), as __netdev_alloc_skb), writes the packet,
             queues the skb on the CPU's rx queue with interrupts off and
             raises NET_RX_SOFTIRQ
    softirq  NAPI poll: dequeues skbs (local_irq_save around the queue),
             checks each packet, moves it to the completion queue, schedules
             the tasklet
    tasklet  frees completed skbs and their buffers (kfree), as a tx
             completion tasklet would

An allocation that fails in interrupt context drops the packet (counted in
``rx_dropped``), as a driver does.  Packets received go to ``rx_packets``.
"""

from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL, __GFP_NOWARN

from .common import check, fill

POOL_TARGET = 32
BUF_SIZE = 1536                 # an MTU-sized rx buffer
SKB_SIZE = 232                  # sizeof(struct sk_buff), about
pool = []                       # rx buffers: process context fills, hardirq takes ("rx_pool")
rxq = []                        # (skb, buf): hardirq appends, softirq pops (irqs off)
done = []                       # softirq appends, tasklet pops (both softirq context: no nesting)
seq = 0


def process(k):
    lock = k.lock("rx_pool")
    flags = k.spin_lock_irqsave(lock)
    need = POOL_TARGET - len(pool)
    k.spin_unlock_irqrestore(lock, flags)
    fresh = []
    for _ in range(min(need, 8)):
        buf = k.kmalloc(BUF_SIZE, GFP_KERNEL)
        if buf is not None:
            fresh.append(buf)
    flags = k.spin_lock_irqsave(lock)
    pool.extend(fresh)
    k.spin_unlock_irqrestore(lock, flags)
    k.cond_resched()


def hardirq(k):
    global seq
    lock = k.lock("rx_pool")
    k.spin_lock(lock)                          # hardirq: interrupts are already off
    buf = pool.pop() if pool else None
    k.spin_unlock(lock)
    if buf is None:
        buf = k.kmalloc(BUF_SIZE, GFP_ATOMIC | __GFP_NOWARN)
    skb = k.kmalloc(SKB_SIZE, GFP_ATOMIC | __GFP_NOWARN) if buf is not None else None
    if skb is None:
        if buf is not None:
            k.kfree(buf)
        k.this_cpu_inc("rx_dropped")
        return
    seq += 1
    fill(k, buf, 64, salt=seq)
    k.write(skb, seq.to_bytes(8, "little"))
    rxq.append((skb, buf))
    k.raise_softirq()


def softirq(k):
    while True:
        flags = k.local_irq_save()
        item = rxq.pop(0) if rxq else None
        k.local_irq_restore(flags)
        if item is None:
            break
        skb, buf = item
        salt = int.from_bytes(k.read(skb, 8), "little")
        check(k, buf, 64, "rx packet", salt=salt)
        done.append(item)
        k.this_cpu_inc("rx_packets")
    if done:
        k.tasklet_schedule()


def tasklet(k):
    while done:
        skb, buf = done.pop()
        k.kfree(buf)
        k.kfree(skb)


def teardown(k):
    for skb, buf in rxq + done:
        k.kfree(buf)
        k.kfree(skb)
    rxq.clear(), done.clear()
    for buf in pool:
        k.kfree(buf)
    pool.clear()
