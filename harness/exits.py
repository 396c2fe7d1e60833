"""Exit codes of every ``mmstress`` command, their help text, and the usage error.

One place for the numbers a CI script reads: ``mmstress run``, ``sweep``,
``replay``, ``minimize``, ``bench`` and the pytest plugin's runs all return
these.  ``UsageError`` is bad command-line input: ``harness.cli.main`` prints
its message on stderr and exits ``EXIT_USAGE`` -- never a traceback.
``printable`` escapes the control characters of user-controlled text before
any of it reaches a terminal.
"""

import re

EXIT_OK = 0             # clean: every scenario ran to the end with no violation
EXIT_VIOLATIONS = 1     # a checker fired, a workload raised, the model's invariants broke
EXIT_USAGE = 2          # bad usage or a bad scenario
EXIT_HARNESS = 3        # the harness itself failed: a CPU died, a soft lockup, a timeout
EXIT_SIGINT = 128 + 2   # interrupted by Ctrl-C; the report is still written
EXIT_SIGTERM = 128 + 15


def interrupted(signum):
    """The exit code of a run stopped by signal ``signum`` (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


EXIT_HELP = """exit codes:
  0    clean: every scenario ran to the end with no violation
  1    violations found: anything the workload or the model did (a checker fired, a
       deadlock or soft lockup, a workload raised, a CPU exited unasked, invariants broke)
  2    bad usage or a bad scenario (the message names the file, line and key), a report
       path that cannot be written (checked before the run), too little room in /dev/shm
  3    the harness itself failed: its own exception, a CPU killed by a signal, a timeout
  130  interrupted by Ctrl-C (SIGINT), 143 by SIGTERM (to mmstress or its whole process
       group, at any instant); the report is still written and says "interrupted"
"""


class UsageError(Exception):
    """Bad command-line input; the message is all the user sees (exit 2)."""


# What a terminal must not be sent from a user's file: C0 and C1 control characters
# (ESC starts a sequence that can clear the screen or move the cursor; CSI is \x9b),
# DEL, and the Unicode controls that reorder or hide text (bidi overrides and isolates,
# zero-width and line/paragraph separators).  Newlines and tabs are kept where asked.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\t\n]")


def printable(text, multiline=False):
    """``text`` safe to print to a terminal: each control character a user's file put
    there (a scenario key or name, a message, a header field) shown as its escape
    (``\\x1b``, ``\\u202e``).  ``multiline``: keep newlines and tabs (rendered reports)."""
    text = str(text)
    return (_UNSAFE if multiline else _UNSAFE_LINE).sub(lambda m: repr(m.group())[1:-1], text)
