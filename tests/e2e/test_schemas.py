"""Every JSON document mmstress writes validates against the schema its ``kind`` names.

One small run of each command that writes JSON (``run``, a failing ``run``
and its failure database entry, ``sweep``, ``replay``, ``explore`` and its
dfs checkpoint), in tmp_path as the working directory; each document is
validated against ``harness/outputs/schemas/KIND.schema.json`` and then, with
one required field removed, must fail it (the schemas are strict enough to
catch a missing field).  ``bench`` and ``bench races`` are validated in
tests/e2e/test_bench.py and test_bench_races.py, which already run them;
the CI gate's JSON (a sweep document) in test_ci_gate.py.
"""

import copy
import glob
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from harness.outputs import schemas

pytestmark = pytest.mark.slow           # a handful of CLI runs, once for the module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mm(cwd, *args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("MMSTRESS_NO_FAILURES", None)          # the failure entry is one of the documents
    r = subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """{name: document} written by one small run of each command."""
    d = tmp_path_factory.mktemp("docs")
    assert mm(d, "run", "smoke", "--duration", "0.3s", "--seed", "1", "--quiet",
              "--json", "run.json") == 0
    assert mm(d, "run", "bugs/double_free", "--seed", "0", "--quiet", "--json", "run-bug.json") == 1
    assert mm(d, "sweep", "bugs/double_free", "bugs/double_free_ok", "--seeds", "0-1", "-j", "2",
              "--quiet", "--json", "sweep.json", "--no-failures") == 1
    assert mm(d, "run", "bugs/lock_abba", "--sched", "random", "--ops", "20", "--seed", "3",
              "--quiet", "--no-failures", "--trace", "abba.mmtrace") in (0, 1)
    assert mm(d, "replay", "abba.mmtrace", "--quiet", "--json", "replay.json") in (0, 1)
    assert mm(d, "explore", "bugs/lock_abba", "--strategy", "dfs", "--cpus", "2", "--ops", "1",
              "--kind", "deadlock", "--json", "explore.json", "--checkpoint", "checkpoint.json") == 1
    docs = {os.path.basename(p): json.loads(open(p).read())
            for p in glob.glob(str(d / "*.json"))}
    (entry,) = glob.glob(str(d / ".mmstress" / "failures" / "*.json"))
    docs["failure-entry.json"] = json.loads(open(entry).read())
    return docs


KINDS = {"run.json": "run", "run-bug.json": "run", "sweep.json": "sweep", "replay.json": "replay",
         "explore.json": "explore", "checkpoint.json": "explore-checkpoint",
         "failure-entry.json": "failure"}

# one required field per kind, removed to show the schema catches it
MISSING = {
    "run.json": ("runs", 0, "ops", "by_cpu"),
    "run-bug.json": ("runs", 0, "violations", 0, "key"),
    "sweep.json": ("counts", "not_run"),
    "replay.json": ("replay", "verdict"),
    "explore.json": ("found", "reproduce"),
    "checkpoint.json": ("state", "queues"),
    "failure-entry.json": ("violation", "key"),
}


def test_every_kind_has_a_schema_that_is_a_valid_json_schema():
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(schemas.DIR, "*.json"))) \
        == sorted(f"{k}.schema.json" for k in schemas.KINDS)
    for kind in schemas.KINDS:
        schema = schemas.load(kind)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["kind"] == {"const": kind}
        assert schema["properties"]["schema_version"] == {"const": schemas.SCHEMA_VERSION}
        assert {"kind", "schema_version", "tool", "version"} <= set(schema["required"])


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_document_validates_against_the_schema_its_kind_names(documents, name):
    doc = documents[name]
    assert doc["kind"] == KINDS[name] and doc["schema_version"] == schemas.SCHEMA_VERSION
    assert doc["tool"] == "mmstress" and doc["version"]
    schemas.validate(doc)


@pytest.mark.parametrize("name", sorted(MISSING))
def test_a_document_missing_a_field_fails_its_schema(documents, name):
    bad = copy.deepcopy(documents[name])
    *path, last = MISSING[name]
    node = bad
    for key in path:
        node = node[key]
    del node[last]
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(bad)


def test_a_document_of_one_kind_fails_the_schema_of_another(documents):
    """The issue's complaint: a sweep document carried the run report's schema_version and
    failed its schema; now each names its own schema and fails the others."""
    sweep, run = documents["sweep.json"], documents["run.json"]
    with pytest.raises(jsonschema.ValidationError):
        schemas.validator("run").validate(sweep)
    with pytest.raises(jsonschema.ValidationError):
        schemas.validator("sweep").validate(run)
    with pytest.raises(ValueError, match="no schema for document kind"):
        schemas.validate(dict(run, kind="nonsense"))


def test_a_sweep_holds_full_runs_for_failures_and_short_ones_for_passes(documents):
    runs = documents["sweep.json"]["runs"]
    statuses = sorted({r["status"] for r in runs})
    assert statuses == ["passed", "violations"]
    assert all("ops" in r for r in runs if r["status"] == "violations")
    assert all("ops" not in r for r in runs if r["status"] == "passed")
