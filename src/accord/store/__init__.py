"""The store layer: database, journal (Merkle log and checkpoints), temporal versions.

Everything above this package writes only through `accord.store.writes.record`.
"""
