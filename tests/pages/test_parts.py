"""Contact and site pages: add, edit and remove through forms, from now or a chosen date,
with errors at their fields, and the same tenant and role checks as customers."""

from __future__ import annotations

from collections.abc import Callable

from accord.access import Actor
from tests.pages.conftest import Client
from tests.pages.helpers import location, post, read
from tests.pages.test_customers import create, day

Size = Callable[[Actor], int]


def item_link(links: list[str], kind: str, action: str) -> str:
    return next(a for a in links if a.startswith(f"/{kind}/") and a.endswith(f"/{action}"))


def test_contact_added_changed_and_removed(as_: Client, bob: Actor) -> None:
    c = as_(bob)
    customer_id = create(c, effective=day(-60))
    path = f"/customers/{customer_id}"
    assert read(c.get(f"{path}/contacts/new")).values["effective"] == ""
    r = post(
        c,
        f"{path}/contacts",
        {
            "name": "Dana Scully",
            "role": "IT manager",
            "email": "dana@fabrikam.example",
            "phone": "",
            "effective": "",
            "reason": "",
        },
    )
    assert location(r) == path
    page = read(c.get(path))
    assert "Contact Dana Scully added." in page.text and "IT manager" in page.text

    edit = item_link(page.links, "contacts", "edit")
    form = read(c.get(edit))
    assert form.values["name"] == "Dana Scully" and form.values["was_role"] == "IT manager"
    data = {k: v for k, v in form.values.items() if k != "csrf_token"}
    r = post(c, edit, {**data, "role": "Head of IT", "reason": "promoted"})
    assert location(r) == path
    assert "Head of IT" in read(c.get(path)).text

    remove = item_link(read(c.get(path)).links, "contacts", "remove")
    assert "is no longer a contact" in read(c.get(remove)).text
    r = post(c, remove, {"effective": "", "reason": "left the company"})
    assert location(r) == path
    page = read(c.get(path))
    assert "Dana Scully is no longer a contact from now" in page.text
    assert "No contacts on record at this time." in page.text
    past = read(c.get(path, params={"on": day(-1)}))  # before the removal she was a contact...
    assert "Head of IT" not in past.text  # ...but the promotion is from now on
    history = read(c.get(f"{path}/history")).text
    assert "Contact removed: Dana Scully" in history and "left the company" in history
    assert "Role IT manager → Head of IT" in history


def test_a_site_can_be_planned_for_a_future_date(as_: Client, bob: Actor) -> None:
    c = as_(bob)
    customer_id = create(c)
    path = f"/customers/{customer_id}"
    r = post(
        c,
        f"{path}/sites",
        {
            "name": "New depot",
            "city": "Leeds",
            "country": "GB",
            "effective": day(14),
            "reason": "lease signed",
        },
    )
    assert location(r) == f"{path}?on={day(14)}"
    assert "New depot" in read(c.get(location(r))).text
    assert "New depot" not in read(c.get(path)).text


def test_site_errors_are_at_their_fields_and_keep_what_was_typed(
    as_: Client, bob: Actor, journal_size: Size
) -> None:
    c = as_(bob)
    customer_id = create(c)
    before = journal_size(bob)
    typed = {
        "name": "Head office",
        "address": "1 High Street",
        "city": "York",
        "postcode": "YO1",
        "country": "gb",
        "effective": "",
        "reason": "",
    }
    r = post(c, f"/customers/{customer_id}/sites", typed)
    assert r.status_code == 422
    page = read(r)
    assert page.errors == {"country": "Not in the expected form (ISO 3166-1 alpha-2, e.g. GB)."}
    assert all(page.values[k] == v for k, v in typed.items())
    assert journal_size(bob) == before


def test_a_change_before_the_record_existed_is_refused_at_the_date(as_: Client, bob: Actor) -> None:
    c = as_(bob)
    customer_id = create(c, effective=day(-5))
    r = post(c, f"/customers/{customer_id}/contacts", {"name": "Dana", "effective": day(-10)})
    assert r.status_code == 422
    assert "does not exist on" in read(r).errors["effective"]
    assert read(r).values["effective"] == day(-10)


def test_other_tenants_and_auditors_cannot_touch_contacts_or_sites(
    as_: Client, alice: Actor, carol: Actor, mallory: Actor, journal_size: Size
) -> None:
    a = as_(alice)
    customer_id = create(a)
    post(a, f"/customers/{customer_id}/contacts", {"name": "Dana Scully"})
    post(a, f"/customers/{customer_id}/sites", {"name": "Head office"})
    links = read(a.get(f"/customers/{customer_id}")).links
    targets = [
        item_link(links, kind, action)
        for kind in ("contacts", "sites")
        for action in ("edit", "remove")
    ]
    before = journal_size(alice)
    m = as_(mallory)
    for target in targets:
        assert m.get(target).status_code == 404, target
        assert post(m, target, {"name": "Mine"}).status_code == 404, target
    auditor = as_(carol)
    for target in targets:
        assert auditor.get(target).status_code == 403, target
        assert post(auditor, target, {"name": "Mine"}).status_code == 403, target
    assert journal_size(alice) == before
