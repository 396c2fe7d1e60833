"""vmalloc-churn: lib/test_vmalloc.c's shapes, in process context (vmalloc may sleep).

Each process iteration runs one test, taking turns:

    fix_size        vmalloc(3 pages), write, check, vfree       (fix_size_alloc_test)
    random_size     vmalloc(1..100 pages)                       (random_size_alloc_test)
    align_shift     sizes of 2**s pages, s = 0..5: power-of-two spans
                    (align_shift_alloc_test asks __vmalloc_node for an alignment;
                    the model's vmalloc takes no alignment, so the shape is the sizes)
    full_fit        three areas, free the middle, ask for exactly its size
                    again: it must fit the hole's span or go elsewhere, both fine
                                                                (full_fit_alloc_test)
    long_busy_list  ``BUSY`` one-page areas stay busy for the whole run while the
                    other tests allocate around them          (long_busy_list_alloc_test)

Every area gets the self-address pattern on its first and last page and is
checked before vfree -- through the backing page's direct-map alias
(vmalloc_to_pfn + page_address, as a driver reaches vmalloc memory by page).
"""

from kernel_model import vmalloc_to_pfn

from .common import PatternMismatch, pattern

PAGE = 4096
BUSY = 100
TESTS = ("fix_size", "random_size", "align_shift", "full_fit")
busy = []
n = 0


def _alias(k, addr):
    return k.page_address(k.pfn_to_page(vmalloc_to_pfn(addr))) + addr % PAGE


def fill(k, addr, n):
    k.write(_alias(k, addr), pattern(addr, n))


def check(k, addr, n, what):
    if k.read(_alias(k, addr), n) != pattern(addr, n):
        raise PatternMismatch(f"{what}: vmalloc area {addr:#x} lost its pattern (CPU {k.cpu})")


def _alloc(k, size, zero=False):
    addr = (k.vzalloc if zero else k.vmalloc)(size)
    if addr is not None:
        fill(k, addr, 64)
        fill(k, addr + size - 64, 64)
    return addr


def _free(k, addr, size, what):
    check(k, addr, 64, what)
    check(k, addr + size - 64, 64, what)
    k.vfree(addr)


def setup(k):
    for _ in range(BUSY):
        addr = _alloc(k, PAGE)
        if addr is not None:
            busy.append(addr)
        k.cond_resched()


def process(k):
    global n
    test = TESTS[n % len(TESTS)]
    n += 1
    rng = k.rng
    if test == "fix_size":
        sizes = [3 * PAGE]
    elif test == "random_size":
        sizes = [rng.randint(1, 100) * PAGE]
    elif test == "align_shift":
        sizes = [(1 << s) * PAGE for s in range(6)]
    else:
        size = rng.randint(1, 8) * PAGE
        a, b, c = (_alloc(k, size) for _ in range(3))
        if b is not None:
            _free(k, b, size, "full_fit middle")
            b = _alloc(k, size, zero=True)
        for addr in (a, b, c):
            if addr is not None:
                _free(k, addr, size, "full_fit")
        return
    areas = [(s, _alloc(k, s)) for s in sizes]
    for s, addr in areas:
        if addr is not None:
            _free(k, addr, s, test)


def teardown(k):
    for addr in busy:
        _free(k, addr, PAGE, "long_busy_list")
    busy.clear()
