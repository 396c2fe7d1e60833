"""Fuzzing the trace reader: random bytes, damaged bodies and mutated headers are refused, never crash.

A trace is a file someone else may have written (issue 15).  Whatever its
bytes, reading it (``Trace.load``) and getting it ready to replay
(``recording.load_for_replay``: the header schema, the trust and hash checks,
the scenario) either succeed or raise ``TraceError`` naming the problem; the
CLI turns that into exit 2 with one line, never a traceback.  Each example
runs under an alarm, so a read that blocks or a decompression that does not
end fails the test instead of hanging it.  The CI budget is small
(``EXAMPLES``); tests/nightly/test_fuzz_nightly.py runs the same properties
with many more examples.
"""

import contextlib
import json
import os
import shutil
import signal
import zlib

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from harness.cli import main
from harness.exits import EXIT_USAGE
from harness.outputs import recording
from harness.scheduler.trace import FORMAT, HEADER_SCHEMA, BadTrace, Trace, TraceError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD_TRACE = os.path.join(ROOT, "ci", "regressions", "lock-abba.mmtrace")
EXAMPLES = int(os.environ.get("MMSTRESS_FUZZ_EXAMPLES", 60))    # tests/nightly: 2000
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ALARM_S = 20


@contextlib.contextmanager
def no_hang(seconds=ALARM_S):
    def ring(signum, frame):
        raise AssertionError(f"still reading the trace after {seconds} s: a hang")
    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def good_parts():
    with open(GOOD_TRACE, "rb") as f:
        first = f.readline()
        return json.loads(first), f.read()


def write_trace(folder, header_bytes, body):
    path = os.path.join(folder, "fuzz.mmtrace")
    with open(path, "wb") as f:
        f.write(header_bytes + b"\n" + body)
    return path


def refused_or_ready(path):
    """Load ``path`` for replay: it works or raises TraceError; anything else fails the test."""
    with no_hang():
        try:
            recording.load_for_replay(path)
        except TraceError as exc:
            assert str(exc), "a refusal says why"
            return exc
    return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_are_refused(tmp_path, data):
    path = tmp_path / "random.mmtrace"
    path.write_bytes(data)
    assert isinstance(refused_or_ready(str(path)), TraceError)


@FUZZ
@given(field=st.sampled_from(sorted(HEADER_SCHEMA)), value=json_values, drop=st.booleans())
def test_a_mutated_header_field_is_refused_by_name_or_replays(tmp_path, field, value, drop):
    header, body = good_parts()
    if drop:
        header.pop(field, None)
    else:
        header[field] = value
    try:
        text = json.dumps(header).encode()
    except ValueError:
        return
    exc = refused_or_ready(write_trace(str(tmp_path), text, body))
    if exc is not None and isinstance(exc, BadTrace) and "header field" in str(exc):
        assert field in str(exc) or "steps" in str(exc) or "violation_step" in str(exc)


@FUZZ
@given(body=st.binary(max_size=500) | st.builds(
    lambda n, b: zlib.compress(bytes([b % 3, b % 30]) * n), st.integers(0, 5000), st.integers(0, 255)))
def test_a_damaged_or_oversized_body_is_refused(tmp_path, body):
    header, _ = good_parts()
    exc = refused_or_ready(write_trace(str(tmp_path), json.dumps(header).encode(), body))
    try:
        raw = zlib.decompress(body)
    except zlib.error:
        raw = None
    fits = raw is not None and len(raw) == 2 * header["steps"] and all(
        cpu < header["cpus"] for cpu in raw[0::2]) and all(k < 25 for k in raw[1::2])
    assert fits or isinstance(exc, BadTrace)       # other steps that fit: replay's to judge


@FUZZ
@given(junk=st.binary(min_size=1, max_size=300))
def test_the_cli_refuses_junk_with_exit_2_and_one_message(tmp_path, capsys, junk):
    path = tmp_path / "junk.mmtrace"
    path.write_bytes(b"{" + junk)
    with no_hang():
        code = main(["replay", str(path)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and err.startswith("mmstress: ") and "Traceback" not in err


def test_a_zlib_bomb_stops_at_the_declared_size(tmp_path):
    header, _ = good_parts()
    bomb = zlib.compress(b"\0" * (64 << 20), 9)              # 64 MiB of steps in ~64 KB
    exc = refused_or_ready(write_trace(str(tmp_path), json.dumps(header).encode(), bomb))
    assert isinstance(exc, BadTrace) and "more than the" in str(exc)


def test_deep_json_nesting_and_huge_numbers_are_refused(tmp_path):
    for first in (b"[" * 100000, b'{"format": ' + b"9" * 5000 + b"}"):
        path = tmp_path / "deep.mmtrace"
        path.write_bytes(first + b"\n")
        assert "not an mmstress trace" in str(refused_or_ready(str(path)))


def test_out_of_bounds_fields_are_named(tmp_path):
    header, body = good_parts()
    for field, value in (("ops", 10**15), ("cpus", 0), ("cpus", 65), ("steps", -1),
                         ("seed", "1"), ("duration", 1e300), ("options", {"depth": [1] * 5000})):
        bad = dict(header, **{field: value})
        exc = refused_or_ready(write_trace(str(tmp_path), json.dumps(bad).encode(), body))
        assert isinstance(exc, BadTrace) and f"header field {field}" in str(exc), (field, exc)


def test_the_good_trace_loads_and_is_ready_to_replay(tmp_path):
    """The property's good side: the unmutated trace passes every check."""
    path = str(tmp_path / "lock-abba.mmtrace")
    shutil.copyfile(GOOD_TRACE, path)
    assert refused_or_ready(path) is None
    trace = Trace.load(path)
    assert trace.header["format"] == FORMAT and len(trace.steps) == trace.header["steps"]


def test_a_fifo_and_a_device_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.mmtrace"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        with no_hang(5):
            with pytest.raises(BadTrace, match="not a regular file"):
                Trace.load(path)
