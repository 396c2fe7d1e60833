"""``mmstress list``: the scenarios, one line each (smoke first, then scenarios/*.toml, then bugs/)."""

from harness.exits import EXIT_OK

HELP = "list the scenarios (smoke, scenarios/*.toml, bugs/NAME) with one line each"


def arguments(p):
    pass


def main(args):
    from harness import scenario
    rows = scenario.available()
    width = max(len(name) for name, _ in rows)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return EXIT_OK
