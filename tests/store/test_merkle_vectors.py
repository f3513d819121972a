"""RFC 9162 acceptance: every published vector, and our proofs for the vectors' tree.

The vectors (transparency-dev/merkle testdata, in shared/vectors/rfc9162) are pure data,
so these tests need no database. Happy paths must verify and every modified, truncated
or padded proof must be rejected.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from accord.store import merkle
from tests.conftest import SHARED

VECTORS = SHARED / "vectors" / "rfc9162"
FILES = sorted(VECTORS.rglob("*.json"))

#: The leaves the vectors' 8-leaf tree is built from (RFC 6962 test data).
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def case_id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_all_vectors_are_there() -> None:
    """Guard against a moved folder turning the parametrised tests into zero tests."""
    kinds = {p.relative_to(VECTORS).parts[0] for p in FILES}
    assert kinds == {"inclusion", "consistency"}
    assert len(FILES) >= 196
    assert (VECTORS / "inclusion" / "single-entry").is_dir()
    assert (VECTORS / "consistency" / "additional").is_dir()


@pytest.mark.parametrize("path", [p for p in FILES if "inclusion" in p.parts], ids=case_id)
def test_inclusion_vector(path: Path) -> None:
    v = load(path)
    args = (
        b64(v["leafHash"]),
        v["leafIdx"],
        v["treeSize"],
        [b64(p) for p in v["proof"] or []],
        b64(v["root"]),
    )
    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", [p for p in FILES if "consistency" in p.parts], ids=case_id)
def test_consistency_vector(path: Path) -> None:
    v = load(path)
    args = (
        v["size1"],
        v["size2"],
        [b64(p) for p in v["proof"] or []],
        b64(v["root1"]),
        b64(v["root2"]),
    )
    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def all_subtrees(leaf_hashes: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every complete aligned subtree of a list of leaves, as the journal stores them."""
    nodes = {(0, i): h for i, h in enumerate(leaf_hashes)}
    level, width = 0, len(leaf_hashes)
    while width > 1:
        for i in range(width // 2):
            nodes[(level + 1, i)] = merkle.node_hash(
                nodes[(level, 2 * i)], nodes[(level, 2 * i + 1)]
            )
        level, width = level + 1, width // 2
    return nodes


@pytest.mark.parametrize(
    "path", sorted(VECTORS.glob("inclusion/[0-9]/happy-path.json")), ids=case_id
)
def test_our_inclusion_proofs_are_the_vectors(path: Path) -> None:
    """Proof generation from stored subtrees gives the published proofs byte for byte."""
    v = load(path)
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[: v["treeSize"]]]
    nodes = all_subtrees(hashes)
    proof = merkle.build_proof(
        merkle.inclusion_ranges(v["leafIdx"], v["treeSize"]), lambda wanted: nodes
    )
    assert proof == [b64(p) for p in v["proof"] or []]
    assert merkle.root_of(hashes) == b64(v["root"])
    assert hashes[v["leafIdx"]] == b64(v["leafHash"])


@pytest.mark.parametrize(
    "path", sorted(VECTORS.glob("consistency/[0-9]/happy-path.json")), ids=case_id
)
def test_our_consistency_proofs_are_the_vectors(path: Path) -> None:
    v = load(path)
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[: v["size2"]]]
    nodes = all_subtrees(hashes)
    want = [b64(p) for p in v["proof"] or []]
    if v["size1"] == v["size2"]:
        assert want == []
    else:
        ranges = merkle.consistency_ranges(v["size1"], v["size2"])
        assert merkle.build_proof(ranges, lambda wanted: nodes) == want
    assert merkle.root_of(hashes[: v["size1"]]) == b64(v["root1"])
    assert merkle.root_of(hashes) == b64(v["root2"])


def test_root_of_matches_the_recursive_definition() -> None:
    """root_of (bottom-up) equals RFC 9162's MTH (split at the largest power of two)."""

    def mth(d: list[bytes]) -> bytes:
        if not d:
            return merkle.EMPTY_ROOT
        if len(d) == 1:
            return d[0]
        k = merkle.largest_power_of_two_below(len(d))
        return merkle.node_hash(mth(d[:k]), mth(d[k:]))

    hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    for n in range(71):
        assert merkle.root_of(hashes[:n]) == mth(hashes[:n])
