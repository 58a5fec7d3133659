"""webhooks/transport.py against real sockets: a raw local receiver (plain TCP and TLS) that records the
exact bytes of each request and answers what it is told, so the request line, headers, body, timeouts,
the kept snippet, status handling and the pinned connection are all observed on the wire."""

import datetime
import ipaddress
import random
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import transport


class RawReceiver:
    """One TCP listener; each connection's request bytes are recorded, then ``answer`` (bytes) is sent
    after ``delay`` seconds; the connection stays open until the client closes it (or 5 s)."""

    def __init__(self, host="127.0.0.1", port=0, tls: ssl.SSLContext | None = None, answer=b"", delay=0.0,
                 handshake=True):
        self.listener = socket.create_server((host, port))
        self.host, self.port = self.listener.getsockname()[:2]
        self.tls, self.answer, self.delay, self.handshake = tls, answer, delay, handshake
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            if not self.handshake:  # accept TCP, never speak TLS: the client's handshake must time out
                while conn.recv(65536):  # read the ClientHello, answer nothing, until the client gives up
                    pass
                return
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n" + body)
            time.sleep(self.delay)
            conn.sendall(self.answer)
            while conn.recv(65536):  # hold the connection until the client closes it
                pass
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def receivers():
    made = []

    def make(**kwargs):
        made.append(RawReceiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def answer(status: int, reason: str, body: bytes = b"", extra: bytes = b"") -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n".encode() + extra + b"\r\n" + body)


def head_lines(raw: bytes) -> list[bytes]:
    return raw.partition(b"\r\n\r\n")[0].split(b"\r\n")


def timed_post(url, body=b"{}", headers=None, **kwargs):
    """``post`` and the wall time around it: the outcome's duration lies inside."""
    before = time.monotonic()
    outcome = transport.post(url, body, headers or {}, **kwargs)
    return outcome, time.monotonic() - before


def loopback_address_with_free_port(port: int) -> str:
    """A random 127.x.y.z where ``port`` (80 or 443) can be bound, for the default-port tests."""
    for _ in range(50):
        address = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
        with socket.socket() as sock:
            try:
                sock.bind((address, port))
            except OSError:
                continue
            return address
    pytest.skip(f"no loopback address with port {port} free (or no permission to bind it)")


# --- the certificate for the TLS receiver (self-signed, made here) -------------------------------

def self_signed(tmp_path, names=("localhost",), addresses=()):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else addresses[0])])
    now = datetime.datetime.now(datetime.UTC)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return server, cert_file


# --- signing -------------------------------------------------------------------------------------

def test_signature_header_is_t_and_hex_hmac_of_t_dot_body():
    import hashlib
    import hmac
    header = transport.signature_header("whsec_x", 1700000000, b'{"a":1}')
    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


# --- the request on the wire ---------------------------------------------------------------------

def test_the_post_on_the_wire(receivers):
    receiver = receivers(answer=answer(200, "OK", b"recebido"))
    body = b'{"event":"client.updated","id":7}'
    signature = transport.signature_header("whsec_abc", int(time.time()), body)
    outcome, elapsed = timed_post(f"http://127.0.0.1:{receiver.port}/hooks/revenda?a=1&b=2", body,
                                  {"Revenda-Signature": signature, "Revenda-Delivery": "d-123"},
                                  timeout=5, allow_private=True)
    assert (outcome.status_code, outcome.snippet, outcome.error, outcome.ok) == (200, "recebido", "", True)
    assert 0 <= outcome.duration_ms <= elapsed * 1000
    [raw] = receiver.requests
    lines = head_lines(raw)
    assert lines[0] == b"POST /hooks/revenda?a=1&b=2 HTTP/1.1"
    assert f"Host: 127.0.0.1:{receiver.port}".encode() in lines
    assert b"Content-Type: application/json" in lines
    assert f"User-Agent: {transport.USER_AGENT}".encode() in lines
    assert b"User-Agent: Revenda-Webhooks/1.0" in lines
    assert f"Revenda-Signature: {signature}".encode() in lines
    assert b"Revenda-Delivery: d-123" in lines
    assert f"Content-Length: {len(body)}".encode() in lines
    assert raw.partition(b"\r\n\r\n")[2] == body


