"""Field types shared by every capability's schemas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 controls other than tab, line feed and carriage return, and DEL. PostgreSQL refuses NUL
# in text and no person types the others, so they are bad input on every engine alike.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


#: Text a person types: any characters but control characters.
Text = Annotated[str, AfterValidator(_plain)]
