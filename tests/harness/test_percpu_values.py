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
