"""Random streams derived from the run's seed: one per purpose, never from time.

``stream(seed, cpu, purpose)`` is a ``random.Random`` seeded with the first
8 bytes of SHA-256 over ``"mmstress/<seed>/<cpu>/<purpose>"`` -- stable
across runs, processes and Python versions (no ``hash()`` of strings, which
is salted per process).
"""

import hashlib
import random
import secrets


def derive(seed, *parts):
    text = "/".join(["mmstress", str(seed)] + [str(p) for p in parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def stream(seed, cpu, purpose):
    return random.Random(derive(seed, cpu, purpose))


def fresh_seed():
    """A new run seed (printed, so the run can be repeated)."""
    return secrets.randbits(32)
