"""rrweb session recordings read as journey evidence (pure functions, no database).

rrweb (https://github.com/rrweb-io/rrweb) records a page as a list of events: a Meta
event (type 4: href, width, height), a FullSnapshot (type 2: the serialized DOM, each node
with an id), then IncrementalSnapshots (type 3) such as inputs (data.source 5: the node id,
its text and, for boxes, isChecked), and Custom events (type 5: a tag and a payload).

Each FullSnapshot becomes a screen: the recording from it up to the next snapshot is the
screen's capture (kept as rrweb JSON, replayable with rrweb's player), its form state is
read from the snapshot, and its title and name from the page. Inputs on checkboxes and
radio buttons become ticks and unticks; on other fields, changes (consecutive keystrokes
in one field are one change, with the final value). Custom events tagged `accepted` or
`declined` become the outcome (`payload.contact`: the contact deciding). Passwords are
never kept: their values are blanked wherever they appear.

`to_html` turns a snapshot back into HTML without scripts, so a page can show the screen.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from accord.evidence.models import RRWEB_MEDIA_TYPE, EventKind

# rrweb's event types and incremental sources
DOM_CONTENT_LOADED, LOAD, FULL_SNAPSHOT, INCREMENTAL, META, CUSTOM = 0, 1, 2, 3, 4, 5
MUTATION, INPUT = 0, 5
# rrweb-snapshot's node types
DOCUMENT, DOCTYPE, ELEMENT, TEXT, CDATA, COMMENT = 0, 1, 2, 3, 4, 5

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
BOXES = frozenset({"checkbox", "radio"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant(ms: float) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


@dataclass
class Derived:
    """A journey event read from a recording."""

    kind: EventKind
    at: datetime
    screen: str | None = None
    url: str | None = None
    title: str | None = None
    recording: bytes | None = None  # a screen's rrweb JSON
    form: list[dict[str, Any]] | None = None
    field: str | None = None
    label: str | None = None
    value: str | None = None
    contact: str | None = None
    index: int = 0  # where in the recording it comes from (for naming a problem)


@dataclass
class _Dom:
    """The nodes of a snapshot (and of nodes added since) by id, with their parents."""

    nodes: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)

    def add(self, node: Mapping[str, Any], parent: int | None = None) -> None:
        nid = node.get("id")
        if isinstance(nid, int):
            self.nodes[nid] = node
            if parent is not None:
                self.parent[nid] = parent
        for child in _children(node):
            self.add(child, nid if isinstance(nid, int) else None)

    def elements(self) -> Iterator[Mapping[str, Any]]:
        return (n for n in self.nodes.values() if n.get("type") == ELEMENT)


def _children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kids = node.get("childNodes")
    return [c for c in kids if isinstance(c, Mapping)] if isinstance(kids, list) else []


def _attrs(node: Mapping[str, Any]) -> Mapping[str, Any]:
    a = node.get("attributes")
    return a if isinstance(a, Mapping) else {}


def _tag(node: Mapping[str, Any]) -> str:
    return str(node.get("tagName") or "").lower()


def _text(node: Mapping[str, Any], limit: int = 1000) -> str:
    parts: list[str] = []

    def walk(n: Mapping[str, Any]) -> None:
        if n.get("type") == TEXT and not n.get("isStyle"):
            parts.append(str(n.get("textContent") or ""))
        if _tag(n) in ("script", "style"):
            return
        for c in _children(n):
            walk(c)

    walk(node)
    return " ".join(" ".join(parts).split())[:limit]


def _input_type(node: Mapping[str, Any]) -> str:
    tag = _tag(node)
    if tag == "input":
        return str(_attrs(node).get("type") or "text").lower()
    return tag  # select, textarea


def _label(dom: _Dom, nid: int) -> str | None:
    node = dom.nodes.get(nid)
    if node is None:
        return None
    own = _attrs(node).get("id")
    if own:
        for el in dom.elements():
            if _tag(el) == "label" and _attrs(el).get("for") == own:
                return _text(el) or None
    p = dom.parent.get(nid)
    while p is not None:
        parent = dom.nodes.get(p)
        if parent is not None and _tag(parent) == "label":
            return _text(parent) or None
        p = dom.parent.get(p)
    aria = _attrs(node).get("aria-label")
    return str(aria)[:1000] if aria else None


def _field_name(node: Mapping[str, Any], nid: int) -> str:
    a = _attrs(node)
    return str(a.get("name") or a.get("id") or f"#{nid}")[:200]


def _form(dom: _Dom) -> list[dict[str, Any]]:
    """The fields the snapshot shows, in document order, as capture.js reports them."""
    out = []
    for nid in sorted(dom.nodes):
        node = dom.nodes[nid]
        if node.get("type") != ELEMENT or _tag(node) not in ("input", "select", "textarea"):
            continue
        kind = _input_type(node)
        if kind in ("hidden", "submit", "button", "reset", "image"):
            continue
        a = _attrs(node)
        entry: dict[str, Any] = {
            "name": _field_name(node, nid),
            "type": kind,
            "label": _label(dom, nid),
            "checked": bool(a.get("checked")) if kind in BOXES else None,
            "value": None if a.get("value") is None else str(a.get("value"))[:10_000],
            "masked": False,
        }
        if kind == "password":
            entry["value"], entry["masked"] = "", True
        out.append(entry)
    return out


def _title(dom: _Dom) -> str | None:
    for el in dom.elements():
        if _tag(el) == "title":
            return _text(el, 500) or None
    return None


def screen_name(url: str | None, title: str | None, k: int) -> str:
    """A screen's name: the last part of its URL's path, else its title, else its place."""
    if url:
        path = urlsplit(url).path.rstrip("/")
        last = path.rsplit("/", 1)[-1]
        last = re.sub(r"\.(html?|php|aspx?)$", "", last)
        if last:
            return last[:200]
    if title:
        return title[:200]
    return f"screen {k + 1}"


def _segments(events: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The recording cut before each FullSnapshot (with the Meta and load events just
    before it): one segment per screen. Events before the first snapshot go with it."""
    starts: list[int] = []
    for i, e in enumerate(events):
        if e.get("type") == FULL_SNAPSHOT:
            j = i
            while j > 0 and events[j - 1].get("type") in (META, DOM_CONTENT_LOADED, LOAD):
                if starts and j - 1 <= starts[-1]:
                    break
                j -= 1
            starts.append(j)
    if not starts:
        return []
    starts[0] = 0
    bounds = [*starts, len(events)]
    return [list(events[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def recording_bytes(segment: Sequence[Mapping[str, Any]]) -> bytes:
    return json.dumps(list(segment), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def derive(events: Sequence[Mapping[str, Any]]) -> list[Derived]:
    """The journey a recording shows: screens, ticks, changes and an outcome, in order."""
    out: list[Derived] = []
    place = {id(e): i for i, e in enumerate(events)}
    for k, segment in enumerate(_segments(events)):
        dom = _Dom()
        url: str | None = None
        screen: Derived | None = None
        pending: Derived | None = None  # a text change still being typed
        for e in segment:
            t, data = e.get("type"), e.get("data") or {}
            at = instant(float(e.get("timestamp") or 0))
            index = place.get(id(e), 0)
            if t == META:
                url = str(data.get("href"))[:2000] if data.get("href") else url
            elif t == FULL_SNAPSHOT and screen is None:
                node = data.get("node")
                if isinstance(node, Mapping):
                    dom.add(node)
                title = _title(dom)
                screen = Derived(
                    kind=EventKind.SCREEN,
                    at=at,
                    screen=screen_name(url, title, k),
                    url=url,
                    title=title,
                    recording=recording_bytes(_masked(segment)),
                    form=_form(dom),
                    index=index,
                )
                out.append(screen)
            elif t == INCREMENTAL and data.get("source") == MUTATION:
                adds = data.get("adds")
                for add in adds if isinstance(adds, list) else ():
                    if isinstance(add, Mapping) and isinstance(add.get("node"), Mapping):
                        parent = add.get("parentId")
                        dom.add(add["node"], parent if isinstance(parent, int) else None)
            elif t == INCREMENTAL and data.get("source") == INPUT:
                nid = data.get("id")
                node = dom.nodes.get(nid) if isinstance(nid, int) else None
                if node is None or not isinstance(nid, int):
                    continue
                kind = _input_type(node)
                name = _field_name(node, nid)
                label = _label(dom, nid)
                where = screen.screen if screen else None
                if kind in BOXES and isinstance(data.get("isChecked"), bool):
                    pending = None
                    out.append(
                        Derived(
                            kind=EventKind.TICK if data["isChecked"] else EventKind.UNTICK,
                            at=at,
                            screen=where,
                            field=name,
                            label=label,
                            value=None
                            if _attrs(node).get("value") is None
                            else str(_attrs(node).get("value"))[:10_000],
                            index=index,
                        )
                    )
                    continue
                value = "" if kind == "password" else str(data.get("text") or "")[:10_000]
                if pending is not None and pending.field == name and out and out[-1] is pending:
                    pending.value, pending.at = value, at
                    continue
                pending = Derived(
                    kind=EventKind.CHANGE,
                    at=at,
                    screen=where,
                    field=name,
                    label=label,
                    value=value,
                    index=index,
                )
                out.append(pending)
            elif t == CUSTOM and data.get("tag") in ("accepted", "declined"):
                payload = data.get("payload") if isinstance(data.get("payload"), Mapping) else {}
                contact = payload.get("contact") if isinstance(payload, Mapping) else None
                out.append(
                    Derived(
                        kind=EventKind(str(data["tag"])),
                        at=at,
                        screen=screen.screen if screen else None,
                        contact=str(contact) if contact else None,
                        index=index,
                    )
                )
    return out


def _masked(segment: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The segment with every password field's value blanked (in the snapshot's attributes
    and in the inputs on it), should the recorder not have masked them."""
    dom = _Dom()
    for e in segment:
        if e.get("type") == FULL_SNAPSHOT and isinstance(
            (e.get("data") or {}).get("node"), Mapping
        ):
            dom.add(e["data"]["node"])
    secret = {nid for nid, n in dom.nodes.items() if _input_type(n) == "password"}
    if not secret:
        return list(segment)

    def clean(node: Any) -> Any:
        if isinstance(node, Mapping):
            out = {k: clean(v) for k, v in node.items()}
            if node.get("id") in secret and isinstance(out.get("attributes"), dict):
                out["attributes"] = {k: v for k, v in out["attributes"].items() if k != "value"}
            return out
        if isinstance(node, list):
            return [clean(x) for x in node]
        return node

    cleaned = []
    for e in segment:
        data = e.get("data") or {}
        if (
            e.get("type") == INCREMENTAL
            and data.get("source") == INPUT
            and data.get("id") in secret
        ):
            e = {**e, "data": {**data, "text": ""}}
        elif e.get("type") == FULL_SNAPSHOT:
            e = clean(e)
        cleaned.append(e)
    return cleaned


# --- showing a snapshot ----------------------------------------------------------------------


def snapshot_of(recording: bytes) -> Mapping[str, Any] | None:
    """The first FullSnapshot's node tree of a screen's recording."""
    try:
        events = json.loads(recording)
    except ValueError:
        return None
    for e in events if isinstance(events, list) else ():
        if isinstance(e, Mapping) and e.get("type") == FULL_SNAPSHOT:
            node = (e.get("data") or {}).get("node")
            if isinstance(node, Mapping):
                return node
    return None


def to_html(node: Mapping[str, Any]) -> str:
    """A snapshot as HTML, without scripts or rrweb's own attributes."""
    out: list[str] = []

    def walk(n: Mapping[str, Any], raw_text: bool) -> None:
        t = n.get("type")
        if t == DOCUMENT:
            for c in _children(n):
                walk(c, False)
        elif t == DOCTYPE:
            out.append(f"<!DOCTYPE {html.escape(str(n.get('name') or 'html'))}>")
        elif t == TEXT:
            text = str(n.get("textContent") or "")
            out.append(_raw(text) if raw_text else html.escape(text, quote=False))
        elif t == ELEMENT:
            tag = re.sub(r"[^a-zA-Z0-9:-]", "", str(n.get("tagName") or "div")) or "div"
            if tag.lower() in ("script", "noscript"):
                return
            a = dict(_attrs(n))
            css = a.pop("_cssText", None)
            if tag.lower() == "link" and css:
                out.extend(("<style>", _raw(css), "</style>"))
                return
            attrs = "".join(_attr(k, v) for k, v in a.items())
            out.append(f"<{tag}{attrs}>")
            if tag.lower() in VOID:
                return
            if css:
                out.append(_raw(css))
            else:
                for c in _children(n):
                    walk(c, tag.lower() in ("style",))
            out.append(f"</{tag}>")

    walk(node, False)
    return "".join(out)


def _raw(text: object) -> str:
    """Style text inside <style>: it cannot close the element early."""
    return str(text).replace("</", "<\\/")


def _attr(name: str, value: Any) -> str:
    if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_.:-]*", name) or name.startswith(("rr_", "_")):
        return ""
    if name.lower().startswith("on"):
        return ""  # event handlers: never run, never shown
    if value is True:
        return f" {name}"
    if value is False or value is None:
        return ""
    return f' {name}="{html.escape(str(value), quote=True)}"'


def capture_html(content: bytes, media_type: str | None) -> str | None:
    """A stored screen as HTML text: the page captured as it is, or an rrweb recording's
    full snapshot rebuilt (None when the recording has none)."""
    if media_type == RRWEB_MEDIA_TYPE:
        node = snapshot_of(content)
        return to_html(node) if node is not None else None
    return content.decode("utf-8", "replace")