def test_no_path_posts_to_the_root_and_no_query_adds_nothing(receivers):
    receiver = receivers(answer=answer(204, "No Content"))
    outcome = transport.post(f"http://127.0.0.1:{receiver.port}", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code == 204 and outcome.ok
    assert head_lines(receiver.requests[0])[0] == b"POST / HTTP/1.1"
    receiver2 = receivers(answer=answer(200, "OK"))
    transport.post(f"http://127.0.0.1:{receiver2.port}/x/y", b"{}", {}, timeout=5, allow_private=True)
    assert head_lines(receiver2.requests[0])[0] == b"POST /x/y HTTP/1.1"


def test_the_connection_goes_to_the_checked_address(receivers):
    # the receiver listens on a loopback address other than 127.0.0.1: only a connection opened to THAT
    # address (the one resolved and checked) reaches it
    address = loopback_address_with_free_port(0)
    receiver = receivers(host=address, answer=answer(200, "OK", b"ok"))
    outcome = transport.post(f"http://{address}:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code == 200, outcome.error
    assert f"Host: {address}:{receiver.port}".encode() in head_lines(receiver.requests[0])


def test_the_default_http_port_is_80(receivers):
    address = loopback_address_with_free_port(80)
    receiver = receivers(host=address, port=80, answer=answer(200, "OK", b"porta 80"))
    outcome = transport.post(f"http://{address}/h", b"{}", {}, timeout=5, allow_private=True)
    assert (outcome.status_code, outcome.snippet) == (200, "porta 80"), outcome.error
    assert f"Host: {address}".encode() in head_lines(receiver.requests[0])


# --- the answer ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_never_followed(receivers, status):
    receiver = receivers(answer=answer(status, "Moved", b"", b"Location: /elsewhere\r\n"))
    outcome = transport.post(f"http://127.0.0.1:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert (outcome.status_code, outcome.ok, outcome.error) == (status, False, "")
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_client_and_server_errors_are_failures_with_their_status(receivers, status):
    receiver = receivers(answer=answer(status, "Erro", b"deu ruim"))
    outcome = transport.post(f"http://127.0.0.1:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert (outcome.status_code, outcome.ok, outcome.snippet, outcome.error) == (status, False, "deu ruim", "")


@pytest.mark.parametrize("status, ok", [(199, False), (200, True), (299, True), (300, False), (None, False)])
def test_ok_is_2xx_only(status, ok):
    assert transport.Outcome(status, "", "", 0).ok is ok


def test_the_snippet_keeps_the_first_characters_and_reads_no_more_than_2048_bytes(receivers):
    # exactly 2048 bytes arrive though 100000 are announced: reading more would wait for the timeout
    body = b"\xff" + "é".encode() * 400 + b"a" * (2048 - 801)
    assert len(body) == 2048
    receiver = receivers(answer=b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + body)
    outcome = transport.post(f"http://127.0.0.1:{receiver.port}/h", b"{}", {}, timeout=1, allow_private=True)
    assert outcome.error == ""
    assert outcome.status_code == 200
    assert outcome.snippet == ("\ufffd" + "é" * 400)[:transport.SNIPPET_CHARS]
    assert len(outcome.snippet) == transport.SNIPPET_CHARS == 300


def test_a_garbled_answer_is_an_error_cut_to_200_characters(receivers):
    receiver = receivers(answer=b"X" * 400 + b"\r\n\r\n")
    outcome = transport.post(f"http://127.0.0.1:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code is None and not outcome.ok and outcome.snippet == ""
    assert outcome.error.startswith("BadStatusLine: ")
    assert len(outcome.error) == 200


def test_nobody_listening_is_a_connection_error():
    with socket.socket() as sock:  # a port that was free a moment ago, nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = transport.post(f"http://127.0.0.1:{port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code is None and not outcome.ok and outcome.snippet == ""
    assert outcome.error.startswith("ConnectionRefusedError: ")


def test_a_silent_receiver_times_out_after_the_timeout(receivers):
    # it answers only after 2.5 s; with a 1 s timeout the attempt ends at about 1 s as a timeout
    receiver = receivers(answer=answer(200, "OK", b"tarde"), delay=2.5)
    outcome, elapsed = timed_post(f"http://127.0.0.1:{receiver.port}/h", timeout=1, allow_private=True)
    assert outcome.status_code is None
    assert outcome.error.startswith("TimeoutError: ")
    assert 900 <= outcome.duration_ms <= elapsed * 1000
    assert elapsed < 2.4


# --- address checks (SSRF) -----------------------------------------------------------------------

REFUSED = [
    "10.1.2.3", "172.16.0.1", "192.168.1.1",  # private
    "127.0.0.1", "127.8.9.10", "::1",  # loopback
    "169.254.169.254", "fe80::1",  # link-local (the cloud metadata address among them)
    "224.0.0.1", "239.255.255.250", "ff02::1",  # multicast
    "240.0.0.1", "ff::1",  # reserved (IPv4 240/4, IPv6 ::/8)
    "0.0.0.0", "::",  # unspecified
    "100.64.0.1",  # shared address space (carrier NAT): not global
    "fc00::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",  # IPv6 unique-local, IPv4-mapped private
]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address):
    assert not transport.is_public_address(address)
    url = f"http://[{address}]/h" if ":" in address else f"http://{address}/h"
    with pytest.raises(transport.AddressRefused) as refused:
        transport.check_url_target(url, allow_private=False)
    assert refused.value.code == "private" and str(refused.value) == "private"
    outcome = transport.post(url, b"{}", {}, timeout=1, allow_private=False)
    assert (outcome.status_code, outcome.snippet, outcome.error) == (None, "", "address refused (private)")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert transport.is_public_address(address)
    url = f"https://[{address}]/h" if ":" in address else f"https://{address}/h"
    transport.check_url_target(url, allow_private=False)  # no exception


def test_private_addresses_pass_when_allowed():
    transport.check_url_target("http://127.0.0.1:9/h", allow_private=True)
    transport.check_url_target("https://10.0.0.1/h", allow_private=True)
    assert transport.resolve("127.0.0.1", 80, allow_private=True) == "127.0.0.1"


def test_localhost_resolves_to_loopback_and_is_refused():
    assert ipaddress.ip_address(transport.resolve("localhost", 80, allow_private=True)).is_loopback
    with pytest.raises(transport.AddressRefused) as refused:
        transport.resolve("localhost", 80, allow_private=False)
    assert refused.value.code == "private"


@pytest.mark.parametrize("url", ["http:///sem-host", "https://", "http://" + "a" * 64 + ".com/h",
                                 "http://nome-que-nao-existe.invalid/h"])
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_missing_or_unresolvable_host(url, allow_private):
    with pytest.raises(transport.AddressRefused) as refused:
        transport.check_url_target(url, allow_private=allow_private)
    assert refused.value.code == "unresolvable" and str(refused.value) == "unresolvable"
    outcome = transport.post(url, b"{}", {}, timeout=1, allow_private=allow_private)
    assert (outcome.status_code, outcome.snippet, outcome.error) == (None, "", "address refused (unresolvable)")


def test_an_empty_resolver_answer_is_unresolvable(monkeypatch):
    # the resolver raises rather than answering nothing; the guard is defensive, so the empty answer is staged
    monkeypatch.setattr(transport.socket, "getaddrinfo", lambda *args, **kwargs: [])
    with pytest.raises(transport.AddressRefused) as refused:
        transport.resolve("exemplo.com.br", 443, allow_private=True)
    assert refused.value.code == "unresolvable" and str(refused.value) == "unresolvable"


def test_one_private_address_among_public_ones_is_refused(monkeypatch):
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 443)) for a in ("8.8.8.8", "10.0.0.5")]
    monkeypatch.setattr(transport.socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(transport.AddressRefused):
        transport.resolve("exemplo.com.br", 443, allow_private=False)
    assert transport.resolve("exemplo.com.br", 443, allow_private=True) == "8.8.8.8"


# --- HTTPS: pinned address, the name still verified ----------------------------------------------

def test_https_with_a_trusted_certificate_reaches_the_receiver(receivers, tmp_path, monkeypatch):
    server_context, cert_file = self_signed(tmp_path, names=("localhost",))
    receiver = receivers(tls=server_context, answer=answer(200, "OK", b"seguro"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the default context trusts it (OpenSSL's env)
    outcome = transport.post(f"https://localhost:{receiver.port}/h?x=1", b'{"a":1}', {"Revenda-Delivery": "d"},
                             timeout=5, allow_private=True)
    assert (outcome.status_code, outcome.snippet, outcome.error) == (200, "seguro", ""), outcome.error
    lines = head_lines(receiver.requests[0])
    assert lines[0] == b"POST /h?x=1 HTTP/1.1"
    assert f"Host: localhost:{receiver.port}".encode() in lines
    assert receiver.requests[0].endswith(b'{"a":1}')


def test_https_refuses_an_untrusted_certificate(receivers, tmp_path):
    server_context, _cert_file = self_signed(tmp_path, names=("localhost",))
    receiver = receivers(tls=server_context, answer=answer(200, "OK", b"seguro"))
    outcome = transport.post(f"https://localhost:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code is None
    assert outcome.error.startswith("SSLCertVerificationError: ")
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert receiver.requests == []


def test_https_verifies_the_name_not_the_address(receivers, tmp_path, monkeypatch):
    # the certificate is trusted but names only "localhost": reached as 127.0.0.1 it must be refused
    server_context, cert_file = self_signed(tmp_path, names=("localhost",))
    receiver = receivers(tls=server_context, answer=answer(200, "OK", b"seguro"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    outcome = transport.post(f"https://127.0.0.1:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code is None
    assert outcome.error.startswith("SSLCertVerificationError: ") and "127.0.0.1" in outcome.error
    assert receiver.requests == []


def test_the_default_https_port_is_443(receivers, tmp_path, monkeypatch):
    address = loopback_address_with_free_port(443)
    server_context, cert_file = self_signed(tmp_path, names=(), addresses=(address,))
    receiver = receivers(host=address, port=443, tls=server_context, answer=answer(200, "OK", b"porta 443"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    outcome = transport.post(f"https://{address}/h", b"{}", {}, timeout=5, allow_private=True)
    assert (outcome.status_code, outcome.snippet) == (200, "porta 443"), outcome.error
    assert f"Host: {address}".encode() in head_lines(receiver.requests[0])


def test_an_https_receiver_that_never_handshakes_times_out(receivers):
    receiver = receivers(handshake=False)  # holds the TCP connection 5 s without a word
    outcome, elapsed = timed_post(f"https://localhost:{receiver.port}/h", timeout=1, allow_private=True)
    assert outcome.status_code is None
    assert outcome.error.startswith("TimeoutError: ")
    assert 900 <= outcome.duration_ms <= elapsed * 1000 and elapsed < 4


def test_a_process_wide_opt_out_of_verification_does_not_reach_webhooks(receivers, tmp_path, monkeypatch):
    # PEP 476's documented opt-out swaps http.client's default context for an unverified one; transport
    # builds its own verifying context, so an untrusted certificate is still refused
    monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    server_context, _cert_file = self_signed(tmp_path, names=("localhost",))
    receiver = receivers(tls=server_context, answer=answer(200, "OK", b"seguro"))
    outcome = transport.post(f"https://localhost:{receiver.port}/h", b"{}", {}, timeout=5, allow_private=True)
    assert outcome.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert receiver.requests == []
