"""Shared infrastructure: extensions, configuration, database base, permissions, audit, mail."""
