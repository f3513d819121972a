"""Field types shared by every capability's schemas, and the record data a change carries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

from accord.errors import Invalid

# C0 controls other than tab, line feed and carriage return, and DEL. PostgreSQL refuses NUL
# in text and no person types the others, so they are bad input on every engine alike.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


#: Text a person types: any characters but control characters.
Text = Annotated[str, AfterValidator(_plain)]


#: What every change says besides the record's data: when it takes effect and why.
BOOKKEEPING = frozenset({"effective", "reason"})


def record_data(data: BaseModel, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The record's fields of a Create schema as a journal entry carries them (JSON)."""
    drop = BOOKKEEPING | set(skip)
    return {k: v for k, v in data.model_dump(mode="json").items() if k not in drop}


def changed_data(data: BaseModel, *, required: Iterable[str] = ()) -> dict[str, Any]:
    """The fields an Update schema sets, as a journal entry carries them. Invalid when it
    sets none, or clears one of `required`."""
    values = data.model_dump(mode="json", exclude_unset=True)
    fields = {k: v for k, v in values.items() if k not in BOOKKEEPING}
    if not fields:
        raise Invalid.one("body", "nothing to change: give at least one field")
    for name in required:
        if name in fields and fields[name] is None:
            raise Invalid.one(name, "cannot be empty")
    return fields
