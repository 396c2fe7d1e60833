"""The arena: one shared-memory segment that holds every byte of model state.

The model is struct-of-arrays: each field of ``struct page``, ``struct zone``,
``per_cpu_pages`` ... is one typed array (a *section*) in this segment.  Hot
paths index ``memoryview.cast`` views (one shared int read or write ~100 ns);
scans (/proc views, invariant checks) use NumPy views of the same bytes.

Byte layout of the segment::

    offset  size            field
    0       8               magic b"MMSTRESS"
    8       4   u32         layout version (ARENA_VERSION)
    12      4   u32         number of sections N
    16      8   u64         total segment size in bytes
    24      8   u64         pid of the owner (the process that created it)
    32      48*N            directory, one entry per section:
                              0  31  name, ASCII, NUL padded
                              31  1  struct typecode (B H I i Q q)
                              32  8  u64 byte offset of the section
                              40  8  u64 element count
    ...                     sections, each 64-byte aligned (a cache line);
                            the page data section, if any, is page aligned.

Which sections exist is decided by the modules that own them (page.py,
zone.py, pcp.py, spinlock.py, slab ...), each of which documents its own
fields.  Lifetime: the owner creates the segment and is the only process that
unlinks it -- on close, on leaving a ``with`` block, from a finaliser at
interpreter exit, and, if the owner was killed with SIGKILL, from the
multiprocessing resource tracker or from the next owner's ``sweep_stale()``.
CPUs are forked children: they inherit the mapping and never unlink.
Processes that attach by name unregister from the resource tracker so their
exit does not destroy a segment they do not own.

Space.  /dev/shm is a tmpfs: creating a segment larger than its free space
succeeds (the file is sparse) and the first touch of a page past the limit
is a SIGBUS that kills the process.  So ``create`` compares the segment's
size with the free space of /dev/shm first and raises ``ArenaSpaceError``
(a ``ConfigError``) naming both.
"""

import os
import secrets
import struct
import weakref
from multiprocessing import resource_tracker, shared_memory

import numpy as np

from .errors import ConfigError

ARENA_VERSION = 1
SHM_DIR = "/dev/shm"
MAGIC = b"MMSTRESS"
PREFIX = "mmstress_"
_HEADER = struct.Struct("<8sIIQQ")
_ENTRY = struct.Struct("<31scQQ")
_ITEMSIZE = {"B": 1, "H": 2, "I": 4, "i": 4, "Q": 8, "q": 8}
_NP = {"B": np.uint8, "H": np.uint16, "I": np.uint32, "i": np.int32,
       "Q": np.uint64, "q": np.int64}


def _align(n, a):
    return (n + a - 1) // a * a


class ArenaSpaceError(ConfigError):
    """/dev/shm has less free space than the arena needs.

    Common causes: a [memory] size too large for this machine's /dev/shm (a
    container's default is 64 MB); segments of killed runs still there;
    many runs at once (a sweep's -j), each with its own arena.
    """


def _mib(n):
    return f"{n / (1 << 20):,.1f} MiB"


def check_space(size, shm_dir=SHM_DIR):
    """Raise ArenaSpaceError unless ``shm_dir`` has ``size`` bytes free (no SIGBUS later)."""
    try:
        st = os.statvfs(shm_dir)
    except OSError:
        return                               # no such filesystem here: nothing to compare
    free = st.f_bavail * st.f_frsize
    if free < size:
        raise ArenaSpaceError(f"not enough shared memory for the arena: {shm_dir} has "
                              f"{_mib(free)} free, the arena needs {_mib(size)}")


