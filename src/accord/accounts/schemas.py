"""API and input shapes for users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from accord.access import Role
from accord.fields import Text


class UserCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    email: EmailStr
    name: Text = Field(min_length=1, max_length=200)
    role: Role
    password: Text = Field(min_length=10, max_length=200, description="at least 10 characters")


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    role: Role


class TokenCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: Text = Field(min_length=1, max_length=100, description="what the token is for")
    user_id: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z-]{1,64}$",
        description="the user the token acts as, with that user's role; default: yourself",
    )


class TokenPublic(BaseModel):
    id: str
    name: str
    user_id: str
    created_at: datetime
    revoked_at: datetime | None = None


class TokenCreated(TokenPublic):
    token: Text = Field(description="shown once; only its hash is kept")
