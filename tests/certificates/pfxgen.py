"""Test A1 certificates made with ``cryptography``: e-CNPJ / e-CPF look-alikes and broken PFX files.

Certificates are issued by a throwaway test CA, with the ICP-Brasil subjectAltName otherNames real
e-CNPJ certificates carry. RSA keys are generated once per process (see :func:`rsa_key`) because
key generation dominates the cost of these helpers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

#: The real certificates of ../shared/fixtures (see its README) and their passwords. REVENDA_SHARED
#: names that folder when the tests run from elsewhere (mutation testing runs them from mutants/).
FIXTURE_CERTS = (Path(os.environ.get("REVENDA_SHARED") or Path(__file__).resolve().parents[3] / "shared")
                 / "fixtures" / "certificates")
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

PASSWORD = "senha-do-teste"
VALID_CNPJ = "11222333000181"
OTHER_VALID_CNPJ = "06157250000116"
ALPHANUMERIC_CNPJ = "12ABC34501DE35"
VALID_CPF = "52998224725"
COMPANY = "EMPRESA X LTDA"

# DER tags for the otherName value: DOC-ICP-04 says OCTET STRING, CAs also use the others.
OCTET_STRING, UTF8_STRING, PRINTABLE_STRING, IA5_STRING = 0x04, 0x0C, 0x13, 0x16

# ICP-Brasil otherName OIDs (DOC-ICP-04).
OID_HOLDER_DATA = "2.16.76.1.3.1"  # e-CPF: birth date, CPF, NIS, RG, issuer
OID_RESPONSIBLE_NAME = "2.16.76.1.3.2"
OID_CNPJ = "2.16.76.1.3.3"
OID_RESPONSIBLE_DATA = "2.16.76.1.3.4"
OID_CEI = "2.16.76.1.3.7"

KEY_HOLDER, KEY_CA, KEY_STRANGER = 0, 1, 2


def rsa_key(slot: int = KEY_HOLDER) -> rsa.RSAPrivateKey:
    """An RSA 2048 key, generated once per process per slot."""
    return _cached_rsa_key(slot)  # one cache key per slot, however the slot is passed


@functools.cache
def _cached_rsa_key(slot: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@functools.cache
def issuing_ca() -> x509.Certificate:
    """A self-signed CA standing in for an ICP-Brasil AC."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Brasil"),
            x509.NameAttribute(NameOID.COMMON_NAME, "AC TESTE REVENDA"),
        ]
    )
    key = rsa_key(KEY_CA)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2099, 12, 31, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )


def der_string(text: str | bytes, tag: int = OCTET_STRING) -> bytes:
    """DER-encode a short string (< 128 bytes) with ``tag``."""
    content = text.encode("utf-8") if isinstance(text, str) else text
    return bytes([tag, len(content)]) + content


def other_name(oid: str, value: str, tag: int = OCTET_STRING) -> x509.OtherName:
    return x509.OtherName(x509.ObjectIdentifier(oid), der_string(value, tag))


def ecnpj_other_names(cnpj: str, tag: int = OCTET_STRING) -> list[x509.OtherName]:
    """The otherNames of an ICP-Brasil e-CNPJ; 3.4 holds the responsible person's CPF."""
    responsible = "01011970" + VALID_CPF + "0" * 11 + "123456789012345" + "SSPSP "
    return [
        other_name(OID_RESPONSIBLE_DATA, responsible),
        other_name(OID_RESPONSIBLE_NAME, "FULANO DE TAL"),
        other_name(OID_CNPJ, cnpj, tag),
        other_name(OID_CEI, "0" * 12),
    ]


def ecpf_other_names(cpf: str = VALID_CPF) -> list[x509.OtherName]:
    """The otherNames of an ICP-Brasil e-CPF (no CNPJ)."""
    return [other_name(OID_HOLDER_DATA, "01011970" + cpf + "0" * 11 + "123456789012345" + "SSPSP ")]


