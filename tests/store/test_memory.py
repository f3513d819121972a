"""The allocator tuning every `accord` process starts with (`store.memory`)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from accord.store import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_keeps_large_buffers() -> None:
    try:
        ctypes.CDLL(None).mallopt  # noqa: B018 - present on glibc only
    except AttributeError:
        pytest.skip("not glibc")
    assert memory.keep_large_buffers() is True
