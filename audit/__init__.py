"""Tamper-evident audit log: case events and admin changes, hash-chained (docs/audit.md)."""
