"""Store fixtures: a fresh tenant's log on each engine."""

from __future__ import annotations

import pytest

from accord.store.db import Database
from tests.store.helpers import Log, new_log


@pytest.fixture
def log(db: Database) -> Log:
    return new_log(db)
