"""Accord: the verifiable, bitemporal system of record for service providers."""

__version__ = "0.1.0"
