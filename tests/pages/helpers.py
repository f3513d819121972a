"""Page test helpers: signing in as a persona, posting forms with the session's CSRF
token, and reading what a page shows (field values, field errors, text) without a
browser, through the standard library's HTML parser."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from accord.access import Actor

PASSWORDS = {
    "alice@northwind.example": "correct horse battery",
    "bob@northwind.example": "bob's long password",
    "carol@northwind.example": "carol's long password",
    "mallory@contoso.example": "correct horse battery",
}


def email_of(actor: Actor) -> str:
    return actor.label.rsplit("<", 1)[1].rstrip(">")


@dataclass
class Page:
    """What an HTML page holds that tests ask about."""

    values: dict[str, str] = field(default_factory=dict)  # input/select/textarea by name
    by_id: dict[str, str] = field(default_factory=dict)  # the same by element id
    errors: dict[str, str] = field(default_factory=dict)  # field name -> inline error text
    ids: dict[str, str] = field(default_factory=dict)  # element id -> its text
    links: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)  # form actions (method post)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._select: str | None = None
        self._select_id = ""
        self._textarea: str | None = None
        self._open_ids: list[tuple[str, str, int]] = []  # (id, tag, depth)
        self._texts: dict[str, list[str]] = {}
        self._all: list[str] = []
        self._depth = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "input" and "name" in a and a.get("type") not in ("submit", "button"):
            self.page.values[a["name"]] = a.get("value", "")
            if "id" in a:
                self.page.by_id[a["id"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self._select_id = a.get("id", "")
            if self._select:
                self.page.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.page.values[self._select] = a.get("value", "")
            if self._select_id:
                self.page.by_id[self._select_id] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            if self._textarea:
                self.page.values[self._textarea] = ""
        elif tag == "a" and "href" in a:
            self.page.links.append(a["href"])
        elif tag == "form" and a.get("method") == "post":
            self.page.forms.append(a.get("action", ""))
        if tag not in ("input", "br", "meta", "link", "img", "hr"):
            self._depth += 1
            if "id" in a:
                self._open_ids.append((a["id"], tag, self._depth))
                self._texts[a["id"]] = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None
        while self._open_ids and self._open_ids[-1][2] >= self._depth:
            self._open_ids.pop()
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._textarea:
            self.page.values[self._textarea] += data
        for ident, _, _ in self._open_ids:
            self._texts[ident].append(data)
        self._all.append(data)

    def result(self) -> Page:
        for ident, parts in self._texts.items():
            text = " ".join(" ".join(parts).split())
            self.page.ids[ident] = text
            if ident.startswith("e-"):
                self.page.errors[ident[2:]] = text
        self.page.text = " ".join(" ".join(self._all).split())
        return self.page


def read(response: httpx2.Response) -> Page:
    reader = _Reader()
    reader.feed(response.text)
    reader.close()
    return reader.result()


def csrf(client: TestClient) -> str:
    """The CSRF token of this client's session, as every page's forms carry it."""
    r = client.get("/login")
    if r.status_code == 303:  # signed in already: any page has it
        r = client.get("/customers")
    match = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert match, "no CSRF token on the page"
    return html.unescape(match.group(1))


def login(client: TestClient, email: str, password: str, next_path: str = "") -> httpx2.Response:
    token = csrf(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "next": next_path, "csrf_token": token},
    )


def post(client: TestClient, path: str, data: dict[str, Any]) -> httpx2.Response:
    """Submit a form as the page would: with the session's CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf(client)})


def location(response: httpx2.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return response.headers["location"]
