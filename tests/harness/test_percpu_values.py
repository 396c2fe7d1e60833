"""Per-CPU variables hold what kernel ones do: signed counters and kernel addresses."""

import pytest

from harness.runtime import percpu


@pytest.mark.parametrize("value", [0, 1, -1, -5000, 2**62, 0xffff888001000040, 0xffffc90000001000,
                                   2**64 - 2**41])
def test_a_value_reads_back_as_written(value):
    assert percpu.from_slot(percpu.to_slot("v", value)) == value


def test_adds_wrap_at_64_bits_and_a_counter_below_zero_reads_negative():
    assert percpu.from_slot(percpu._wrap(percpu.to_slot("v", 0) - 3)) == -3
    assert percpu._wrap((2**63 - 1) + 1) == -(2**63)


@pytest.mark.parametrize("value,err", [(2**64, ValueError), (-(2**63) - 1, ValueError),
                                       ("7", TypeError), (1.5, TypeError), (True, TypeError)])
def test_what_does_not_fit_is_a_clear_error_naming_the_variable(value, err):
    with pytest.raises(err, match="'v'"):
        percpu.to_slot("v", value)


def test_each_cpus_copy_of_a_variable_lives_in_that_cpus_own_area():
    """The kernel's per-CPU areas: two CPUs' copies of one variable never share a
    64-byte line, and every variable reads back per CPU (sums) as written."""
    import kernel_model as km
    from kernel_model import context
    old = context.this_cpu
    with km.boot(total="16M", nr_cpus=3, max_locks=16,
                 extra_sections=percpu.arena_sections(3)) as node:
        try:
            context.set_this_cpu(context.CPU(0))
            pc = percpu.PerCpuVars(node, 3)
            for name in ("a", "b"):
                for cpu in range(3):
                    pc.access(name, cpu, "remote", 1, 10 * cpu + len(name))
            lines = {cpu: {pc._slot(n, cpu) * 8 // 64 for n in ("a", "b")} for cpu in range(3)}
            assert all(not (lines[c] & lines[d]) for c in range(3) for d in range(c))
            assert pc.sums() == {"a": [1, 11, 21], "b": [1, 11, 21]}
        finally:
            context.set_this_cpu(old)
