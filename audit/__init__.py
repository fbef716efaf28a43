"""Append-only, hash-chained audit log, e-signatures and the review queue."""
