"""Bad input that once reached a 5xx through the API, because of code outside the API.

Each test was first written as a strict xfail naming the fix it waited for; the fixes
have landed (timeinput range checks, accord.fields.Text) and the tests now guard them.
"""

from __future__ import annotations

from accord.access import Actor
from tests.api.conftest import Client
from tests.api.helpers import invalid_fields


def test_effective_past_the_last_instant_is_invalid(as_: Client, alice: Actor) -> None:
    body = {"name": "Fabrikam Ltd", "code": "FAB", "effective": "9999-12-31T23:59:59-05:00"}
    assert set(invalid_fields(as_(alice).post("/api/customers", json=body))) == {"effective"}


def test_effective_at_the_end_of_time_is_invalid(as_: Client, alice: Actor) -> None:
    body = {"name": "Fabrikam Ltd", "code": "FAB", "effective": "9999-12-31T23:59:59.999999Z"}
    assert set(invalid_fields(as_(alice).post("/api/customers", json=body))) == {"effective"}


def test_control_characters_in_text_are_invalid(as_: Client, alice: Actor) -> None:
    body = {"name": "Fabri\x00kam", "code": "FAB"}
    assert set(invalid_fields(as_(alice).post("/api/customers", json=body))) == {"name"}
