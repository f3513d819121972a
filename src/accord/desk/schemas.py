"""Shapes for booking time: what is asked, and what is answered."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from accord.fields import Text
from accord.parties.schemas import Change
from accord.timeinput import Instant


class TimeCreate(Change):
    customer_id: str = Field(min_length=1, max_length=36)
    contract_id: str | None = Field(default=None, max_length=36)
    asset_id: str | None = Field(default=None, max_length=36)
    worked_on: Instant = Field(description="the day the work was done")
    minutes: int = Field(gt=0, le=24 * 60)
    by: Text | None = Field(default=None, max_length=200, description="default: the actor")
    note: Text | None = Field(default=None, max_length=2000)


class TimeBooked(BaseModel):
    id: str
    customer_id: str
    contract_id: str | None
    asset_id: str | None
    worked_on: date
    minutes: int
