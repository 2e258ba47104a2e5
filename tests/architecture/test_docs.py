"""The README documents what the code declares: a declaration added without its line fails here."""

from pathlib import Path

from integrations.paytrace.events import EVENT_TYPES

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_the_readme_lists_every_declared_paytrace_event_type_with_its_meaning():
    for event in EVENT_TYPES.values():
        assert f"| `{event.name}` | {event.description} |" in README, event.name