def make_certificate(
    common_name: str,
    *,
    other_names: Iterable[x509.GeneralName] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> x509.Certificate:
    """An end-entity certificate for ``key`` (the holder key by default) issued by the test CA."""
    key = key or rsa_key(KEY_HOLDER)
    not_before = not_before or utcnow() - timedelta(days=30)
    not_after = not_after or not_before + timedelta(days=365)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Brasil"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certificado PJ A1"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuing_ca().subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    names = list(other_names)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(rsa_key(KEY_CA), hashes.SHA256())


def make_pfx(
    key: rsa.RSAPrivateKey | None,
    cert: x509.Certificate | None,
    *,
    extra_certs: Iterable[x509.Certificate] = (),
    password: str = PASSWORD,
    mac_hash: hashes.HashAlgorithm | None = None,
) -> bytes:
    """Serialize a PFX; ``mac_hash`` picks the MAC digest (and the legacy 3DES cipher with it)."""
    if mac_hash is None:
        encryption = serialization.BestAvailableEncryption(password.encode("utf-8"))
    else:
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(mac_hash)
            .build(password.encode("utf-8"))
        )
    return pkcs12.serialize_key_and_certificates(b"certificado a1", key, cert, list(extra_certs) or None, encryption)


# --- ready-made files -------------------------------------------------------------------------


def ecnpj_pfx(
    cnpj: str = VALID_CNPJ,
    *,
    in_oid: bool = True,
    in_cn: bool = True,
    tag: int = OCTET_STRING,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    password: str = PASSWORD,
) -> bytes:
    """An e-CNPJ-like PFX: CNPJ in the otherName 2.16.76.1.3.3 and/or the CN ``COMPANY:CNPJ``."""
    common_name = f"{COMPANY}:{cnpj}" if in_cn else COMPANY
    cert = make_certificate(
        common_name,
        other_names=ecnpj_other_names(cnpj, tag) if in_oid else (),
        not_before=not_before,
        not_after=not_after,
    )
    return make_pfx(rsa_key(), cert, extra_certs=[issuing_ca()], password=password)


def ecpf_pfx(cpf: str = VALID_CPF, *, password: str = PASSWORD) -> bytes:
    """An e-CPF-like PFX: CN ``NAME:CPF`` and the otherName 2.16.76.1.3.1."""
    cert = make_certificate(f"FULANO DE TAL:{cpf}", other_names=ecpf_other_names(cpf))
    return make_pfx(rsa_key(), cert, extra_certs=[issuing_ca()], password=password)


def pfx_for(cert: x509.Certificate, *, password: str = PASSWORD) -> bytes:
    """A PFX holding ``cert`` with the holder key and the CA."""
    return make_pfx(rsa_key(), cert, extra_certs=[issuing_ca()], password=password)


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
    tbs_fields = der_children(cert.tbs_certificate_bytes)
    fields = b""
    for tag, content in tbs_fields:
        if tag == 0xA3:
            (_, extensions), = der_children(der_tlv(tag, content))
            rewritten = b""
            for _, extension in der_children(der_tlv(0x30, extensions)):
                parts = der_children(der_tlv(0x30, extension))
                if len(parts) == 2:  # no critical flag: FALSE by default, now written out
                    parts = [parts[0], (0x01, b"\x00"), parts[1]]
                rewritten += der_tlv(0x30, b"".join(der_tlv(*part) for part in parts))
            content = der_tlv(0x30, rewritten)
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
    prf: str = "hmacWithSHA256", cipher: str = "aes256cbc", shroud_key: bool = True,
) -> bytes:
    """A PFX laid out as OpenSSL 3 writes it, around certificates given as DER (even ones cryptography
    cannot load): the certificates in an EncryptedData (PBES2: PBKDF2 with ``prf``, then ``cipher``;
    an HMAC-SHA1 PRF is left out, as its DEFAULT), the key (if any) in a shrouded key bag (PBES2) or,
    with ``shroud_key=False``, a plain key bag; a SHA-256 MAC."""
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
    encrypted_data = der_tlv(0x30, _oid("encryptedData") + der_tlv(0xA0, der_tlv(0x30, der_tlv(0x02, b"\x00") + der_tlv(
        0x30, _oid("data") + pbes2 + der_tlv(0x80, ciphertext)))))
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
