"""Reading rrweb recordings as journeys (pure functions): screens from full snapshots, ticks
from inputs on boxes, one change per field typed in, the outcome from a custom event;
passwords blanked; a snapshot shown again as HTML without scripts or handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.evidence import rrweb
from accord.evidence.models import EventKind
from tests.evidence.conftest import rrweb_recording

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_a_recording_becomes_screens_ticks_changes_and_an_outcome() -> None:
    derived = rrweb.derive(rrweb_recording())
    kinds = [(d.kind, d.screen, d.field) for d in derived]
    assert kinds == [
        (EventKind.SCREEN, "terms", None),
        (EventKind.TICK, "terms", "agree"),
        (EventKind.UNTICK, "terms", "agree"),
        (EventKind.TICK, "terms", "agree"),
        (EventKind.CHANGE, "terms", "pin"),
        (EventKind.CHANGE, "terms", "po"),  # three keystrokes, one change
        (EventKind.SCREEN, "confirm", None),
        (EventKind.ACCEPTED, "confirm", None),
    ]
    first, tick = derived[0], derived[1]
    assert (first.title, first.url) == ("Your terms", "https://shop.example/offer/terms")
    assert tick.label == "I accept the terms v2" and tick.value == "yes"
    assert derived[4].value == "" and derived[5].value == "PO-17"
    assert derived[5].label == "PO number"
    fields = {f["name"]: f for f in first.form or []}
    assert (
        fields["agree"]["checked"] is False and fields["agree"]["label"] == "I accept the terms v2"
    )
    assert fields["pin"] == {**fields["pin"], "value": "", "masked": True}
    assert [d.index for d in derived] == [1, 3, 4, 5, 6, 7, 11, 12]  # a change: its first key


def test_a_screen_keeps_its_part_of_the_recording_without_passwords() -> None:
    events = rrweb_recording()
    first, *_, second, _ = rrweb.derive(events)
    kept = json.loads(first.recording or b"")
    assert [e["type"] for e in kept] == [4, 2, 3, 3, 3, 3, 3, 3, 3, 3]  # meta .. before page 2
    assert b"1234" not in (first.recording or b"") and b"9999" not in (first.recording or b"")
    assert [e["type"] for e in json.loads(second.recording or b"")] == [4, 2, 5]


def test_a_snapshot_is_shown_as_html_without_scripts_or_handlers() -> None:
    first = rrweb.derive(rrweb_recording())[0]
    node = rrweb.snapshot_of(first.recording or b"")
    assert node is not None
    page = rrweb.to_html(node)
    assert page.startswith('<!DOCTYPE html><html lang="en">')
    assert "<title>Your terms</title>" in page and "body { font-family: serif; }" in page
    assert '<label for="agree">I accept the terms v2</label>' in page
    assert "script" not in page.lower() and "onload" not in page and "steal" not in page
    assert 'value="1234"' not in page


def test_text_cannot_break_out_of_its_element() -> None:
    node = {
        "type": 2,
        "id": 1,
        "tagName": "p",
        "attributes": {"title": '"><script>'},
        "childNodes": [{"type": 3, "id": 2, "textContent": "</p><script>alert(1)</script>"}],
    }
    page = rrweb.to_html(node)
    assert "<script>" not in page
    assert (
        page
        == '<p title="&quot;&gt;&lt;script&gt;">&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>'
    )


def test_screen_names_come_from_the_url_then_the_title() -> None:
    assert rrweb.screen_name("https://x.example/apply/step-2.html?a=1", None, 0) == "step-2"
    assert rrweb.screen_name("https://x.example/", "Welcome", 0) == "Welcome"
    assert rrweb.screen_name(None, None, 2) == "screen 3"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")) or ["none"])
def test_recorded_fixtures_give_screens(name: str) -> None:
    """Recordings made with rrweb itself in Chromium (tests/evidence/fixtures), when there."""
    path = FIXTURES / name
    if not path.exists():
        events = rrweb_recording()  # no real recording yet: the documented shapes stand in
    else:
        data = json.loads(path.read_text())
        events = data["events"] if isinstance(data, dict) else data
    derived = rrweb.derive(events)
    screens = [d for d in derived if d.kind == EventKind.SCREEN]
    assert screens and all(d.recording and rrweb.snapshot_of(d.recording) for d in screens)
    assert all("<script" not in rrweb.to_html(rrweb.snapshot_of(d.recording or b"") or {})
               for d in screens)  # fmt: skip
