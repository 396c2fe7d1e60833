"""A refcount get/put written as plain read-then-write on a shared object: two
CPUs take and drop references at once, and an update that lands between one
CPU's read and its write is lost (the count drifts; one that reaches zero early
frees an object still in use).  KCSAN reports the read/write pair."""

from scenarios.workloads.bugs.race_shared import p32, setup_shared, shared, teardown_shared, u32


def setup(k):
    setup_shared(k, init=lambda k, obj: k.write(obj, p32(1)))   # CPU 0 holds the first reference


teardown = teardown_shared


def get(k, obj):
    k.write(obj, p32(u32(k.read(obj, 4)) + 1))      # BUG: not atomic


def put(k, obj):
    k.write(obj, p32(u32(k.read(obj, 4)) - 1))      # BUG: not atomic


def process(k):
    obj = shared(k)
    if obj is None:
        return
    get(k, obj)
    k.read(obj + 8, 8)                              # use the object
    put(k, obj)
