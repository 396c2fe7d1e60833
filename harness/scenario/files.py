"""Reading a file someone else may have written: a regular file only, and only so much of it.

``mmstress run /dev/zero`` must not read until memory runs out, and a scenario
or report path that names a FIFO must not block: the file is opened without
blocking (``O_NONBLOCK``), ``fstat`` must say it is a regular file, and at most
``limit`` bytes are read -- a larger file is refused, not cut.  Used for
scenario files (here and in the pytest plugin), the scenario a trace names
(``harness/outputs/trust.py``) and JSON reports (``mmstress repro``).
"""

import os
import stat

MAX_SCENARIO_BYTES = 1 << 20        # a scenario file: 1 MiB of TOML is far more than any needs


class InputFileError(ValueError):
    """A file that cannot be read as input: missing, unreadable, not a regular file, too large."""


def read_input(path, limit, what="file"):
    """The bytes of the regular file ``path`` (at most ``limit``); InputFileError says why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "not a regular file")
        raise InputFileError(f"{path}: {kind}, not a {what}: only regular files are read")
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(f"{path}: larger than {limit:,} bytes: too large for a {what}")
    return data


def is_inside(path, folder):
    """Whether ``path`` (symlinks resolved) lies in ``folder`` or below it."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([real, top]) == top
    except ValueError:
        return False