class Arena:
    """A shared segment with named typed sections.

    ``arena.v[name]`` is the memoryview of a section (index it like a list),
    ``arena.np(name)`` its NumPy view.  Build one with ``Arena.create`` (owner)
    or ``Arena.attach(name)``.
    """

    def __init__(self, shm, owner, directory):
        self._shm = shm
        self.name = shm.name
        self.owner = owner
        self.size = shm.size
        self._dir = directory                  # name -> (typecode, offset, count)
        self._np = {}
        self._slices = []
        self.v = {}
        buf = shm.buf
        for sname, (tc, off, count) in directory.items():
            self.v[sname] = buf[off:off + count * _ITEMSIZE[tc]].cast(tc)
        self._owner_pid = os.getpid() if owner else None
        self._finalizer = weakref.finalize(self, Arena._release, shm, self._owner_pid, self.v,
                                           self._np, self._slices)

    # -- construction -------------------------------------------------------
    @classmethod
    def create(cls, sections, page_size=4096):
        """Create a segment holding ``sections``: [(name, typecode, count)].

        A section named ``page_data`` is aligned to ``page_size``.
        """
        sweep_stale()
        offset = _align(_HEADER.size + _ENTRY.size * len(sections), 64)
        directory = {}
        for name, tc, count in sections:
            if name in directory:
                raise ValueError(f"duplicate arena section {name}")
            if len(name) > 31 or tc not in _ITEMSIZE:
                raise ValueError(f"bad arena section {name}/{tc}")
            offset = _align(offset, page_size if name == "page_data" else 64)
            directory[name] = (tc, offset, int(count))
            offset += int(count) * _ITEMSIZE[tc]
        size = _align(max(offset, 64), 4096)
        check_space(size)
        seg = f"{PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
        shm = shared_memory.SharedMemory(name=seg, create=True, size=size)
        _HEADER.pack_into(shm.buf, 0, MAGIC, ARENA_VERSION, len(directory), size, os.getpid())
        for i, (name, (tc, off, count)) in enumerate(directory.items()):
            _ENTRY.pack_into(shm.buf, _HEADER.size + i * _ENTRY.size,
                             name.encode(), tc.encode(), off, count)
        return cls(shm, True, directory)

    @classmethod
    def attach(cls, name):
        """Attach to a segment another process created; never unlinks it."""
        shm = shared_memory.SharedMemory(name=name)
        try:
            resource_tracker.unregister(shm._name, "shared_memory")
        except Exception:  # pragma: no cover - tracker not running
            pass
        magic, version, n, _size, _pid = _HEADER.unpack_from(shm.buf, 0)
        if magic != MAGIC or version != ARENA_VERSION:
            shm.close()
            raise ValueError(f"{name} is not an mmstress arena (version {ARENA_VERSION})")
        directory = {}
        for i in range(n):
            raw, tc, off, count = _ENTRY.unpack_from(shm.buf, _HEADER.size + i * _ENTRY.size)
            directory[raw.rstrip(b"\0").decode()] = (tc.decode(), off, count)
        return cls(shm, False, directory)

    # -- access ---------------------------------------------------------------
    def np(self, name):
        """NumPy view of a section (shares memory, no copy)."""
        arr = self._np.get(name)
        if arr is None:
            tc, off, count = self._dir[name]
            arr = np.frombuffer(self._shm.buf, dtype=_NP[tc], count=count, offset=off)
            self._np[name] = arr
        return arr

    def view(self, name, lo, hi, step=1):
        """A slice of a section (e.g. one zone's row; ``step``: every step-th element,
        as a per-CPU word padded to a cache line); released on close."""
        mv = self.v[name][lo:hi:step]
        self._slices.append(mv)
        return mv

    def has(self, name):
        """Does the arena hold a section of this name (an optional one a checker asked for)?"""
        return name in self._dir

    def sections(self):
        """[(name, typecode, offset, count, nbytes)] in address order."""
        return [(n, tc, off, c, c * _ITEMSIZE[tc]) for n, (tc, off, c) in
                sorted(self._dir.items(), key=lambda kv: kv[1][1])]

    # -- lifetime ---------------------------------------------------------------
    def close(self):
        """Drop this process's mapping; the owner also unlinks the segment."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _release(shm, owner_pid, views, nps, slices):
        for mv in slices + list(views.values()):
            try:
                mv.release()
            except Exception:
                pass
        views.clear()
        slices.clear()
        nps.clear()
        if owner_pid is not None and owner_pid == os.getpid():
            try:
                shm.unlink()
            except FileNotFoundError:
                pass
        try:
            shm.close()
        except BufferError:
            # A NumPy view is still alive somewhere: keep the mapping until
            # the process exits (the name is already unlinked, which is what
            # leaves /dev/shm clean) and stop SharedMemory.__del__ retrying.
            _kept_mappings.append((shm._buf, shm._mmap))
            shm._buf = shm._mmap = None
            try:
                os.close(shm._fd)
            except OSError:
                pass
            shm._fd = -1


_kept_mappings = []


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(shm_dir="/dev/shm"):
    """Unlink arenas whose owner process is gone (it was SIGKILLed).

    Returns the names removed.  Segments of live owners are left alone.
    """
    removed = []
    try:
        names = os.listdir(shm_dir)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(PREFIX):
            continue
        try:
            pid = int(name[len(PREFIX):].split("_")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            try:
                os.unlink(os.path.join(shm_dir, name))
                removed.append(name)
            except OSError:
                pass
    return removed
