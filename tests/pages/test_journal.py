"""Journal pages: recent entries, the signed checkpoint and key line, and an entry with
its exact bytes and an inclusion proof that checks against the checkpoint."""

from __future__ import annotations

import base64
import html

from accord.access import Actor
from accord.store import merkle
from accord.store.checkpoints import Signer, Verifier
from accord.store.journal import Entry
from accord.store.tenancy import Tenant
from tests.pages.conftest import Client
from tests.pages.helpers import read
from tests.pages.test_customers import create


def test_journal_lists_entries_with_the_signed_checkpoint_and_key(
    as_: Client, alice: Actor, carol: Actor, northwind: tuple[Tenant, Actor, Signer]
) -> None:
    create(as_(alice))
    c = as_(carol)  # auditors read the journal
    r = c.get("/journal")
    assert r.status_code == 200
    page = read(r)
    assert "parties.customer.created" in page.text and "Fabrikam Ltd" in page.text
    signer = northwind[2]
    assert signer.verifier_key() in page.text
    note = html.unescape(
        r.text.split('<pre class="note" aria-label="Signed checkpoint">')[1].split("</pre>")[0]
    )
    text = Verifier.parse(signer.verifier_key()).open(note)
    assert text.startswith("accord.test/northwind\n3\n")  # alice, carol, the customer


def test_entry_page_shows_exact_bytes_and_a_proof_that_checks(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c)
    r = c.get("/journal/1")
    assert r.status_code == 200
    raw = html.unescape(r.text.split('<pre class="json">')[1].split("</pre>")[0]).encode()
    entry = Entry.from_bytes(raw)
    assert entry.seq == 1 and entry.id == customer_id and entry.canonical() == raw
    page = read(r)
    assert f"/customers/{customer_id}" in page.links
    proof_html = r.text.split('<ol class="proof" start="1">')[1].split("</ol>")[0]
    proof = [base64.b64decode(h) for h in proof_html.replace("<li>", "").split("</li>") if h]
    size = int(page.text.split("Tree size ")[1].split()[0])
    root = base64.b64decode(page.text.split("Root hash ")[1].split()[0])
    merkle.verify_inclusion(merkle.leaf_hash(raw), 1, size, proof, root)


def test_another_tenants_journal_is_its_own(as_: Client, alice: Actor, mallory: Actor) -> None:
    create(as_(alice))
    m = as_(mallory)
    page = read(m.get("/journal"))
    assert "Fabrikam" not in page.text and "accord.test/contoso" in page.text
    assert m.get("/journal/1").status_code == 404
    assert m.get("/journal/99999999999").status_code == 404


def test_bad_positions_are_bad_input_not_errors(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    assert c.get("/journal/-1").status_code == 422
    assert c.get("/journal/99999999999999999999").status_code == 422
    assert c.get("/journal", params={"before": "x"}).status_code == 422
