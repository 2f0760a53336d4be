"""Abuse control on report intake: rate limits per client, phone and map cell, and a ban list."""
