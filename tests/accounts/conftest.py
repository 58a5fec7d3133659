"""Helpers for the accounts tests."""

import re

import pytest


def link_in(message, path: str) -> str:
    """The path (with token) of the first link to ``path`` in an e-mail's plain-text body."""
    body = message.get_body(("plain",)).get_content()
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+)", body)
    assert match, f"no {path} link in:\n{body}"
    return match.group(1)


@pytest.fixture
def committed(db):
    """Commit the set-up data: a rejected request rolls the session back (the app's request boundary)."""

    def commit():
        db.session.commit()

    return commit
