"""One JSON schema per kind of document mmstress writes, and the header every document carries.

Every JSON document the tool writes opens with the same four fields::

    {"schema_version": 3, "kind": KIND, "tool": "mmstress", "version": "0.1.0", ...}

``kind`` names the schema that document follows, ``schemas/KIND.schema.json``
(JSON Schema 2020-12, ``additionalProperties: false`` where the shape is
ours, so a missing or misspelt field fails); ``schema_version`` changes
when a field of any kind changes meaning (3: every document carries
``kind``; 2 had one schema for run reports that sweeps did not follow).

    kind                written by
    run                 mmstress run --json
    sweep               mmstress sweep --json (and ci/gate.sh's LANE.json)
    replay              mmstress replay --json
    explore             mmstress explore --json
    explore-checkpoint  mmstress explore --strategy dfs --checkpoint FILE
    bench               mmstress bench --json
    bench-races         mmstress bench races --json
    failure             an entry of the failure database (.mmstress/failures/ID.json)

``mmstress minimize`` writes a trace (``harness/scheduler/trace.py``'s
format, not a JSON document) and ``mmstress repro`` only prints.  The schemas
are checked in the tests with ``jsonschema`` (a test dependency); the tool
itself validates only what it reads back (``outputs/failures.py``).
"""

import os

SCHEMA_VERSION = 3
KINDS = ("run", "sweep", "replay", "explore", "explore-checkpoint", "bench", "bench-races",
         "failure")
DIR = os.path.dirname(os.path.abspath(__file__))


def path(kind):
    """The schema file of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"no schema for document kind {kind!r}: one of {', '.join(KINDS)}")
    return os.path.join(DIR, f"{kind}.schema.json")


def tool_version():
    import harness
    return harness.__version__


def header(kind):
    """The fields every document of ``kind`` opens with."""
    path(kind)
    return {"schema_version": SCHEMA_VERSION, "kind": kind, "tool": "mmstress",
            "version": tool_version()}


def load(kind):
    import json
    with open(path(kind), encoding="utf-8") as f:
        return json.load(f)


def validator(kind):
    """A ``jsonschema`` validator for documents of ``kind``, with the other schemas registered so
    ``run.schema.json#/$defs/run`` resolves (needs the ``jsonschema`` package: a test dependency,
    not one of mmstress's)."""
    import jsonschema
    from referencing import Registry, Resource
    resources = [(s["$id"], Resource.from_contents(s)) for s in (load(k) for k in KINDS)]
    registry = Registry().with_resources(resources)
    schema = load(kind)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def validate(doc):
    """Validate ``doc`` against the schema its ``kind`` names; raises jsonschema.ValidationError
    (or ValueError for a document without a known kind)."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    validator(kind).validate(doc)
