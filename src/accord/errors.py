"""Domain errors. Interfaces turn them into 422/404/403 problem documents, CLI messages
or form errors; nothing below the interfaces knows about HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class AccordError(Exception):
    """Base of the errors a user can cause."""


class Invalid(AccordError):
    """Bad input: each problem names the field and the reason. Nothing was changed."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{f}: {r}" for f, r in self.problems))

    @classmethod
    def one(cls, field: str, reason: str) -> Invalid:
        return cls([(field, reason)])


class NotFound(AccordError):
    """No such record for this tenant (also said when it exists in another tenant)."""


class Forbidden(AccordError):
    """The actor's role does not allow this."""


def parse(schema: type[T], data: object) -> T:
    """Validate `data` against a schema, turning pydantic's errors into `Invalid`."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            [(".".join(str(p) for p in err["loc"]) or "body", err["msg"]) for err in exc.errors()]
        ) from None
