"""Entries are RFC 8785 bytes: the fast encoder agrees with the reference implementation.

No database: these are pure functions. `journal.canonical` takes the json module's C
encoder when it writes the same bytes as RFC 8785 and the reference implementation
(rfc8785) otherwise; `Entry.canonical` assembles the entry directly. Both must equal
the reference, byte for byte, on anything JSON can hold.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.store.db import FOREVER
from accord.store.journal import Entry, Op, canonical, iso, parse_iso

# Any text, including escapes, control characters, DEL, U+2028 and characters beyond the BMP
# (keys with those sort differently by code point and by UTF-16 unit).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
keys = st.one_of(texts, st.sampled_from(["\uffff", "\U0001f600", "\ue000", "a", "", "\x7f"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@settings(max_examples=200)
@given(json_values)
def test_canonical_is_rfc8785(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), {"n": 10**20}, [math.nan], {"x": math.inf}, "\ud800", {"\udfff": 1}],
    ids=[
        "big int",
        "big negative",
        "nested big int",
        "nan",
        "inf",
        "lone surrogate",
        "surrogate key",
    ],
)
def test_canonical_refuses_what_rfc8785_refuses(value: Any) -> None:
    with pytest.raises(ValueError) as reference:
        rfc8785.dumps(value)
    with pytest.raises(ValueError) as ours:
        canonical(value)
    assert type(ours.value) is type(reference.value)


def test_canonical_examples() -> None:
    assert canonical({"b": 1, "a": [True, None, "x\n\u00e9"]}) == (
        b'{"a":[true,null,"x\\n\xc3\xa9"],"b":1}'
    )
    # RFC 8785 3.2.3: keys sort by UTF-16 code units, so U+1F600 (D83D DE00) before U+FFFF.
    assert canonical({"\uffff": 1, "\U0001f600": 2}) == rfc8785.dumps(
        {"\uffff": 1, "\U0001f600": 2}
    )
    assert canonical({"\uffff": 1, "\U0001f600": 2}).index("\U0001f600".encode()) == 2
    assert canonical([1.0, 1e21, 1e-7, -0.0]) == b"[1,1e+21,1e-7,0]"


@settings(max_examples=150)
@given(
    seq=st.integers(0, 2**53 - 1),
    strings=st.tuples(texts, texts, texts, texts, texts, texts),
    op=st.sampled_from(list(Op)),
    times=st.tuples(instants, instants, st.one_of(st.just(FOREVER), instants)),
    data=st.dictionaries(keys, json_values, max_size=6),
)
def test_entry_bytes_are_rfc8785_of_its_json(
    seq: int,
    strings: tuple[str, ...],
    op: Op,
    times: tuple[datetime, datetime, datetime],
    data: dict[str, Any],
) -> None:
    tenant, actor, kind, type_, id_, reason = strings
    e = Entry(
        seq=seq,
        tenant=tenant,
        at=times[0],
        actor=actor,
        kind=kind,
        op=op,
        type=type_,
        id=id_,
        valid_from=times[1],
        valid_to=times[2],
        data=data,
        reason=reason,
    )
    raw = e.canonical()
    assert raw == rfc8785.dumps(e.to_json())
    again = Entry.from_bytes(raw)
    assert again.to_json() == json.loads(raw)
    assert replace(again, data=e.data) == e  # JSON itself may turn 1e16 into 10000000000000000


@given(
    st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
    )
)
def test_iso_is_fixed_width_and_round_trips(t: datetime) -> None:
    text = iso(t)
    assert len(text) == 27 and text.endswith("Z") and text[10] == "T"
    assert parse_iso(text) == t


def test_iso_orders_like_time() -> None:
    times = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(2030, 3, 1, 9, tzinfo=UTC),
        FOREVER,
    ]
    assert sorted(iso(t) for t in times) == [iso(t) for t in times]
    assert iso(datetime(5, 6, 7, tzinfo=UTC)) == "0005-06-07T00:00:00.000000Z"
    with pytest.raises(ValueError):
        iso(datetime(2030, 1, 1))


def test_a_draft_holds_the_fields_of_an_entry_but_its_place_in_the_log() -> None:
    """journal.append builds an entry from a Draft's __dict__ and four more fields."""
    from dataclasses import fields

    from accord.store.journal import _DRAFT_FIELDS, Draft

    assert {f.name for f in fields(Draft)} == set(_DRAFT_FIELDS)
    assert {f.name for f in fields(Entry)} == {*_DRAFT_FIELDS, "seq", "tenant", "at", "actor"}
