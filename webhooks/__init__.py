"""Outgoing webhooks: above every domain, they only listen to signals (no domain knows they exist)."""
