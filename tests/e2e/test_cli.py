"""The command line: run, list, --help, the JSON report against its schema, JUnit."""

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from harness.cli import main
from harness.exits import EXIT_OK
from harness.outputs.report import SCHEMA_PATH


def test_help_documents_the_exit_codes(capsys):
    for argv in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "exit codes:" in out and "3    the harness itself failed" in out


def test_list_shows_scenarios_with_descriptions(capsys):
    assert main(["list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("smoke ") and "larson" in out and "(invalid:" not in out


def test_run_default_writes_json_valid_against_the_schema_and_junit(tmp_path, capsys):
    js, xml = tmp_path / "r.json", tmp_path / "r.xml"
    code = main(["run", "--duration", "500ms", "--seed", "9", "--json", str(js), "--junit", str(xml),
                 "--proc", "buddyinfo,slabinfo"])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.out
    assert "seed 9" in captured.err
    assert "reproduce: mmstress run smoke --seed 9 --cpus 2 --duration 500ms" in captured.out
    assert "ops/s" in captured.out and "$ cat /proc/buddyinfo" in captured.out
    doc = json.loads(js.read_text())
    with open(SCHEMA_PATH) as f:
        jsonschema.validate(doc, json.load(f))
    run = doc["runs"][0]
    assert doc["kind"] == "run" and run["scenario"] == "smoke" and run["violations"] == []
    assert run["ops"]["per_second"] > 0 and "slabinfo" in run["proc"]
    cases = ET.parse(xml).getroot().findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["smoke[seed=9]"]
    assert cases[0].find("failure") is None and cases[0].find("error") is None


def test_schema_rejects_a_report_missing_a_field(tmp_path):
    js = tmp_path / "r.json"
    assert main(["run", "--ops", "50", "--seed", "1", "--quiet", "--json", str(js)]) == EXIT_OK
    doc = json.loads(js.read_text())
    del doc["runs"][0]["reproduce"]
    with open(SCHEMA_PATH) as f, pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.load(f))
