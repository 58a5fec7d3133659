"""Test A1 certificates made with ``cryptography``: the e-CNPJ / e-CPF look-alikes of
:mod:`certificates.samples` (re-exported here), broken PFX files, and the names of the real-world
certificates of ../shared/fixtures (read through tests/shared_fixtures.py, skipped in a plain clone)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from certificates.samples import *  # noqa: F403 - the generators and constants the tests use as pfxgen.X
from certificates.samples import (
    COMPANY,
    KEY_CA,
    KEY_STRANGER,
    PASSWORD,
    VALID_CNPJ,
    ecnpj_other_names,
    issuing_ca,
    make_certificate,
    make_pfx,
    rsa_key,
)
from tests.shared_fixtures import SHARED_FIXTURES

#: The real certificates of ../shared/fixtures (see its README) and their passwords.
FIXTURE_CERTS = SHARED_FIXTURES / "certificates"
JAVA_NFE = "java-nfe__NAO_UTILIZE.pfx"
SPED_CNPJ = "sped-nfe__novo_cert_cnpj_06157250000116_senha_minhasenha.pfx"
SPED_CPF = "sped-nfe__cert_cpf_90483926086_minhasenha.pfx"
DUMMY = "erpbrasil-assinatura__dummy_cert.pfx"
SEFAZ_RS = "sped-common__certificado_teste.pfx"
PASSWORDS = {
    JAVA_NFE: "123456",
    SPED_CNPJ: "minhasenha",
    SPED_CPF: "minhasenha",
    DUMMY: "dummy_password",
    SEFAZ_RS: "associacao",
}


def mismatched_key_pfx() -> bytes:
    """A PFX whose private key is not the certificate's.

    ``cryptography`` refuses to pair them, so the certificate goes in as an extra certificate —
    which is also what OpenSSL reports for any PFX whose key and certificate disagree.
    """
    cert = make_certificate(f"{COMPANY}:{VALID_CNPJ}", other_names=ecnpj_other_names(VALID_CNPJ))
    return make_pfx(rsa_key(KEY_STRANGER), None, extra_certs=[cert, issuing_ca()])


def pfx_without_key() -> bytes:
    """Certificates only (what exporting "without the private key" produces)."""
    cert = make_certificate(f"{COMPANY}:{VALID_CNPJ}", other_names=ecnpj_other_names(VALID_CNPJ))
    return make_pfx(None, cert, extra_certs=[issuing_ca()])


def pfx_without_certificate(*, with_ca: bool = False) -> bytes:
    """A private key alone (optionally with the CA certificate, still not the holder's)."""
    return make_pfx(rsa_key(), None, extra_certs=[issuing_ca()] if with_ca else ())


# --- DER surgery, for files no exporter writes on purpose ------------------------------------


def der_tlv(tag: int, content: bytes) -> bytes:
    """DER-encode one element."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def der_children(der: bytes) -> list[tuple[int, bytes]]:
    """Split the content of the DER element ``der`` into (tag, content) children."""
    _, content = _der_split(der)
    children = []
    while content:
        tag, child, content = _der_next(content)
        children.append((tag, child))
    return children


def with_mac_iterations(pfx: bytes, iterations: int) -> bytes:
    """Rewrite the MacData iteration count (the MAC itself is left stale)."""
    version, auth_safe, mac_data = der_children(pfx)
    digest_info, salt, _ = der_children(der_tlv(*mac_data))
    count = iterations.to_bytes((iterations.bit_length() + 8) // 8, "big")
    new_mac = der_tlv(0x30, der_tlv(*digest_info) + der_tlv(*salt) + der_tlv(0x02, count))
    return der_tlv(0x30, der_tlv(*version) + der_tlv(*auth_safe) + new_mac)


def to_ber(pfx: bytes, chunk: int = 500) -> bytes:
    """Re-encode a PFX the way some older exporters do: indefinite lengths and the authSafe data
    split into a constructed OCTET STRING of ``chunk``-byte segments (same MAC, same content)."""
    version, auth_safe, mac_data = der_children(pfx)
    content_type, explicit = der_children(der_tlv(*auth_safe))
    ((_, data),) = der_children(der_tlv(*explicit))
    segments = b"".join(der_tlv(0x04, data[i : i + chunk]) for i in range(0, len(data), chunk))
    eoc = b"\x00\x00"
    octets = b"\x24\x80" + segments + eoc
    content_info = b"\x30\x80" + der_tlv(*content_type) + b"\xa0\x80" + octets + eoc + eoc
    return b"\x30\x80" + der_tlv(*version) + content_info + der_tlv(*mac_data) + eoc


def _der_split(der: bytes) -> tuple[int, bytes]:
    tag, content, _ = _der_next(der)
    return tag, content


def _der_next(data: bytes) -> tuple[int, bytes, bytes]:
    tag, first, position = data[0], data[1], 2
    length = first
    if first & 0x80:
        size = first & 0x7F
        length = int.from_bytes(data[2 : 2 + size], "big")
        position += size
    return tag, data[position : position + length], data[position + length :]


def unparseable_pfx(
    *, flawed: bool = True, password: str = PASSWORD, null_password_mac: bool = False, default_mac_iterations: bool = False,
) -> bytes:
    """A PFX with the right MAC whose certificate ``cryptography`` refuses to parse, as the SEFAZ-RS test
    certificate: an extension spells out ``critical FALSE``, a DEFAULT value DER forbids ("EncodedDefault").

    Built by hand (cryptography will not write such a certificate): the certificate and the key in plain
    bags, and a SHA-1 MAC over them. ``flawed=False`` gives the same file with the certificate as issued,
    which cryptography loads: the control that shows the flaw is the only problem. ``null_password_mac``
    computes the MAC with no password at all (empty bytes, as old exporters did for an empty password)
    instead of the BMPString password. ``default_mac_iterations`` leaves the MAC's iteration count out:
    its DEFAULT, 1."""
    cert = make_certificate(f"{COMPANY}:{VALID_CNPJ}", other_names=ecnpj_other_names(VALID_CNPJ))
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    if flawed:
        cert_der = _with_explicit_critical_false(cert_der)
    key_der = rsa_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    local_key_id = der_tlv(0x31, der_tlv(0x30, der_oid("1.2.840.113549.1.9.21") + der_tlv(0x31, der_tlv(0x04, b"\x01"))))
    cert_bag = der_tlv(0x30, der_oid("1.2.840.113549.1.12.10.1.3") + der_tlv(0xA0, der_tlv(0x30, (
        der_oid("1.2.840.113549.1.9.22.1") + der_tlv(0xA0, der_tlv(0x04, cert_der))))) + local_key_id)
    key_bag = der_tlv(0x30, der_oid("1.2.840.113549.1.12.10.1.1") + der_tlv(0xA0, key_der) + local_key_id)
    auth_safe = der_tlv(0x30, _data_content_info(der_tlv(0x30, cert_bag + key_bag)))
    salt, iterations = os.urandom(8), 1 if default_mac_iterations else 2048
    secret = b"" if null_password_mac else password.encode("utf-16-be") + b"\x00\x00"
    mac_key = _pkcs12_mac_key(secret, salt, iterations)
    digest = hmac.new(mac_key, auth_safe, hashlib.sha1).digest()
    sha1 = der_tlv(0x30, der_oid("1.3.14.3.2.26") + b"\x05\x00")
    mac_data = der_tlv(0x30, der_tlv(0x30, sha1 + der_tlv(0x04, digest)) + der_tlv(0x04, salt)
                       + (b"" if default_mac_iterations else der_tlv(0x02, iterations.to_bytes(2, "big"))))
    return der_tlv(0x30, der_tlv(0x02, b"\x03") + _data_content_info(auth_safe) + mac_data)


def der_oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray([first * 40 + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body.extend(reversed(chunk))
    return der_tlv(0x06, bytes(body))


def _data_content_info(content: bytes) -> bytes:
    return der_tlv(0x30, der_oid("1.2.840.113549.1.7.1") + der_tlv(0xA0, der_tlv(0x04, content)))


def _pkcs12_mac_key(password: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 B.2 with SHA-1, purpose 3 (MAC), written out here independently of certificates/pfx.py."""
    block = 64

    def fill(data: bytes) -> bytes:
        length = block * -(-len(data) // block)
        return (data * (length // len(data) + 1))[:length] if data else b""

    result = hashlib.sha1(bytes([3]) * block + fill(salt) + fill(password)).digest()
    for _ in range(iterations - 1):
        result = hashlib.sha1(result).digest()
    return result


def _with_explicit_critical_false(cert_der: bytes) -> bytes:
    """Re-encode the certificate with ``critical FALSE`` spelled out in its non-critical extensions
    (the signature goes stale; nothing checks it at this stage)."""
    tbs, algorithm, signature = der_children(cert_der)
    tbs_parts = der_children(der_tlv(*tbs))
    tag, explicit = tbs_parts[-1]
    assert tag == 0xA3, "extensions expected last"
    ((_, extensions),) = der_children(der_tlv(tag, explicit))
    rebuilt = b""
    for ext_tag, ext in der_children(der_tlv(0x30, extensions)):
        parts = der_children(der_tlv(ext_tag, ext))
        if len(parts) == 2:  # extnID, extnValue: critical left to its DEFAULT
            parts.insert(1, (0x01, b"\x00"))
        rebuilt += der_tlv(ext_tag, b"".join(der_tlv(*part) for part in parts))
    tbs_parts[-1] = (0xA3, der_tlv(0x30, rebuilt))
    new_tbs = der_tlv(0x30, b"".join(der_tlv(*part) for part in tbs_parts))
    return der_tlv(0x30, new_tbs + der_tlv(*algorithm) + der_tlv(*signature))


# --- certificates cryptography refuses but OpenSSL reads -----------------------------------------

_OIDS = {  # DER contents of the object identifiers the hand-made PFX needs
    "data": "2a864886f70d010701", "encryptedData": "2a864886f70d010706", "shroudedKeyBag": "2a864886f70d010c0a0102",
    "certBag": "2a864886f70d010c0a0103", "x509Certificate": "2a864886f70d01091601", "pbes2": "2a864886f70d01050d",
    "pbkdf2": "2a864886f70d01050c", "sha256": "608648016503040201", "keyBag": "2a864886f70d010c0a0101",
    "hmacWithSHA1": "2a864886f70d0207", "hmacWithSHA224": "2a864886f70d0208", "hmacWithSHA256": "2a864886f70d0209",
    "hmacWithSHA384": "2a864886f70d020a", "hmacWithSHA512": "2a864886f70d020b",
    "aes128cbc": "608648016503040102", "aes192cbc": "608648016503040116", "aes256cbc": "60864801650304012a",
    "desEde3cbc": "2a864886f70d0307",
}
_PRF_HASHES = {"hmacWithSHA1": hashes.SHA1, "hmacWithSHA224": hashes.SHA224, "hmacWithSHA256": hashes.SHA256,
               "hmacWithSHA384": hashes.SHA384, "hmacWithSHA512": hashes.SHA512}
_CIPHERS = {"aes128cbc": (16, AES), "aes192cbc": (24, AES), "aes256cbc": (32, AES), "desEde3cbc": (24, TripleDES)}


def _oid(name: str) -> bytes:
    return der_tlv(0x06, bytes.fromhex(_OIDS[name]))


def with_explicit_false(cert: x509.Certificate) -> bytes:
    """``cert`` re-encoded the way older CA software wrote certificates: ``critical FALSE`` spelled out
    in every non-critical extension (DER says a DEFAULT value must be left out) and re-signed by the
    test CA. OpenSSL reads the result; ``cryptography`` refuses it."""

    def spell_out_false(extension: bytes) -> bytes:
        parts = der_children(extension)
        if len(parts) == 2:  # no critical flag: FALSE by default, now written out
            parts = [parts[0], (0x01, b"\x00"), parts[1]]
        return der_tlv(0x30, b"".join(der_tlv(*part) for part in parts))

    return with_extensions(cert, lambda extensions: [spell_out_false(extension) for extension in extensions])


def with_extensions(cert: x509.Certificate, rewrite: Callable[[list[bytes]], list[bytes]]) -> bytes:
    """``cert`` with its extensions (the DER of each) passed through ``rewrite``, re-signed by the test CA:
    certificates no builder writes (an extension twice, a garbled extension value)."""
    fields = b""
    for tag, content in der_children(cert.tbs_certificate_bytes):
        if tag == 0xA3:
            (_, extensions), = der_children(der_tlv(tag, content))
            content = der_tlv(0x30, b"".join(rewrite([der_tlv(*ext) for ext in der_children(der_tlv(0x30, extensions))])))
        fields += der_tlv(tag, content)
    tbs = der_tlv(0x30, fields)
    signature = rsa_key(KEY_CA).sign(tbs, asym_padding.PKCS1v15(), hashes.SHA256())
    algorithm = der_tlv(*der_children(cert.public_bytes(serialization.Encoding.DER))[1])
    return der_tlv(0x30, tbs + algorithm + der_tlv(0x03, b"\x00" + signature))


def _kdf_mac_key(password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 B.2, purpose 3 (MAC key), SHA-256, one digest of output."""
    block = 64

    def fill(data: bytes) -> bytes:  # repeat up to the next multiple of the block size
        length = block * -(-len(data) // block)
        return (data * (length // len(data) + 1))[:length] if data else b""

    secret = password.encode("utf-16-be") + b"\x00\x00"
    result = hashlib.sha256(bytes([3]) * block + fill(salt) + fill(secret)).digest()
    for _ in range(iterations - 1):
        result = hashlib.sha256(result).digest()
    return result


def pfx_from_der(
    key: rsa.RSAPrivateKey | None, cert_ders: Iterable[bytes], *, password: str = PASSWORD, iterations: int = 2048,
    prf: str = "hmacWithSHA256", cipher: str = "aes256cbc", shroud_key: bool = True, unprotected_attrs: bool = False,
) -> bytes:
    """A PFX laid out as OpenSSL 3 writes it, around certificates given as DER (even ones cryptography
    cannot load): the certificates in an EncryptedData (PBES2: PBKDF2 with ``prf``, then ``cipher``;
    an HMAC-SHA1 PRF is left out, as its DEFAULT), the key (if any) in a shrouded key bag (PBES2) or,
    with ``shroud_key=False``, a plain key bag; a SHA-256 MAC. ``unprotected_attrs`` adds the optional
    (CMS) unprotected attributes after the EncryptedData's content."""
    bags = b"".join(
        der_tlv(0x30, _oid("certBag") + der_tlv(0xA0, der_tlv(0x30, _oid("x509Certificate")
                                                              + der_tlv(0xA0, der_tlv(0x04, der)))))
        for der in cert_ders
    )
    size, algorithm = _CIPHERS[cipher]
    salt, iv = os.urandom(8), os.urandom(algorithm.block_size // 8)
    secret = PBKDF2HMAC(_PRF_HASHES[prf](), size, salt, iterations).derive(password.encode("utf-8"))
    padder = sym_padding.PKCS7(algorithm.block_size).padder()
    encryptor = Cipher(algorithm(secret), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(der_tlv(0x30, bags)) + padder.finalize()) + encryptor.finalize()
    count = der_tlv(0x02, iterations.to_bytes((iterations.bit_length() + 8) // 8, "big"))
    prf_id = b"" if prf == "hmacWithSHA1" else der_tlv(0x30, _oid(prf) + b"\x05\x00")
    pbes2 = der_tlv(0x30, _oid("pbes2") + der_tlv(0x30, der_tlv(
        0x30, _oid("pbkdf2") + der_tlv(0x30, der_tlv(0x04, salt) + count + der_tlv(0x02, bytes([size])) + prf_id))
        + der_tlv(0x30, _oid(cipher) + der_tlv(0x04, iv))))
    attrs = der_tlv(0xA1, der_tlv(0x30, der_oid("1.2.840.113549.1.9.20") + der_tlv(0x31, der_tlv(0x1E, b"\x00A"))))
    encrypted_data = der_tlv(0x30, _oid("encryptedData") + der_tlv(0xA0, der_tlv(0x30, der_tlv(
        0x02, b"\x02" if unprotected_attrs else b"\x00") + der_tlv(0x30, _oid("data") + pbes2 + der_tlv(0x80, ciphertext))
        + (attrs if unprotected_attrs else b""))))
    key_data = b""
    if key is not None:
        encryption = (serialization.BestAvailableEncryption(password.encode("utf-8")) if shroud_key
                      else serialization.NoEncryption())
        key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, encryption)
        bag_type = _oid("shroudedKeyBag" if shroud_key else "keyBag")
        key_bags = der_tlv(0x30, der_tlv(0x30, bag_type + der_tlv(0xA0, key_der)))
        key_data = der_tlv(0x30, _oid("data") + der_tlv(0xA0, der_tlv(0x04, key_bags)))
    auth_safe = der_tlv(0x30, encrypted_data + key_data)
    mac_salt = os.urandom(8)
    digest = hmac.new(_kdf_mac_key(password, mac_salt, iterations), auth_safe, "sha256").digest()
    mac_data = der_tlv(0x30, der_tlv(0x30, der_tlv(0x30, _oid("sha256") + b"\x05\x00") + der_tlv(0x04, digest))
                       + der_tlv(0x04, mac_salt) + count)
    content_info = der_tlv(0x30, _oid("data") + der_tlv(0xA0, der_tlv(0x04, auth_safe)))
    return der_tlv(0x30, der_tlv(0x02, b"\x03") + content_info + mac_data)


def explicit_false_pfx(
    cnpj: str = VALID_CNPJ, *, not_before: datetime | None = None, not_after: datetime | None = None,
    password: str = PASSWORD,
) -> tuple[bytes, bytes]:
    """An e-CNPJ PFX whose certificate writes ``critical FALSE`` explicitly; returns (pfx, certificate DER)."""
    cert = make_certificate(f"{COMPANY}:{cnpj}", other_names=ecnpj_other_names(cnpj), not_before=not_before,
                            not_after=not_after)
    der = with_explicit_false(cert)
    return pfx_from_der(rsa_key(), [der, issuing_ca().public_bytes(serialization.Encoding.DER)],
                        password=password), der
