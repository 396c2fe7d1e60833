"""The nightly lane of the input fuzzers: the same properties as tests/harness/test_fuzz_*.py, 2000 examples each.

Random trace bytes, damaged bodies, mutated headers and random scenario TOML
must be refused with exit 2 or read, never crash or hang.  The CI lane runs
60 examples of each; this one runs many more.  Run with ``pytest --nightly``.
"""

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = 2000


def _load(name):
    """tests/harness/NAME.py loaded afresh with EXAMPLES examples per property."""
    path = os.path.join(os.path.dirname(HERE), "harness", name + ".py")
    spec = importlib.util.spec_from_file_location("nightly_" + name, path)
    module = importlib.util.module_from_spec(spec)
    old = os.environ.get("MMSTRESS_FUZZ_EXAMPLES")
    os.environ["MMSTRESS_FUZZ_EXAMPLES"] = str(EXAMPLES)
    try:
        spec.loader.exec_module(module)
    finally:
        if old is None:
            del os.environ["MMSTRESS_FUZZ_EXAMPLES"]
        else:
            os.environ["MMSTRESS_FUZZ_EXAMPLES"] = old
    assert module.EXAMPLES == EXAMPLES
    return module


_trace, _scenario = _load("test_fuzz_trace"), _load("test_fuzz_scenario")
_night = pytest.mark.nightly

test_random_trace_bytes = _night(_trace.test_random_bytes_are_refused)
test_mutated_trace_headers = _night(_trace.test_a_mutated_header_field_is_refused_by_name_or_replays)
test_damaged_trace_bodies = _night(_trace.test_a_damaged_or_oversized_body_is_refused)
test_cli_on_junk_traces = _night(_trace.test_the_cli_refuses_junk_with_exit_2_and_one_message)
test_random_scenario_text = _night(_scenario.test_random_text_parses_or_is_refused)
test_random_scenario_tables = _night(_scenario.test_random_tables_of_the_real_keys_parse_or_are_refused)
test_one_random_value = _night(_scenario.test_one_random_value_in_a_good_scenario_parses_or_is_refused_by_key)
test_cli_on_invalid_scenarios = _night(_scenario.test_the_cli_refuses_an_invalid_file_with_exit_2_and_escaped_text)
