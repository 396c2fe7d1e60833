"""``mmstress explore`` as typed: a found violation is printed by its record's title (records
carry no text since report schema 2; the command read ``v["text"]`` and died with a
traceback on every find)."""

from harness.cli import main


def test_a_found_deadlock_is_printed_by_its_title_with_the_reproduce_line(capsys):
    code = main(["explore", "bugs/lock_abba", "--runs", "5"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "WARNING: possible circular locking dependency detected" in out
    assert "found after" in out and "Traceback" not in err
