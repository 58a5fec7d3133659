"""The HTTP side of outgoing webhooks: signing, address checks (SSRF) and one POST.

The standard library's ``http.client`` rather than requests: the host is resolved once, the address
checked, and the connection opened to THAT address (TLS still verifies the name), so a DNS answer that
changes between the check and the connection (rebinding) cannot reach an internal address. It never
follows redirects; a 3xx is just a failed attempt."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

#: How much of the receiver's answer the attempt log keeps.
SNIPPET_CHARS = 300
USER_AGENT = "Revenda-Webhooks/1.0"


class AddressRefused(Exception):
    """The URL's host is missing, does not resolve, or resolves to an address we never call."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code  # "unresolvable" | "private"


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to (the first the resolver gives); every address must be public unless
    ``allow_private`` (the embedded default, so a newcomer can try a local receiver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise AddressRefused("unresolvable") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise AddressRefused("unresolvable")
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise AddressRefused("private")
    return addresses[0]


def check_url_target(url: str, *, allow_private: bool) -> None:
    """Raise :class:`AddressRefused` if ``url`` may not be called (same rule as at delivery time)."""
    parts = urlsplit(url)
    resolve(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), allow_private=allow_private)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Outcome:
    status_code: int | None
    snippet: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict, *, timeout: float, allow_private: bool) -> Outcome:
    """POST ``body`` once; never raises for network trouble (the outcome names it)."""
    started = time.monotonic()
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)

    def done(status=None, snippet="", error=""):
        return Outcome(status, snippet[:SNIPPET_CHARS], error[:200], int((time.monotonic() - started) * 1000))

    try:
        address = resolve(parts.hostname or "", port, allow_private=allow_private)
    except AddressRefused as exc:
        return done(error=f"address refused ({exc.code})")
    cls = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = cls(parts.hostname, port, address, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        text = response.read(2048).decode("utf-8", "replace")
        return done(response.status, text)
    except (OSError, http.client.HTTPException) as exc:
        return done(error=f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
