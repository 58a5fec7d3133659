"""Absolute links for e-mails and shared texts, always on ``PUBLIC_URL``.

Never built from the request: its ``Host`` header is the client's to choose, and a password reset
asked for with ``Host: attacker.example`` must not mail the victim a link to the attacker's site.
The same helper serves requests, Celery tasks and the CLI."""

from urllib.parse import urlsplit

from flask import current_app


def public_base() -> str:
    """``PUBLIC_URL`` without a trailing slash, e.g. ``https://painel.example.com``."""
    return current_app.config["PUBLIC_URL"].rstrip("/")


def public_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` on ``PUBLIC_URL`` (whatever host the current request names)."""
    base = urlsplit(public_base())
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
