"""Helpers the library workloads share: self-address patterns and their checks.

``pattern(addr, n)``: the first ``n`` bytes an object at ``addr`` should
hold -- its own address, 8 bytes little-endian, repeated (stress-ng's malloc
stressor writes each allocation's address into it and checks it before the
free).  A mismatch raises ``PatternMismatch``: the CPU reports a failure of
that context, which fails the run.
"""

PATTERN_MAX = 64            # bytes written and checked per object


class PatternMismatch(AssertionError):
    """An object did not hold what was written into it: memory was corrupted or reused."""


def pattern(addr, n, salt=0):
    word = ((addr ^ salt) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
    n = min(n, PATTERN_MAX)
    return (word * (n // 8 + 1))[:n]


def write_own(k, addr, size, writes):
    """Write a CPU-stamped pattern ``writes`` times (the false-sharing shapes' store loop)
    and check the last one stuck: another CPU's write into it is a reported failure."""
    for i in range(writes):
        k.write(addr, bytes([k.cpu, i]) * (size // 2))
    if k.read(addr, 2) != bytes([k.cpu, writes - 1]):
        raise AssertionError(f"object {addr:#x} of CPU {k.cpu} was overwritten")


def fill(k, addr, size, salt=0):
    k.write(addr, pattern(addr, size, salt))


def check(k, addr, size, what, salt=0, expect_addr=None):
    """Raise PatternMismatch unless ``addr`` holds the pattern of ``expect_addr`` (default addr)."""
    want = pattern(expect_addr if expect_addr is not None else addr, size, salt)
    got = k.read(addr, len(want))
    if got != want:
        raise PatternMismatch(f"{what}: object {addr:#x} ({size} bytes) holds {got[:16].hex()}..., "
                              f"expected its self-address pattern {want[:16].hex()}... "
                              f"(CPU {k.cpu}, {k.context})")
