"""RFC 9162 section 2 Merkle tree hashing, proofs and their verification.

Pure functions, no database: the journal decides where hashes come from. A subtree is
named by the half-open leaf range ``[start, end)`` it covers; the ranges that appear in
proofs always decompose into *complete aligned* subtrees (size a power of two, start a
multiple of that size). The journal stores the leaves and the complete subtrees of every
`STRIDE`-th level; any other complete subtree is folded from the at most 2 ** (STRIDE - 1)
stored hashes below it (`base_range`), which are contiguous, so a proof costs O(log n)
short range reads and a few dozen hashes, and no rebuild.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

from accord import verifier as _verifier

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


#: A proof that does not verify, with the reason.
ProofError = _verifier.VerifyError
#: RFC 9162 2.1.1: SHA-256(0x00 || entry) and SHA-256(0x01 || left || right).
leaf_hash = _verifier.leaf_hash
node_hash = _verifier.node_hash


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: list[bytes]) -> bytes:
    """MTH over already-hashed leaves, computed bottom-up (the brute-force reference)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    # Pairing left to right and carrying an odd last node up equals RFC 9162's
    # recursive split at the largest power of two.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# --- which subtrees a proof needs -------------------------------------------------------

Range = tuple[int, int]
Node = tuple[int, int]  # (level, index): leaves [index << level, (index + 1) << level)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees of PATH(index, D[0:size]) (RFC 9162 2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    out: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start = start + k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees of PROOF(old, D[0:new]) (RFC 9162 2.1.4.1), in proof order."""
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    out: list[Range] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = largest_power_of_two_below(end - start)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        out.append((start, end))
    out.reverse()
    return out


def complete_subtrees(start: int, end: int) -> list[Node]:
    """Split [start, end) into complete aligned subtrees, largest (leftmost) first.

    Valid for the ranges that occur in RFC 9162 trees, whose start is aligned to a power of
    two at least as large as the range.
    """
    out: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) from the complete subtrees' hashes."""
    parts = [nodes[n] for n in complete_subtrees(start, end)]
    acc = parts[-1]
    for left in reversed(parts[:-1]):
        acc = node_hash(left, acc)
    return acc


#: Levels stored (besides the leaves, level 0): the multiples of STRIDE. Storing every level
#: wrote about one node row per leaf, which cost as much as the leaf row itself; every
#: fourth level writes one per 15 leaves, and a proof folds at most 8 hashes per level.
STRIDE = 4


def is_stored(level: int) -> bool:
    return level % STRIDE == 0


def base_range(node: Node) -> tuple[int, int, int]:
    """(level, first idx, end idx) of the stored hashes that `node` is folded from."""
    level, idx = node
    up = level % STRIDE
    return level - up, idx << up, (idx + 1) << up


def fold(node: Node, stored: Mapping[Node, bytes]) -> bytes:
    """The hash of `node` from the stored hashes of its `base_range` (KeyError if absent)."""
    base, lo, hi = base_range(node)
    hashes = [stored[(base, i)] for i in range(lo, hi)]
    sha256 = hashlib.sha256
    while len(hashes) > 1:
        hashes = [
            sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest() for i in range(0, len(hashes), 2)
        ]
    return hashes[0]


def stored_ranges(nodes: Iterable[Node]) -> dict[int, list[Range]]:
    """The stored hashes `nodes` are folded from: per stored level, merged idx ranges."""
    spans: dict[int, list[Range]] = {}
    for node in nodes:
        base, lo, hi = base_range(node)
        spans.setdefault(base, []).append((lo, hi))
    out: dict[int, list[Range]] = {}
    for base, found in spans.items():
        merged: list[list[int]] = []
        for lo, hi in sorted(found):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out[base] = [(lo, hi) for lo, hi in merged]
    return out


def needed_nodes(ranges: list[Range]) -> set[Node]:
    return {n for r in ranges for n in complete_subtrees(*r)}


def build_proof(
    ranges: list[Range], fetch: Callable[[set[Node]], Mapping[Node, bytes]]
) -> list[bytes]:
    """Hashes for a list of ranges, reading all the stored nodes they need in one fetch."""
    nodes = fetch(needed_nodes(ranges))
    return [range_hash(a, b, nodes) for a, b in ranges]


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------
# One implementation, the standalone verifier's: what Accord checks is exactly what a third
# party running that file checks.
verify_inclusion = _verifier.verify_inclusion
verify_consistency = _verifier.verify_consistency
