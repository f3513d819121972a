"""Agreements: assets, contracts and the coverage, billing and budgets derived from them."""
