"""harness/commands/_colour.py: when to colour, and that only whole header lines are."""

import io

import pytest

from harness.commands import _colour


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("mode, tty, environ, expected", [
    ("auto", True, {"TERM": "xterm"}, True),
    ("auto", False, {"TERM": "xterm"}, False),
    ("auto", True, {"TERM": "xterm", "NO_COLOR": "1"}, False),
    ("auto", True, {"TERM": "xterm", "NO_COLOR": ""}, True),       # empty: not set (no-color.org)
    ("auto", True, {"TERM": "dumb"}, False),
    ("never", True, {"TERM": "xterm"}, False),
    ("always", False, {"NO_COLOR": "1", "TERM": "dumb"}, True),
])
def test_wanted(mode, tty, environ, expected):
    stream = Tty() if tty else io.StringIO()
    assert _colour.wanted(mode, stream, environ) is expected


def test_only_header_lines_are_painted_whole_even_when_written_in_pieces():
    out = io.StringIO()
    s = _colour.HeaderColour(out)
    for piece in ("plain line\nBUG: KASAN: ", "double-free in kfree\n", " BUG: indented\n",
                  "WARNING: possible circular locking dependency detected\nCPU: 1"):
        s.write(piece)
    s.flush()
    assert out.getvalue() == ("plain line\n\x1b[1;31mBUG: KASAN: double-free in kfree\x1b[0m\n"
                              " BUG: indented\n\x1b[1;33mWARNING: possible circular locking "
                              "dependency detected\x1b[0m\nCPU: 1")


def test_the_wrapper_passes_on_what_it_does_not_handle():
    s = _colour.HeaderColour(Tty())
    assert s.isatty() and s.getvalue() == ""
