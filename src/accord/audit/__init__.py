"""Audit: the journal seen from outside: checkpoints, proofs, verification, key."""
