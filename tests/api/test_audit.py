"""The journal API, checked the way an outside verifier would: the checkpoint's signature
with the served key, each entry's inclusion proof against the checkpoint's root, and
consistency proofs between checkpoints; and each tenant sees only its own log."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accord.access import Actor
from accord.store import merkle
from accord.store.checkpoints import NoteError, Signer, Verifier, parse_checkpoint
from accord.store.tenancy import Tenant
from tests.api.conftest import Client
from tests.api.helpers import invalid_fields, problem

Size = Callable[[Actor], int]


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def add_customers(api: TestClient, *codes: str) -> list[str]:
    ids = []
    for code in codes:
        r = api.post("/api/customers", json={"name": f"Customer {code}", "code": code})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def verified(api: TestClient) -> tuple[int, bytes, dict[str, Any]]:
    """The latest checkpoint, its signature checked with the key the API serves."""
    key = api.get("/api/journal/key")
    assert key.headers["content-type"].startswith("text/plain")
    cp = api.get("/api/journal/checkpoint").json()
    origin, size, root = parse_checkpoint(Verifier.parse(key.text).open(cp["note"]))
    assert (origin, size, root) == (cp["origin"], cp["size"], unb64(cp["root"]))
    return size, root, cp


def test_checkpoint_is_signed_by_the_served_key_and_covers_the_log(
    as_: Client, alice: Actor, journal_size: Size, northwind: tuple[Tenant, Actor, Signer]
) -> None:
    api = as_(alice)
    add_customers(api, "AAA", "BBB")
    size, _, cp = verified(api)
    assert size == journal_size(alice) and cp["origin"] == "accord.test/northwind"
    assert api.get("/api/journal/key").text.strip() == northwind[2].verifier_key()

    text = api.get("/api/journal/checkpoint.txt")
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == cp["note"]

    # Asking again without new entries gives the same checkpoint; a new entry, a new one.
    assert api.get("/api/journal/checkpoint").json() == cp
    add_customers(api, "CCC")
    assert verified(api)[0] == size + 1


def test_every_entry_proves_its_inclusion_in_the_checkpoint(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    (cid,) = add_customers(api, "FAB")
    api.patch(f"/api/customers/{cid}", json={"phone": "+44 20 7946 0000", "reason": "new number"})
    size, root, _ = verified(api)

    for seq in range(size):
        r = api.get(f"/api/journal/entries/{seq}")
        assert r.status_code == 200, r.text
        body = r.json()
        raw = unb64(body["entry_b64"])
        leaf = merkle.leaf_hash(raw)
        assert unb64(body["leaf_hash"]) == leaf and body["seq"] == seq
        assert (body["tree_size"], unb64(body["root"])) == (size, root)
        merkle.verify_inclusion(leaf, seq, size, [unb64(p) for p in body["inclusion_proof"]], root)
        assert json.loads(raw)["seq"] == body["entry"]["seq"] == seq

    last = api.get(f"/api/journal/entries/{size - 1}").json()
    assert last["entry"]["kind"] == "parties.customer.changed" and last["entry"]["id"] == cid
    assert last["entry"]["data"] == {"phone": "+44 20 7946 0000"}
    assert last["entry"]["reason"] == "new number"

    # A proof that does not match the bytes fails, so the check above has teeth.
    raw = unb64(last["entry_b64"])
    assert b"7946" in raw
    tampered = merkle.leaf_hash(raw.replace(b"7946", b"7947"))
    proof = [unb64(p) for p in last["inclusion_proof"]]
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(tampered, size - 1, size, proof, root)


def test_consistency_proof_links_two_checkpoints(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    add_customers(api, "AAA")
    old, old_root, _ = verified(api)
    add_customers(api, "BBB", "CCC", "DDD")
    new, new_root, _ = verified(api)
    assert new == old + 3

    r = api.get("/api/journal/consistency", params={"old": old, "new": new})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["old"], body["new"]) == (old, new)
    merkle.verify_consistency(old, new, [unb64(p) for p in body["proof"]], old_root, new_root)
    same = api.get("/api/journal/consistency", params={"old": new, "new": new}).json()
    assert same["proof"] == []


def test_entries_page_backwards_from_the_newest(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    add_customers(api, "AAA", "BBB", "CCC", "DDD")
    size = verified(api)[0]

    first = api.get("/api/journal/entries", params={"limit": 3}).json()
    assert [e["seq"] for e in first["items"]] == [size - 1, size - 2, size - 3]
    assert first["items"][0]["kind"] == "parties.customer.created"
    assert first["items"][0]["data"]["code"] == "DDD" and first["items"][0]["valid_to"] is None
    seen = [e["seq"] for e in first["items"]]
    before = first["next_before"]
    while before is not None:
        page = api.get("/api/journal/entries", params={"limit": 3, "before": before}).json()
        seen += [e["seq"] for e in page["items"]]
        before = page["next_before"]
    assert seen == list(range(size - 1, -1, -1))


def test_journal_input_is_checked(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    add_customers(api, "AAA", "BBB")
    size = verified(api)[0]
    assert set(invalid_fields(api.get("/api/journal/entries/-1"))) == {"seq"}
    assert set(invalid_fields(api.get("/api/journal/entries/first"))) == {"seq"}
    assert set(invalid_fields(api.get(f"/api/journal/entries/{2**64}"))) == {"seq"}
    problem(api.get(f"/api/journal/entries/{size}"), 404)
    problem(api.get(f"/api/journal/entries/{2**63 - 1}"), 404)
    assert set(invalid_fields(api.get("/api/journal/entries", params={"limit": 0}))) == {"limit"}
    assert set(invalid_fields(api.get("/api/journal/entries", params={"before": 2**70}))) == {
        "before"
    }
    bad = api.get("/api/journal/consistency", params={"old": 0})
    assert set(invalid_fields(bad)) == {"old", "new"}
    problem(api.get("/api/journal/consistency", params={"old": 1, "new": size + 1}), 404)


def test_each_tenant_sees_only_its_own_log(
    as_: Client, alice: Actor, carol: Actor, mallory: Actor, journal_size: Size
) -> None:
    ids = add_customers(as_(alice), "AAA", "BBB")
    outsider = as_(mallory)
    size, _, cp = verified(outsider)
    assert size == journal_size(mallory) < journal_size(alice)
    assert cp["origin"] == "accord.test/contoso"
    seen = outsider.get("/api/journal/entries", params={"limit": 500}).json()["items"]
    assert not {e["id"] for e in seen} & set(ids)
    assert {e["tenant"] for e in seen} == {seen[0]["tenant"]}
    problem(outsider.get(f"/api/journal/entries/{journal_size(alice) - 1}"), 404)

    # Northwind's checkpoint does not verify with Contoso's key, nor the other way round.
    northwind_note = as_(carol).get("/api/journal/checkpoint").json()["note"]
    with pytest.raises(NoteError):
        Verifier.parse(outsider.get("/api/journal/key").text).open(northwind_note)


def test_journal_needs_credentials(anonymous: TestClient) -> None:
    for path in (
        "/api/journal/checkpoint",
        "/api/journal/checkpoint.txt",
        "/api/journal/key",
        "/api/journal/entries",
        "/api/journal/entries/0",
        "/api/journal/consistency?old=1&new=1",
    ):
        problem(anonymous.get(path), 401)


def test_bundle_of_a_customer_verifies_offline_and_stays_in_its_tenant(
    as_: Client, alice: Actor, mallory: Actor
) -> None:
    from accord.verifier import VerifyError, verify_bundle

    api = as_(alice)
    (cid,) = add_customers(api, "BND")
    api.patch(f"/api/customers/{cid}", json={"phone": "+44 1632 960001", "reason": "new line"})
    r = api.get("/api/journal/bundle", params={"entity_id": cid})
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    body = r.json()
    proven = verify_bundle(body, api.get("/api/journal/key").text)
    assert [e["kind"] for e in proven.entries] == [
        "parties.customer.created",
        "parties.customer.changed",
    ]
    assert all(e["id"] == cid for e in proven.entries)
    # The bundle's own key is for convenience only: another tenant's key does not verify it.
    with pytest.raises(VerifyError):
        verify_bundle(body, as_(mallory).get("/api/journal/key").text)
    problem(as_(mallory).get("/api/journal/bundle", params={"entity_id": cid}), 404)
    assert set(invalid_fields(api.get("/api/journal/bundle"))) == {"entity_id"}
    bad = api.get("/api/journal/bundle", params={"entity_id": "x' or 1=1"})
    assert set(invalid_fields(bad)) == {"entity_id"}
