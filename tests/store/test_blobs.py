"""The blob store: content-addressed, stored once per tenant, delta-encoded against a base or
a family dictionary, with reads bounded however long a history grows; `verify_blobs` and
`get` find a changed byte or reference. On SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import random
import threading

import pytest
from sqlalchemy import select, text, update

from accord.errors import Invalid
from accord.store import blobs
from accord.store.blobs import Blob, BlobError, BlobFamily
from accord.store.db import Database
from accord.store.tenancy import create_tenant, get_tenant
from accord.store.verify import VerificationError, verify_blob_store

_VOCABULARY = """
the customer agrees lender shall repay amount term interest rate schedule notice default
charges early settlement cooling off period personal data processing consent statement
account balance payment due date variable fixed annual percentage
"""
WORDS = tuple(_VOCABULARY.split())


def text_doc(rng: random.Random, words: int) -> bytes:
    lines = []
    for i in range(0, words, 12):
        lines.append(f"{i // 12}. " + " ".join(rng.choice(WORDS) for _ in range(12)) + ".")
    return ("\n".join(lines) + "\n").encode()


def edit(rng: random.Random, doc: bytes) -> bytes:
    """A small change, as between two published versions: a word here and there."""
    lines = doc.decode().split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines) - 1)
        words = lines[i].split(" ")
        words[rng.randrange(len(words))] = rng.choice(WORDS).upper()
        lines[i] = " ".join(words)
    return "\n".join(lines).encode()


def tenant(db: Database, slug: str = "northwind") -> int:
    with db.unit_of_work() as s:
        return create_tenant(s, slug=slug, name=slug.title()).id


def put(db: Database, tenant_id: int, data: bytes, **kw: str | None) -> str:
    with db.unit_of_work() as s:
        return blobs.put(s, tenant_id, data, **kw)


def get(db: Database, tenant_id: int, digest: str) -> bytes:
    with db.reading() as s:
        return blobs.get(s, tenant_id, digest)


def rows(db: Database, tenant_id: int) -> dict[str, Blob]:
    with db.reading() as s:
        found = s.scalars(select(Blob).where(Blob.tenant_id == tenant_id)).all()
        s.expunge_all()  # kept as loaded after the read ends
        return {b.digest.hex(): b for b in found}


def depth(db: Database, digest: str) -> int:
    """How many deltas a read of `digest` decodes above a blob stored without a base."""
    with db.reading() as s:
        by_id = {b.id: b for b in s.scalars(select(Blob))}
        s.expunge_all()
    row = next(b for b in by_id.values() if b.digest.hex() == digest)
    hops = 0
    while row.base_id is not None:
        row, hops = by_id[row.base_id], hops + 1
    return hops


def problems(db: Database, tenant_id: int) -> list[str]:
    with db.reading() as s:
        return blobs.verify_blobs(s, tenant_id)


def test_round_trip_of_any_bytes(db: Database) -> None:
    t = tenant(db)
    rng = random.Random(1)
    samples = [
        b"",
        b"x",
        b"hello",
        bytes(range(256)) * 3,
        rng.randbytes(100_000),  # incompressible
        text_doc(rng, 30_000),
        b"\0" * 1_000_000,
    ]
    digests = [put(db, t, data) for data in samples]
    for data, digest in zip(samples, digests, strict=True):
        assert digest == hashlib.sha256(data).hexdigest()
        assert get(db, t, digest) == data
        with db.reading() as s:
            assert blobs.exists(s, t, digest)
    stored = rows(db, t)
    assert stored[hashlib.sha256(b"\0" * 1_000_000).hexdigest()].size == 1_000_000
    assert len(stored[hashlib.sha256(b"\0" * 1_000_000).hexdigest()].data) < 1_000
    assert problems(db, t) == []


def test_the_same_bytes_are_stored_once(db: Database) -> None:
    t = tenant(db)
    data = text_doc(random.Random(2), 2_000)
    first = put(db, t, data)
    with db.unit_of_work() as s:
        again = blobs.put(s, t, data)
        also = blobs.put(s, t, data, base=first, family="terms")
    assert first == again == also
    with db.reading() as s:
        assert blobs.count(s, t) == 1
        assert blobs.usage(s, t).raw_bytes == len(data)


def test_a_new_version_costs_about_what_changed(db: Database) -> None:
    t = tenant(db)
    rng = random.Random(3)
    v1 = text_doc(rng, 6_000)
    v2 = edit(rng, v1)
    d1 = put(db, t, v1)
    d2 = put(db, t, v2, base=d1)
    stored = rows(db, t)
    assert stored[d2].base_id == stored[d1].id
    assert len(stored[d2].data) < 100 < len(stored[d1].data)  # vs several KB for v1
    assert get(db, t, d2) == v2 and get(db, t, d1) == v1


def test_a_long_history_reads_back_through_a_bounded_chain(db: Database) -> None:
    """300 versions: past the skip-delta points at 64, 128, 192 and 256. Every version reads
    back, and none is more than digitsum(n) deltas from a blob stored without a base."""
    t = tenant(db)
    rng = random.Random(4)
    doc = text_doc(rng, 600)
    versions, digests = [], []
    previous = None
    for _ in range(300):
        previous = put(db, t, doc, base=previous)
        versions.append(doc)
        digests.append(previous)
        doc = edit(rng, doc)
    stored = rows(db, t)
    by_id = {b.id: b for b in stored.values()}
    for n, (data, digest) in enumerate(zip(versions, digests, strict=True)):
        assert get(db, t, digest) == data
        hops, row = 0, stored[digest]
        while row.base_id is not None:
            row, hops = by_id[row.base_id], hops + 1
        assert hops <= blobs.digitsum(stored[digest].n) <= blobs.digitsum(n)
    deepest = max(depth(db, d) for d in digests)
    assert deepest <= 63 + 3  # n < 320: the last digit, plus the 64s digit
    assert depth(db, digests[256]) <= 4  # a skip point goes back 64 at a time
    # the skips cost little: well under a plain frame per version
    assert sum(len(b.data) for b in stored.values()) < 40 * len(versions[0]) // 4
    assert problems(db, t) == []


def test_skip_delta_digits() -> None:
    assert blobs.digitsum(0) == 0
    assert blobs.digitsum(63) == 63
    assert blobs.digitsum(64) == 1
    assert blobs.digitsum(64 * 8) == 1
    assert blobs.digitsum(4095) == 63 + 7 + 7
    assert max(blobs.digitsum(n) for n in range(4096)) == 77


def test_a_family_shares_one_dictionary(db: Database) -> None:
    """Screens of one journey for many customers: the first seeds the family's dictionary,
    the rest cost their differences only."""
    t = tenant(db)
    rng = random.Random(5)
    template = text_doc(rng, 4_000).decode()
    page = "<html><h1>Offer for {}</h1><p>Amount {}</p><pre>{}</pre></html>"
    screens = [page.format(f"Customer {i}", 1000 + 37 * i, template).encode() for i in range(25)]
    digests = [put(db, t, s, family="screen:loan/terms") for s in screens]
    stored = rows(db, t)
    first = stored[digests[0]]
    assert first.dict_id is None and first.base_id is None
    for digest in digests[1:]:
        assert stored[digest].dict_id == first.id
        assert len(stored[digest].data) < 60
    with db.reading() as s:
        family = s.get(BlobFamily, (t, "screen:loan/terms"))
        assert family is not None and family.seeds == 1 and family.seed_id == first.id
    blobs._family_cache.clear()  # read from the rows, not this process's cache
    for data, digest in zip(screens, digests, strict=True):
        assert get(db, t, digest) == data
    assert problems(db, t) == []


def test_a_family_of_different_documents_grows_its_seeds(db: Database) -> None:
    """Documents that differ (policies of one publisher) each add what is new to them to
    the dictionary, until its budget is spent; then it stays as it is."""
    t = tenant(db)
    rng = random.Random(6)
    docs = [text_doc(rng, 3_000) for _ in range(6)]
    digests = [put(db, t, d, family="policies") for d in docs]
    with db.reading() as s:
        family = s.get(BlobFamily, (t, "policies"))
        assert family is not None and family.seeds == 6
        assert family.seed_bytes == sum(len(d) for d in docs)
    stored = rows(db, t)
    seeds = [stored[d] for d in digests]
    assert [r.dict_id for r in seeds] == [None] + [r.id for r in seeds[:-1]]
    # A version with a base and a family: the one that encodes smaller is kept.
    changed = edit(rng, docs[3])
    d = put(db, t, changed, base=digests[3], family="policies")
    assert rows(db, t)[d].base_id is not None
    blobs._family_cache.clear()
    for data, digest in zip([*docs, changed], [*digests, d], strict=True):
        assert get(db, t, digest) == data
    assert problems(db, t) == []


def test_a_family_is_per_tenant_and_the_cache_keys_are_its_contents(db: Database) -> None:
    a, b = tenant(db, "northwind"), tenant(db, "contoso")
    rng = random.Random(7)
    shared = text_doc(rng, 2_000)
    own_a, own_b = text_doc(rng, 2_000), text_doc(rng, 2_000)
    for t, own in ((a, own_a), (b, own_b)):
        put(db, t, own, family="f")
        put(db, t, shared, family="f")
    # In each tenant the same last seed sits on different seeds before it.
    member = shared + b"\n" + own_a[:500]
    da, db_ = put(db, a, member, family="f"), put(db, b, member, family="f")
    assert da == db_
    assert get(db, a, da) == member and get(db, b, db_) == member
    assert problems(db, a) == [] and problems(db, b) == []


def test_another_tenant_cannot_read_or_build_on_a_blob(db: Database) -> None:
    northwind, contoso = tenant(db, "northwind"), tenant(db, "contoso")
    secret = b"northwind's terms, version 1\n" * 50
    digest = put(db, northwind, secret)
    with db.reading() as s:
        with pytest.raises(LookupError):
            blobs.get(s, contoso, digest)
        assert not blobs.exists(s, contoso, digest)
        assert blobs.count(s, contoso) == 0
    with db.unit_of_work() as s, pytest.raises(Invalid, match="base"):
        blobs.put(s, contoso, secret + b"v2", base=digest)
    # Storing the same bytes in the other tenant is its own copy, not a link to northwind's.
    again = put(db, contoso, secret)
    assert again == digest
    assert rows(db, contoso)[digest].id != rows(db, northwind)[digest].id
    assert problems(db, contoso) == []


def test_bad_input_names_the_field_and_changes_nothing(db: Database) -> None:
    t = tenant(db)
    with db.unit_of_work() as s:
        with pytest.raises(Invalid, match="^digest: must be a SHA-256 digest"):
            blobs.get(s, t, "not-a-digest")
        with pytest.raises(Invalid, match="^digest:"):
            blobs.exists(s, t, "A" * 64)  # upper case is not the form we hand out
        with pytest.raises(Invalid, match="^base:"):
            blobs.put(s, t, b"x", base="zz")
        with pytest.raises(Invalid, match="^base: the tenant has no blob"):
            blobs.put(s, t, b"x", base="0" * 64)
        with pytest.raises(Invalid, match="^family:"):
            blobs.put(s, t, b"x", family="")
        with pytest.raises(Invalid, match="^family:"):
            blobs.put(s, t, b"x", family="f" * 201)
        with pytest.raises(Invalid, match="^data: must be bytes"):
            blobs.put(s, t, "text")  # type: ignore[arg-type]
        with pytest.raises(LookupError):
            blobs.get(s, t, "0" * 64)
    with db.reading() as s:
        assert blobs.count(s, t) == 0


def test_concurrent_puts_of_the_same_bytes_do_not_fail(db: Database) -> None:
    t = tenant(db)
    data = text_doc(random.Random(8), 5_000)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            results.append(put(db, t, data, family="race"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and len(set(results)) == 1
    assert get(db, t, results[0]) == data
    with db.reading() as s:
        assert 1 <= blobs.count(s, t) <= 4  # a lost race may store a second, equal copy
    assert problems(db, t) == []


def _chain(db: Database) -> tuple[int, list[str], list[bytes]]:
    t = tenant(db)
    rng = random.Random(9)
    doc = text_doc(rng, 2_000)
    digests, versions = [], []
    previous = None
    for _ in range(5):
        previous = put(db, t, doc, base=previous)
        digests.append(previous)
        versions.append(doc)
        doc = edit(rng, doc)
    return t, digests, versions


def _tamper(db: Database, which: str, **values: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(Blob).where(Blob.digest == bytes.fromhex(which)).values(**values))


def test_one_changed_byte_of_a_frame_is_found(db: Database) -> None:
    t, digests, _ = _chain(db)
    frame = rows(db, t)[digests[0]].data
    middle = len(frame) // 2
    _tamper(
        db, digests[0], data=frame[:middle] + bytes([frame[middle] ^ 0x01]) + frame[middle + 1 :]
    )
    found = problems(db, t)
    assert found[0].startswith(f"blob {digests[0]} ")
    assert found[1:] == [f"blob {d} depends on a damaged blob" for d in digests[1:]]
    with db.reading() as s:
        with pytest.raises(BlobError, match=digests[0]):
            blobs.get(s, t, digests[0])
        northwind = get_tenant(s, "northwind")
        assert northwind is not None and northwind.id == t
        with pytest.raises(VerificationError, match=f"^blob {digests[0]} .*4 more problems"):
            verify_blob_store(s, northwind)


def test_every_changed_byte_of_a_delta_is_found_or_changes_nothing(db: Database) -> None:
    """What verification guarantees is each blob's bytes: a flipped bit anywhere in a frame
    is reported, unless the frame still decodes to exactly the same bytes (a bit of the
    header that declares the window size, say), when no evidence has changed."""
    t, digests, versions = _chain(db)
    frame = rows(db, t)[digests[2]].data
    reported = 0
    for i in range(len(frame)):
        for bit in (0x01, 0x80):
            _tamper(db, digests[2], data=frame[:i] + bytes([frame[i] ^ bit]) + frame[i + 1 :])
            found = problems(db, t)
            if found:
                assert found[0].startswith(f"blob {digests[2]} ")
                reported += 1
            else:
                assert get(db, t, digests[2]) == versions[2]
    _tamper(db, digests[2], data=frame)
    assert problems(db, t) == []
    assert reported >= len(frame)  # most changes are


def test_a_changed_base_reference_is_found(db: Database) -> None:
    t, digests, _ = _chain(db)
    stored = rows(db, t)
    _tamper(db, digests[3], base_id=stored[digests[1]].id)  # skips a version
    found = problems(db, t)
    assert found[0].startswith(f"blob {digests[3]} ")
    with db.reading() as s, pytest.raises(BlobError):
        blobs.get(s, t, digests[3])


def test_a_changed_digest_or_size_is_found(db: Database) -> None:
    t, digests, versions = _chain(db)
    _tamper(db, digests[2], size=len(versions[2]) + 1)
    assert problems(db, t)[0] == (
        f"blob {digests[2]} decodes to {len(versions[2])} bytes, not {len(versions[2]) + 1}"
    )
    _tamper(db, digests[2], size=len(versions[2]))
    assert problems(db, t) == []
    other = hashlib.sha256(b"something else").hexdigest()
    _tamper(db, digests[4], digest=bytes.fromhex(other))
    assert problems(db, t) == [f"blob {other} does not match its digest"]


def test_a_blob_moved_to_another_tenant_is_found(db: Database) -> None:
    t, digests, _ = _chain(db)
    other = tenant(db, "contoso")
    _tamper(db, digests[2], tenant_id=other)
    assert problems(db, other)[0].startswith(f"blob {digests[2]} names blob id")
    assert "which this tenant does not have" in problems(db, other)[0]
    assert problems(db, t)[0].startswith(f"blob {digests[3]} names blob id")


def test_a_damaged_family_seed_is_found(db: Database) -> None:
    t = tenant(db)
    rng = random.Random(10)
    base = text_doc(rng, 2_000)
    seed = put(db, t, base, family="f")
    member = put(db, t, base.replace(b"1.", b"one."), family="f")
    frame = rows(db, t)[seed].data
    _tamper(db, seed, data=frame[:-1] + bytes([frame[-1] ^ 0x40]))
    blobs._family_cache.clear()
    assert problems(db, t)[0].startswith(f"blob {seed} ")
    assert problems(db, t)[1] == f"blob {member} depends on a damaged blob"
    with db.reading() as s, pytest.raises(BlobError):
        blobs.get(s, t, member)


def test_storage_bytes_counts_the_pages_of_the_tables_and_indexes(db: Database) -> None:
    t = tenant(db)
    rng = random.Random(11)
    with db.reading() as s:
        empty = blobs.storage_bytes(s)
    for _ in range(20):
        put(db, t, rng.randbytes(20_000))
    with db.reading() as s:
        used = blobs.storage_bytes(s)
        frames = blobs.usage(s, t).frame_bytes
        if db.dialect == "sqlite":
            page = s.scalar(text("PRAGMA page_size"))
            assert used % page == 0
    assert frames >= 20 * 20_000
    assert frames <= used - empty < 2 * frames


def test_large_blobs_say_their_size_and_a_frame_that_lies_about_it_is_found(db: Database) -> None:
    """Frames of SIZED bytes or more carry their content size (zstd then decodes them in one
    pass); a frame whose header says another size than its row is refused before zstd makes
    room for it, and a small blob's frame says none."""
    t = tenant(db)
    rng = random.Random(12)
    big = text_doc(rng, 20_000)
    assert len(big) >= blobs.SIZED
    changed = edit(rng, big)
    first = put(db, t, big)
    second = put(db, t, changed, base=first)
    small = put(db, t, b"a small blob, under SIZED bytes " * 8)
    stored = rows(db, t)
    fmt = {"format": blobs.zstd.FORMAT_ZSTD1_MAGICLESS}
    for digest in (first, second):
        frame = stored[digest].data
        assert blobs.zstd.get_frame_parameters(frame, **fmt).content_size == stored[digest].size
    unknown = blobs.zstd.CONTENTSIZE_UNKNOWN
    assert blobs.zstd.get_frame_parameters(stored[small].data, **fmt).content_size == unknown
    assert get(db, t, second) == changed
    _tamper(db, second, size=stored[second].size + 1)
    found = problems(db, t)
    assert found == [f"blob {second} does not decode: the frame says {stored[second].size} bytes"]
    _tamper(db, second, size=stored[second].size)
    assert problems(db, t) == []


def test_a_read_looks_up_its_rows_by_key_not_by_tenant(db: Database) -> None:
    """The rows a read needs are found by primary key, so a read costs the same however many
    other blobs the tenant has (SQLite's plan: no search of the tenant's blobs)."""
    if db.dialect != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    t, digests, versions = _chain(db)
    digest = bytes.fromhex(digests[-1])
    params = {"t": t, "p": digest[: blobs.PREFIX], "d": digest}
    with db.engine.connect() as conn:
        plan = [
            row[3]
            for row in conn.execute(
                text(f"EXPLAIN QUERY PLAN {blobs._CHAIN_OF_DIGEST.text}"), params
            )
        ]
    searches = [
        step for step in plan if step.startswith(("SEARCH", "SCAN")) and " b " in f" {step} "
    ]
    assert searches and all("PRIMARY KEY" in step for step in searches), plan
    assert get(db, t, digests[-1]) == versions[-1]
