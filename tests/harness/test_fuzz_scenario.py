"""Fuzzing the scenario reader: random TOML is a Scenario or a ScenarioError, never a crash or a hang.

A scenario file is input someone else may have written (issue 15).  Random
text, and random tables built from the real keys with values of every TOML
type (``inf``, ``nan``, huge integers, control characters, deep nesting),
must either validate or raise ``ScenarioError``; through the CLI an invalid
file is exit 2 with one ``mmstress:`` line and no raw control character.
Workload values are drawn from names that do not exist, so no module is
imported.  The CI budget is small (``EXAMPLES``); the nightly lane runs more.
"""

import json
import math
import os
import signal
import contextlib

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from harness import scenario
from harness.cli import main
from harness.exits import EXIT_USAGE

EXAMPLES = int(os.environ.get("MMSTRESS_FUZZ_EXAMPLES", 60))    # tests/nightly: 2000
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@contextlib.contextmanager
def no_hang(seconds=20):
    def ring(signum, frame):
        raise AssertionError(f"still reading the scenario after {seconds} s: a hang")
    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(x)}"
                            for k, x in v.items()) + " }"


def toml_text(table):
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in table.items())


scalars = (st.booleans() | st.integers(-2**64, 2**64) | st.floats(allow_nan=True)
           | st.sampled_from(["1s", "500ms", "2m", "0s", "24h", "25h", "9" * 400, "64M", "16M", "8G",
                              "x86_64", "x86_32", "lazy", "sigmask", "slub", "slab", "all",
                              "GFP_KERNEL", "GFP_ATOMIC|__GFP_ZERO", "8..4096", "0..3", "\x1b[2J",
                              "a\x00b", "kmalloc", "alloc_pages", "double-free"])
           | st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8) | st.sampled_from(
                          ["op", "size", "order", "gfp", "weight", "rate", "arch", "size"]), inner,
                          max_size=4), max_leaves=10)
op_entry = st.fixed_dictionaries({"op": st.sampled_from(["kmalloc", "alloc_pages", "vmalloc", "nope"])},
                                 optional={"size": scalars, "order": scalars, "gfp": scalars,
                                           "weight": scalars, "dist": scalars})
SAFE_WORKLOADS = st.sampled_from(["no_such_module_fuzz", "scenarios.workloads.no_such_fuzz", "",
                                  "..", "a b", "\x1b"])
tables = st.fixed_dictionaries({}, optional={
    "name": scalars, "description": scalars, "cpus": scalars, "duration": scalars, "ops": scalars,
    "seed": scalars, "workload": SAFE_WORKLOADS, "checkers": values, "expect": values,
    "memory": st.dictionaries(st.sampled_from(["arch", "page_size", "size", "page_data"]), scalars),
    "interrupts": st.dictionaries(st.sampled_from(["rate", "jitter", "mask", "softirq"]), scalars),
    "watchdog": st.dictionaries(st.just("thresh"), scalars),
    "process": st.fixed_dictionaries({"ops": st.lists(op_entry, max_size=3)},
                                     optional={"max_held": scalars, "free": scalars}),
    "fault": st.dictionaries(st.sampled_from(["fail-nth", "failslab", "fail_page_alloc"]), values),
}).flatmap(lambda t: st.dictionaries(st.text(max_size=12).filter(lambda k: k != "workload"),
                                     values, max_size=2).map(lambda extra: {**extra, **t}))


def parses_or_refuses(text):
    with no_hang():
        try:
            return scenario.parse(text, "fuzz.toml", "fuzz")
        except scenario.ScenarioError as exc:
            assert str(exc).startswith("fuzz.toml"), exc
            return exc


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text_parses_or_is_refused(text):
    parses_or_refuses(text)


@FUZZ
@given(table=tables)
def test_random_tables_of_the_real_keys_parse_or_are_refused(table):
    result = parses_or_refuses(toml_text(table))
    if isinstance(result, scenario.Scenario):
        d = result.duration
        assert d is None or 0 < d <= scenario.MAX_DURATION
        assert result.ops is None or 1 <= result.ops <= scenario.MAX_OPS


GOOD = {"cpus": 2, "duration": "1s", "memory": {"size": "32M"}, "interrupts": {"rate": 100},
        "process": {"ops": [{"op": "kmalloc", "size": "8..512"}, {"op": "alloc_pages", "order": "0..2"}],
                    "max_held": 16}}
PLACES = [("cpus",), ("duration",), ("memory", "size"), ("interrupts", "rate"), ("process", "max_held"),
          ("process", "ops", 0, "size"), ("process", "ops", 1, "order"), ("process", "ops", 0, "gfp"),
          ("name",), ("ops",), ("seed",), ("watchdog",), ("checkers",)]


@FUZZ
@given(place=st.sampled_from(PLACES), value=values)
def test_one_random_value_in_a_good_scenario_parses_or_is_refused_by_key(place, value):
    table = json.loads(json.dumps(GOOD))
    if place == ("ops",):
        del table["duration"]
    node = table
    for step in place[:-1]:
        node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
    node[place[-1]] = value
    result = parses_or_refuses(toml_text(table))
    if isinstance(result, scenario.ScenarioError) and "TOML" not in str(result):
        assert str(place[-1] if isinstance(place[-1], str) else place[-2]) in str(result), result


@FUZZ
@given(table=tables)
def test_the_cli_refuses_an_invalid_file_with_exit_2_and_escaped_text(tmp_path, capsys, table):
    path = tmp_path / "fuzz.toml"
    path.write_text(toml_text(table) + '"\\u001b[2J\\u001b[Hall checks passed" = 1\n', encoding="utf-8")
    with no_hang():
        code = main(["run", str(path)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and err.startswith("mmstress: ") and "Traceback" not in err
    assert "\x1b" not in err and "\x00" not in err


def test_deep_nesting_is_refused_not_a_recursion_error():
    for text in ("a = " + "[" * 5000 + "]" * 5000 + "\n", "a = " + "{b = " * 3000 + "1" + "}" * 3000,
                 "a = " + "[" * 20 + "]" * 20 + "\n"):
        result = parses_or_refuses(text)
        assert isinstance(result, scenario.ScenarioError) and "nested" in str(result), result


def test_good_scenarios_still_parse():
    """The property's good side: a plain scenario and its extremes validate."""
    sc = parses_or_refuses('cpus = 2\nduration = "24h"\n[process]\nops = [ { op = "kmalloc" } ]\n')
    assert isinstance(sc, scenario.Scenario) and sc.duration == 24 * 3600
    sc = parses_or_refuses('ops = 1000000000\n[process]\nops = [ { op = "kmalloc" } ]\n')
    assert isinstance(sc, scenario.Scenario) and sc.ops == 10**9
