"""The message protocol between a CPU process and the machine: the wire format and the kinds.

The machine's handler per kind is ``harness.supervisor.messages.MachineSide``.

Wire format (one pipe per CPU, written only by that CPU)::

    u32 little-endian length, then that many bytes of JSON: {"t": KIND, ...}

Kinds, who sends them, and what the machine does (``MachineSide.on_<kind>``,
as pytest-xdist's ``worker_<event>``):

    failure        a workload context failed (raised, or its CPU exited)  -> result.failures
    violation      a checker's record, the moment it is recorded           -> result.violations
    harness-error  the harness itself crashed in the CPU (exit 3)          -> result.failures
    stack          the answer to SIGUSR2: the CPU's Python stack           -> kept for the watchdog
    roots          kmemleak roots of this CPU's process state (addresses)  -> kept for the scan
    done           the CPU's last word: repeat counts of its records       -> merged into counts

A message of an unknown kind is dropped (a newer CPU cannot crash an older
machine); a torn message (a CPU killed mid-write) is left in the buffer.
``encode`` is the only way a CPU builds a message, so both sides agree on the
fields.  Checkers never see this module: they emit records through their
sink, and the runtime sends them.
"""

import json
import os
import struct

KINDS = ("failure", "violation", "harness-error", "stack", "roots", "done")


def encode(t, **fields):
    """The bytes of one message of kind ``t`` (length prefix included)."""
    assert t in KINDS, t
    data = json.dumps({"t": t, **fields}, default=str).encode()
    return struct.pack("<I", len(data)) + data


def read_available(fd, buf):
    """(messages, rest of buffer): read what the non-blocking pipe ``fd`` has, decode whole ones."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:                   # BlockingIOError included: nothing more now
            break
        if not chunk:
            break
        buf += chunk
    msgs = []
    while len(buf) >= 4:
        (size,) = struct.unpack_from("<I", buf)
        if len(buf) < 4 + size:
            break
        try:
            msgs.append(json.loads(buf[4:4 + size]))
        except ValueError:
            pass
        buf = buf[4 + size:]
    return msgs, buf
