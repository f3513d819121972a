"""Signing in and out, CSRF on every form, and the users and tokens page."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from accord.access import Actor
from tests.pages.conftest import Client
from tests.pages.helpers import csrf, location, login, post, read

Size = Callable[[Actor], int]


def test_signed_out_pages_redirect_to_login(anonymous: TestClient) -> None:
    for path in ("/customers", "/customers/new", "/journal", "/users"):
        assert location(anonymous.get(path)) == f"/login?next={path}"
    where = location(anonymous.get("/customers?q=fab&status=active"))
    assert where.startswith("/login?next=/customers%3Fq%3Dfab")


def test_signed_out_post_redirects_to_login_and_changes_nothing(
    anonymous: TestClient, alice: Actor, journal_size: Size
) -> None:
    before = journal_size(alice)
    r = anonymous.post("/customers", data={"name": "Fabrikam", "code": "FAB"})
    assert location(r).startswith("/login")
    assert journal_size(alice) == before


def test_login_goes_to_next_and_shows_who_is_signed_in(anonymous: TestClient, alice: Actor) -> None:
    r = login(anonymous, "alice@northwind.example", "correct horse battery", "/journal")
    assert location(r) == "/journal"
    page = read(anonymous.get("/customers"))
    assert "Northwind" in page.text and "Alice" in page.text and "admin" in page.text
    assert {"/customers", "/journal", "/users"} <= set(page.links)
    assert "/logout" in page.forms


def test_login_never_redirects_off_site(anonymous: TestClient, alice: Actor) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "journal"):
        with TestClient(anonymous.app, follow_redirects=False) as c:
            r = login(c, "alice@northwind.example", "correct horse battery", target)
            assert location(r) == "/customers", target


def test_wrong_password_shows_the_form_again_with_the_email(
    anonymous: TestClient, alice: Actor
) -> None:
    r = login(anonymous, "  alice@northwind.example", "not the password", "/journal")
    assert r.status_code == 200
    page = read(r)
    assert "do not match" in page.text
    assert page.values["email"] == "alice@northwind.example"
    assert page.values["next"] == "/journal"
    assert "password" not in page.values or page.values["password"] == ""
    assert location(anonymous.get("/customers")).startswith("/login")


def test_unknown_email_and_empty_fields_are_said_plainly(
    anonymous: TestClient, alice: Actor
) -> None:
    r = login(anonymous, "nobody@northwind.example", "whatever it is")
    assert r.status_code == 200 and "do not match" in read(r).text
    r = login(anonymous, "", "")
    assert r.status_code == 422
    assert read(r).errors == {
        "email": "Enter your email address.",
        "password": "Enter your password.",
    }


def test_login_without_csrf_is_refused(anonymous: TestClient, alice: Actor) -> None:
    anonymous.get("/login")
    r = anonymous.post(
        "/login", data={"email": "alice@northwind.example", "password": "correct horse battery"}
    )
    assert r.status_code == 403
    assert read(r).values["email"] == "alice@northwind.example"
    assert location(anonymous.get("/customers")).startswith("/login")


def test_signing_in_replaces_the_csrf_token(anonymous: TestClient, alice: Actor) -> None:
    before = csrf(anonymous)
    login(anonymous, "alice@northwind.example", "correct horse battery")
    assert csrf(anonymous) != before


def test_logout_needs_the_csrf_token(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    assert c.post("/logout").status_code == 403
    assert c.get("/customers").status_code == 200
    assert location(post(c, "/logout", {})) == "/login"
    assert location(c.get("/customers")).startswith("/login")
    assert "You are signed out." in read(c.get("/login")).text


# --- users and tokens -----------------------------------------------------------------------


def test_admin_adds_a_user_who_can_then_sign_in(
    as_: Client, alice: Actor, anonymous: TestClient
) -> None:
    c = as_(alice)
    r = post(
        c,
        "/users",
        {
            "name": "Dana",
            "email": "dana@northwind.example",
            "role": "sales",
            "password": "dana's long password",
        },
    )
    assert location(r) == "/users"
    page = read(c.get("/users"))
    assert "Dana can now sign in as dana@northwind.example." in page.text
    assert "dana@northwind.example" in page.text
    assert (
        location(login(anonymous, "dana@northwind.example", "dana's long password")) == "/customers"
    )


def test_invalid_user_form_keeps_what_was_typed_except_the_password(
    as_: Client, alice: Actor, journal_size: Size
) -> None:
    c = as_(alice)
    before = journal_size(alice)
    r = post(
        c, "/users", {"name": "Dana", "email": "not-an-email", "role": "sales", "password": "short"}
    )
    assert r.status_code == 422
    page = read(r)
    assert set(page.errors) == {"email", "password"}
    assert "email" in page.errors["email"].lower()
    assert "10 characters" in page.errors["password"]
    assert page.by_id["f-name"] == "Dana" and page.by_id["f-email"] == "not-an-email"
    assert page.by_id["f-role"] == "sales"
    assert "short" not in r.text
    assert journal_size(alice) == before


def test_token_is_shown_once_works_and_can_be_revoked(
    as_: Client, alice: Actor, anonymous: TestClient
) -> None:
    c = as_(alice)
    r = post(c, "/users/tokens", {"name": "billing export"})
    assert r.status_code == 201
    token = read(r).text.split("acc_", 1)[1].split()[0]
    plain = "acc_" + token
    api = {"Authorization": f"Bearer {plain}"}
    assert anonymous.get("/api/me", headers=api).status_code == 200
    page = c.get("/users")
    assert plain not in page.text and "billing export" in page.text
    revoke = next(a for a in read(page).forms if a.endswith("/revoke"))
    assert location(post(c, revoke, {})) == "/users"
    assert "no longer works" in read(c.get("/users")).text
    assert anonymous.get("/api/me", headers=api).status_code == 401


def test_empty_token_name_is_named(as_: Client, alice: Actor) -> None:
    r = post(as_(alice), "/users/tokens", {"name": "  "})
    assert r.status_code == 422 and "This is required." in read(r).ids["token-e-name"]


def test_non_admins_see_people_but_cannot_add_users_or_tokens(
    as_: Client, bob: Actor, carol: Actor, journal_size: Size
) -> None:
    for actor in (bob, carol):
        c = as_(actor)
        page = read(c.get("/users"))
        assert "Bob" in page.text and "Add a user" not in page.text
        assert "/users" not in page.links  # no Users item in the navigation
        assert page.forms == ["/logout"]
        before = journal_size(actor)
        r = post(
            c,
            "/users",
            {
                "name": "Eve",
                "email": "eve@northwind.example",
                "role": "admin",
                "password": "eve's long password",
            },
        )
        assert r.status_code == 403
        assert post(c, "/users/tokens", {"name": "x"}).status_code == 403
        assert journal_size(actor) == before
