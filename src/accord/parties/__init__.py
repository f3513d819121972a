"""Parties: the provider's customers, their contacts and their sites."""
