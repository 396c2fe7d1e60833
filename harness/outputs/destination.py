"""Where a command writes (``--json``, ``--junit``, ``--trace``, ``--html``, ``-o``): checked before it runs.

A path that cannot be written is refused while the options are parsed, not
after a long run (issue 15: ``--json /missing/dir/r.json`` failed only after
the whole run, with a traceback and exit 3).  Each writing option is declared
with ``type=writable``; argparse then refuses a bad path with exit 2 and
``mmstress run: error: argument --json: /missing/dir/r.json: no such
directory /missing/dir``.  What is checked is what the write needs: the
folder exists, is a folder, and this user may create files in it (reports
are written to ``PATH.tmp`` and renamed over ``PATH``); the path is not a
folder; an existing file is writable.  A write that still fails at the end
(the disk filled up meanwhile) is ``failed(flag, path, exc)``: one line on
stderr naming the option, the path and the reason -- never a traceback.
"""

import argparse
import os
import sys


def problem(path):
    """Why ``path`` cannot be written as a report (a phrase), or None if it can."""
    if not path:
        return "an empty path"
    full = os.path.abspath(path)
    folder = os.path.dirname(full)
    if os.path.isdir(full):
        return f"{path} is a directory; give a file path"
    if not os.path.exists(folder):
        return f"{path}: no such directory {folder}"
    if not os.path.isdir(folder):
        return f"{path}: {folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{path}: the directory {folder} is not writable"
    if os.path.exists(full) and not os.access(full, os.W_OK):
        return f"{path}: the file is not writable"
    return None


# Options that name a file a command writes, in every command that has them.
OUTPUT_OPTIONS = ("--json", "--junit", "--trace", "--html", "-o", "--output", "--checkpoint")


def scan(argv):
    """(option, why) of the first ``OPTION PATH`` or ``OPTION=PATH`` in ``argv`` whose path
    cannot be written, or None.  ``harness.cli`` runs it before building the parser
    (which imports the model: a third of a second of CPU), so a bad report path costs
    no more than the interpreter's start; the options' ``type=writable`` says the same."""
    for i, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        if flag not in OUTPUT_OPTIONS:
            continue
        if not eq:
            if i + 1 >= len(argv):
                continue                        # argparse says the value is missing
            value = argv[i + 1]
        why = problem(value)
        if why:
            return flag, why
    return None


def writable(path):
    """argparse ``type=`` of an option naming a file to write: the path, or exit 2 with why."""
    why = problem(path)
    if why:
        raise argparse.ArgumentTypeError(why)
    return path


def failed(flag, path, exc):
    """Say on stderr that ``flag PATH`` could not be written after all (``exc``: the OSError)."""
    reason = getattr(exc, "strerror", None) or str(exc)
    print(f"mmstress: {flag} {path}: could not write it: {reason}", file=sys.stderr)


def write_all(outputs, doc, code, usage_code=2):
    """Write ``doc`` to each ``(flag, path, write)`` whose path was given; a report that
    cannot be written after all is said on stderr and makes the exit ``usage_code``
    (the others are still written).  Returns the exit code."""
    for flag, path, write in outputs:
        if path:
            try:
                write(path, doc)
            except OSError as exc:
                failed(flag, path, exc)
                code = usage_code
    return code
