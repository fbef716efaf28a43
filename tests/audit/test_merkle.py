"""The Merkle tree against a direct transcription of RFC 9162's recursive definitions."""

import hashlib

import pytest

from audit.merkle import Frontier, inclusion_proof, root, verify_inclusion


def mth(leaves):
    """MTH(D[n]) of RFC 9162 2.1.1, literally."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 70])
def test_root_matches_rfc_definition(n):
    assert root(LEAVES[:n]) == mth(LEAVES[:n])


def test_frontier_round_trips_and_extends():
    f = Frontier()
    for leaf in LEAVES[:37]:
        f.append(leaf)
    g = Frontier.from_json(f.to_json())
    for leaf in LEAVES[37:]:
        g.append(leaf)
    assert g.size == 70 and g.root() == mth(LEAVES)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 70])
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(n):
    leaves = LEAVES[:n]
    r = mth(leaves)
    for i in range(n):
        proof = inclusion_proof(i, leaves)
        assert verify_inclusion(i, n, leaves[i], proof, r)
        assert not verify_inclusion(i, n, LEAVES[69 - (i % 3)] + b"x", proof, r)
        if proof:
            bad = [bytes(32)] + proof[1:]
            assert not verify_inclusion(i, n, leaves[i], bad, r)
        if n > 1:
            assert not verify_inclusion((i + 1) % n, n, leaves[i], proof, r)
