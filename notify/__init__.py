"""Notifications: an outbox of messages to residents and staff, delivered by a sender."""
