"""Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), section 2.1.

Leaves are the events' chain hashes (32 bytes each), in sequence order. A leaf hashes as
SHA-256(0x00 || leaf), an interior node as SHA-256(0x01 || left || right); a tree of n leaves
splits at the largest power of two below n. `Frontier` keeps the roots of the perfect subtrees
(the binary decomposition of n), so a checkpoint extends the previous one in O(log n) per event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass
class Frontier:
    """Roots of the perfect subtrees covering the first `size` leaves, largest first."""

    size: int = 0
    nodes: list[tuple[int, bytes]] = field(default_factory=list)  # (subtree size, root)

    def append(self, leaf: bytes) -> None:
        self.nodes.append((1, leaf_hash(leaf)))
        self.size += 1
        while len(self.nodes) >= 2 and self.nodes[-1][0] == self.nodes[-2][0]:
            (n, right), (_, left) = self.nodes.pop(), self.nodes.pop()
            self.nodes.append((2 * n, node_hash(left, right)))

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1][1]
        for _, node in reversed(self.nodes[:-1]):
            acc = node_hash(node, acc)
        return acc

    def to_json(self) -> list[list]:
        return [[n, h.hex()] for n, h in self.nodes]

    @classmethod
    def from_json(cls, nodes: list[list]) -> Frontier:
        parsed = [(int(n), bytes.fromhex(h)) for n, h in nodes]
        return cls(sum(n for n, _ in parsed), parsed)


def root(leaves: Sequence[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1 for leaf `index` (0-based) in `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is outside a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
                     ) -> bool:
    """RFC 9162 2.1.3.2: does `proof` show leaf `index` of a `size`-leaf tree with `root_hash`?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash
