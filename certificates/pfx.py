"""Validation of Brazilian A1 certificates (PKCS#12 / .pfx files).

:func:`inspect_pfx` opens an uploaded PFX with its password and either returns a
:class:`CertificateInfo` or raises :class:`CertificateError` whose ``code`` says what is wrong and
whose ``message`` is a Portuguese sentence the UI can show as is. Checks run in a fixed order, so a
file has exactly one verdict: size, PKCS#12 structure, password, encoding, key and certificate,
validity dates, company CNPJ, expected CNPJ.

Two things go beyond what ``cryptography`` offers:

* ``cryptography`` reports "Invalid password or PKCS12 data" (or a parse error) both for a wrong
  password and for a file whose certificate it refuses to parse (e.g. the classic SEFAZ-RS test
  certificate, with a DER flaw OpenSSL tolerates). To tell them apart we verify the PKCS#12 MAC
  ourselves (RFC 7292, appendix B): a MAC that verifies proves the password right.
* Certificates written by older CA software encode a DEFAULT value explicitly (``critical FALSE``
  in an extension, ``cA FALSE`` in basicConstraints): OpenSSL reads them, ``cryptography`` refuses
  them. When the password is right, we then open the PFX ourselves (PBES2 or PKCS#12 3DES bags),
  drop those redundant FALSE values and let ``cryptography`` read the certificate; the fingerprint
  is still the one of the certificate as issued.
* The CNPJ comes from the ICP-Brasil subjectAltName otherName 2.16.76.1.3.3, else from the CN.

This module checks the certificate itself, not its chain: it does not prove an ICP-Brasil CA issued
it. Nothing here logs or stores the password.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.hazmat.primitives.serialization.pkcs12 import PKCS12PrivateKeyTypes
from cryptography.x509.oid import NameOID
from stdnum.br import cnpj as stdnum_cnpj

__all__ = [
    "CertificateError",
    "CertificateInfo",
    "ErrorCode",
    "extract_cnpj",
    "format_cnpj",
    "inspect_pfx",
]

DEFAULT_MAX_BYTES = 64 * 1024

# ICP-Brasil (DOC-ICP-04) otherName OIDs in the subjectAltName: an e-CPF holder's data (birth
# date, CPF, ...) and an e-CNPJ's company CNPJ.
OID_ECPF_HOLDER = x509.ObjectIdentifier("2.16.76.1.3.1")
OID_ECNPJ_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")

# 12 letters/digits then 2 check digits (the alphanumeric CNPJ from 2026 keeps numeric check
# digits), optionally punctuated as 12.ABC.345/01DE-35.
_CNPJ_RE = re.compile(r"([0-9A-Z]{2})\.?([0-9A-Z]{3})\.?([0-9A-Z]{3})/?([0-9A-Z]{4})-?([0-9]{2})")

# A MAC iteration count far above what any exporter uses (Windows 2000, OpenSSL 2048, Java 10000+)
# is a denial-of-service attempt, not a certificate: refuse it before spending CPU on it.
_MAX_MAC_ITERATIONS = 1_000_000


class ErrorCode(StrEnum):
    """Why a PFX was refused, in the order the checks run."""

    TOO_LARGE = "too_large"
    EMPTY = "empty"
    NOT_PKCS12 = "not_pkcs12"
    WRONG_PASSWORD = "wrong_password"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    NO_KEY = "no_key"
    NO_CERTIFICATE = "no_certificate"
    KEY_MISMATCH = "key_mismatch"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    NO_CNPJ = "no_cnpj"
    CNPJ_MISMATCH = "cnpj_mismatch"


# Checks that know more (dates, sizes, CNPJs) pass their own message; these are the defaults.
_MESSAGES = {
    ErrorCode.TOO_LARGE: "O arquivo excede o tamanho máximo permitido.",
    ErrorCode.EMPTY: "O arquivo está vazio.",
    ErrorCode.NOT_PKCS12: (
        "O arquivo não é um certificado A1 no formato PFX (.pfx ou .p12). Envie o arquivo exportado "
        "com a chave privada, não apenas o certificado (.cer/.crt/.pem)."
    ),
    ErrorCode.WRONG_PASSWORD: "Senha do certificado incorreta.",
    ErrorCode.UNSUPPORTED_ENCODING: (
        "O certificado foi lido, mas contém uma codificação inválida que não podemos processar com "
        "segurança. Exporte o PFX novamente (por exemplo, pelo gerenciador de certificados) e tente "
        "outra vez."
    ),
    ErrorCode.NO_KEY: (
        "O arquivo não contém a chave privada do certificado. Exporte o certificado A1 novamente, "
        "incluindo a chave privada."
    ),
    ErrorCode.NO_CERTIFICATE: "O arquivo contém uma chave privada, mas nenhum certificado.",
    ErrorCode.KEY_MISMATCH: "A chave privada do arquivo não corresponde ao certificado.",
    ErrorCode.NOT_YET_VALID: "O certificado ainda não é válido.",
    ErrorCode.EXPIRED: "O certificado expirou.",
    ErrorCode.NO_CNPJ: "Este certificado não contém um CNPJ de empresa (um e-CPF não é aceito).",
    ErrorCode.CNPJ_MISMATCH: "O CNPJ do certificado não corresponde ao CNPJ do cliente.",
}


class CertificateError(Exception):
    """A PFX was refused; ``message`` is Portuguese text meant for the person who uploaded it."""

    def __init__(self, code: ErrorCode | str, message: str | None = None) -> None:
        self.code = ErrorCode(code)
        self.message = message if message is not None else _MESSAGES[self.code]
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"CertificateError({self.code.value!r}, {self.message!r})"


@dataclass(frozen=True)
class CertificateInfo:
    """What the back office keeps about an accepted A1 certificate."""

    subject: str  # RFC 4514
    common_name: str
    cnpj: str  # 14 characters, uppercase, no punctuation
    serial: str  # lowercase hex, no leading zeros
    issuer: str  # RFC 4514
    fingerprint_sha256: str  # lowercase hex, no colons
    not_before: datetime  # aware, UTC
    not_after: datetime  # aware, UTC


def inspect_pfx(
    data: bytes,
    password: str,
    *,
    expected_cnpj: str | None,
    now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> CertificateInfo:
    """Open and validate an A1 certificate; raise :class:`CertificateError` if it is unusable.

    ``expected_cnpj`` is the client's CNPJ (any punctuation), or None to accept any company.
    ``now`` must be timezone-aware; it defaults to the current time.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    expected = _expected_cnpj(expected_cnpj)
    data = bytes(data)
    _check_size(data, max_bytes)
    mac = _read_pfx_outer(data)
    key, cert, extra_certs, as_issued = _load(data, password, mac)
    cert = _select_certificate(key, cert, extra_certs)
    info = _describe(cert, as_issued.get(cert.fingerprint(hashes.SHA256())))
    _check_validity(info, now or datetime.now(UTC))
    _check_company(info.cnpj, expected)
    return info


def format_cnpj(cnpj: str) -> str:
    """Format a CNPJ (numeric or alphanumeric, punctuated or not) as ``12.345.678/0001-95``."""
    match = _CNPJ_RE.fullmatch(cnpj.strip().upper())
    if match is None:
        raise ValueError(f"not a CNPJ: {cnpj!r}")
    return "{}.{}.{}/{}-{}".format(*match.groups())


def extract_cnpj(cert: x509.Certificate) -> str | None:
    """Return the company CNPJ a certificate was issued to, or None (e-CPF, no CNPJ at all).

    The ICP-Brasil otherName 2.16.76.1.3.3 is authoritative: the issuing CA filled it in a
    structured field, so it is accepted even when its check digits fail (homologation certificates
    such as ``99999999999999`` do that), as long as it has the CNPJ shape and is not the all-zero
    "not available" filler. A CNPJ read from the free-text CN must also pass its check digits, so a
    name that merely looks like one is not taken for a CNPJ. An ICP-Brasil e-CPF (otherName
    2.16.76.1.3.1 and no 2.16.76.1.3.3) never yields a CNPJ.
    """
    other_names = _icp_other_names(cert)
    from_oid = _normalize_cnpj(_decode_der_string(other_names.get(OID_ECNPJ_CNPJ)))
    if from_oid and from_oid != "0" * 14:
        return from_oid
    if OID_ECPF_HOLDER in other_names and OID_ECNPJ_CNPJ not in other_names:
        return None
    return _cnpj_from_common_name(cert)


# --- checks, in order -----------------------------------------------------------------------


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        limit = f"{max_bytes // 1024} KB" if max_bytes >= 1024 else f"{max_bytes} bytes"
        message = f"O arquivo excede o tamanho máximo de {limit}."
        raise CertificateError(ErrorCode.TOO_LARGE, message)
    if not data:
        raise CertificateError(ErrorCode.EMPTY)


def _read_pfx_outer(data: bytes) -> _MacData | None:
    """Check the PFX outer structure and return its MacData (None when absent or unreadable)."""
    try:
        mac = _parse_pfx(data)
    except (ValueError, RecursionError):  # deep nesting is refused, whatever the stack left to us
        raise CertificateError(ErrorCode.NOT_PKCS12) from None
    if mac is not None and mac.iterations > _MAX_MAC_ITERATIONS:
        raise CertificateError(ErrorCode.UNSUPPORTED_ENCODING)
    return mac


_Loaded = tuple[PKCS12PrivateKeyTypes | None, x509.Certificate | None, list[x509.Certificate], dict[bytes, bytes]]


def _load(data: bytes, password: str, mac: _MacData | None) -> _Loaded:
    """Decrypt the PFX; a failure is a wrong password unless the MAC proves the password right.

    Returns the key, the certificate paired with it, the other certificates, and the DER as issued
    of any certificate that had to be re-encoded (by its SHA-256 fingerprint once re-encoded).
    """
    try:
        loaded = _load_pkcs12_quietly(data, password.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        code = _classify_load_failure(password, mac, exc)
        lenient = _load_leniently(data, password) if code == ErrorCode.UNSUPPORTED_ENCODING else None
        if lenient is None:
            raise CertificateError(code) from exc
        return lenient
    cert = loaded.cert.certificate if loaded.cert is not None else None
    return loaded.key, cert, [extra.certificate for extra in loaded.additional_certs], {}


def _load_pkcs12_quietly(data: bytes, password: bytes) -> pkcs12.PKCS12KeyAndCertificates:
    # cryptography (>= 50) warns when it falls back to BER, which older exporters write; the file
    # is read correctly, so for us the warning is noise (and an error where warnings are errors).
    # catch_warnings is not thread-safe before Python 3.14: at worst a concurrent call leaves
    # this one warning ignored process-wide, which is harmless.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PKCS#12 bundle could not be parsed as DER", UserWarning)
        return pkcs12.load_pkcs12(data, password)


def _classify_load_failure(password: str, mac: _MacData | None, exc: Exception) -> ErrorCode:
    verified = _verify_mac(mac, password) if mac is not None else None
    if verified is None:
        # No MAC we can check (absent, PBMAC1, unknown digest): fall back on cryptography's words.
        wrong = "password" in str(exc).lower()
        return ErrorCode.WRONG_PASSWORD if wrong else ErrorCode.UNSUPPORTED_ENCODING
    return ErrorCode.UNSUPPORTED_ENCODING if verified else ErrorCode.WRONG_PASSWORD


def _select_certificate(
    key: PKCS12PrivateKeyTypes | None,
    cert: x509.Certificate | None,
    extra_certs: list[x509.Certificate],
) -> x509.Certificate:
    """Return the holder's certificate, checking it is there and matches the private key."""
    if key is None:
        raise CertificateError(ErrorCode.NO_KEY)
    if cert is None:
        # OpenSSL pairs the key with the certificate holding its public key; when none does, the
        # end-entity certificates left among the "CA" certificates belong to another key.
        end_entity = [extra for extra in extra_certs if not _is_ca(extra)]
        if not end_entity:
            raise CertificateError(ErrorCode.NO_CERTIFICATE)
        cert = end_entity[0]
    if not _same_public_key(key, cert):
        raise CertificateError(ErrorCode.KEY_MISMATCH)
    return cert


def _describe(cert: x509.Certificate, as_issued: bytes | None = None) -> CertificateInfo:
    """Read everything we keep; cryptography parses names and extensions lazily, so do it now.

    ``as_issued`` is the certificate's DER before we re-encoded it, for the fingerprint. Without a
    company CNPJ, ``cnpj`` is empty (and :func:`_check_company` refuses the certificate).
    """
    try:
        return CertificateInfo(
            subject=cert.subject.rfc4514_string(),
            common_name=_common_name(cert),
            cnpj=extract_cnpj(cert) or "",
            serial=format(cert.serial_number, "x"),
            issuer=cert.issuer.rfc4514_string(),
            fingerprint_sha256=hashlib.sha256(as_issued).hexdigest() if as_issued else cert.fingerprint(
                hashes.SHA256()).hex(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
        )
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension) as exc:
        # DuplicateExtension is no ValueError: an extension written twice would otherwise be a crash
        raise CertificateError(ErrorCode.UNSUPPORTED_ENCODING) from exc


def _check_validity(info: CertificateInfo, now: datetime) -> None:
    if now < info.not_before:
        message = f"O certificado ainda não é válido (válido a partir de {_br_date(info.not_before)})."
        raise CertificateError(ErrorCode.NOT_YET_VALID, message)
    if now > info.not_after:
        message = f"O certificado expirou em {_br_date(info.not_after)}."
        raise CertificateError(ErrorCode.EXPIRED, message)


def _check_company(cnpj: str, expected: str | None) -> None:
    if not cnpj:
        raise CertificateError(ErrorCode.NO_CNPJ)
    if expected is not None and cnpj != expected:
        message = (
            f"O CNPJ do certificado ({format_cnpj(cnpj)}) não corresponde ao CNPJ do cliente ({format_cnpj(expected)})."
        )
        raise CertificateError(ErrorCode.CNPJ_MISMATCH, message)


def _expected_cnpj(expected_cnpj: str | None) -> str | None:
    # A malformed client CNPJ is our bug, not the uploader's: fail loudly before reading the file.
    if expected_cnpj is None:
        return None
    expected = _normalize_cnpj(expected_cnpj)
    if expected is None:
        raise ValueError(f"expected_cnpj is not a CNPJ: {expected_cnpj!r}")
    return expected


# --- certificate details --------------------------------------------------------------------


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
    except (ValueError, x509.DuplicateExtension):
        return False  # unreadable extensions: not recognisably a CA; later checks will say more


def _same_public_key(key: PKCS12PrivateKeyTypes, cert: x509.Certificate) -> bool:
    try:
        return _spki(key.public_key()) == _spki(cert.public_key())
    except (ValueError, UnsupportedAlgorithm):
        return False


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _icp_other_names(cert: x509.Certificate) -> dict[x509.ObjectIdentifier, bytes]:
    """Return the subjectAltName otherName values by OID (first one wins)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {}
    values: dict[x509.ObjectIdentifier, bytes] = {}
    for other in san.get_values_for_type(x509.OtherName):
        values.setdefault(other.type_id, other.value)
    return values


def _cnpj_from_common_name(cert: x509.Certificate) -> str | None:
    # ICP-Brasil e-CNPJ CNs read "COMPANY NAME:CNPJ"; self-made certificates often hold just the
    # CNPJ, punctuated or not. A CPF (11 digits) never has the CNPJ shape.
    for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        candidate = _normalize_cnpj(str(attribute.value).rsplit(":", 1)[-1])
        if candidate and stdnum_cnpj.is_valid(candidate):
            return candidate
    return None


def _normalize_cnpj(value: str | None) -> str | None:
    """Return the 14 characters of a CNPJ-shaped value, or None."""
    if not value:
        return None
    match = _CNPJ_RE.fullmatch(value.strip().upper())
    return "".join(match.groups()) if match else None


def _decode_der_string(value: bytes | None) -> str | None:
    """Decode an otherName value: one DER string element (OCTET/Printable/UTF8/IA5/...); None if absent.

    DOC-ICP-04 asks for an OCTET STRING, but CAs also use PrintableString or UTF8String.
    """
    if value is None:
        return None
    try:
        tlv, end = _read_tlv(value, 0)
        if end != len(value) or tlv.tag not in _STRING_CODECS:
            return None
        return _octets(tlv).decode(_STRING_CODECS[tlv.tag])
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        return None


def _br_date(moment: datetime) -> str:
    """DD/MM/AAAA as a person in Brasília reads it."""
    return moment.astimezone(_BRAZIL).strftime("%d/%m/%Y")


def _brazil_zone() -> timezone | ZoneInfo:
    try:
        return ZoneInfo("America/Sao_Paulo")
    except ZoneInfoNotFoundError:
        # Without tzdata: Brazil has kept UTC-3 all year since 2019.
        return timezone(timedelta(hours=-3), "BRT")


_BRAZIL = _brazil_zone()


# --- a minimal BER/DER reader, enough for the PFX outer structure and otherName strings -------

_INTEGER, _OID, _SEQUENCE, _CONTEXT_0 = 0x02, 0x06, 0x30, 0xA0
_CONSTRUCTED = 0x20
_MAX_DEPTH = 16
_STRING_CODECS = {
    0x04: "ascii",  # OCTET STRING
    0x24: "ascii",  # OCTET STRING, constructed (BER)
    0x0C: "utf-8",  # UTF8String
    0x13: "ascii",  # PrintableString
    0x14: "latin-1",  # TeletexString
    0x16: "ascii",  # IA5String
    0x1E: "utf-16-be",  # BMPString
}


@dataclass(frozen=True)
class _Tlv:
    tag: int
    buffer: bytes
    start: int  # first content byte
    end: int  # one past the last content byte

    @property
    def content(self) -> bytes:
        return self.buffer[self.start : self.end]

    def children(self, depth: int = 0) -> list[_Tlv]:
        items, position = [], self.start
        while position < self.end:
            item, position = _read_tlv(self.buffer, position, depth + 1)
            items.append(item)
        if position != self.end:
            raise ValueError("child overruns its parent")
        return items


def _read_tlv(buffer: bytes, position: int, depth: int = 0) -> tuple[_Tlv, int]:
    """Read one element at ``position``; return it and the position after it."""
    if depth > _MAX_DEPTH:
        raise ValueError("nested too deep")
    if position + 2 > len(buffer):
        raise ValueError("truncated")
    tag, first = buffer[position], buffer[position + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag numbers do not occur here")
    position += 2
    if first == 0x80:
        return _read_indefinite(buffer, tag, position, depth)
    length = first
    if first & 0x80:  # long form (0x80 itself, indefinite, was handled above)
        count = first & 0x7F
        if count > 4 or position + count > len(buffer):
            raise ValueError("bad length")
        length = int.from_bytes(buffer[position : position + count])
        position += count
    end = position + length
    if end > len(buffer):
        raise ValueError("truncated")
    return _Tlv(tag, buffer, position, end), end


def _read_indefinite(buffer: bytes, tag: int, start: int, depth: int) -> tuple[_Tlv, int]:
    # BER indefinite length (some older exporters): children until an end-of-contents marker.
    if not tag & _CONSTRUCTED:
        raise ValueError("indefinite length on a primitive element")
    position = start
    while buffer[position : position + 2] != b"\x00\x00":
        _, position = _read_tlv(buffer, position, depth + 1)
    return _Tlv(tag, buffer, start, position), position + 2


def _octets(tlv: _Tlv, depth: int = 0) -> bytes:
    """Content of a string element; BER allows splitting it into constructed segments."""
    if not tlv.tag & _CONSTRUCTED:
        return tlv.content
    return b"".join(_octets(part, depth + 1) for part in tlv.children(depth))


def _decode_oid(raw: bytes) -> str:
    if not raw or raw[-1] & 0x80:
        raise ValueError("bad OID")
    arcs, value = [], 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    top = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (top, arcs[0] - 40 * top, *arcs[1:]))


def _integer(tlv: _Tlv) -> int:
    if tlv.tag != _INTEGER or not tlv.content:
        raise ValueError("not an INTEGER")
    return int.from_bytes(tlv.content, signed=True)


# --- the PKCS#12 outer structure and its MAC (RFC 7292) ---------------------------------------

_ID_DATA = "1.2.840.113549.1.7.1"
_MAC_DIGESTS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


@dataclass(frozen=True)
class _MacData:
    digest_oid: str
    digest: bytes
    salt: bytes
    iterations: int
    auth_safe: bytes  # the bytes the MAC covers: the authSafe data content octets


def _parse_pfx(data: bytes) -> _MacData | None:
    """Check ``PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL }``.

    Return the MacData we can verify, if any; raise ValueError when ``data`` is not a PKCS#12 file.
    """
    pfx, _ = _read_tlv(data, 0)
    if pfx.tag != _SEQUENCE:
        raise ValueError("not a SEQUENCE")
    version, auth_safe, *rest = pfx.children()
    if _integer(version) != 3 or auth_safe.tag != _SEQUENCE:
        raise ValueError("not a PFX v3")
    content_type, *content = auth_safe.children()
    if content_type.tag != _OID:
        raise ValueError("ContentInfo without a content type")
    try:
        return _parse_mac(_decode_oid(content_type.content), content, rest)
    except ValueError:
        return None  # still a PFX; cryptography will judge the rest


def _parse_mac(content_type: str, content: list[_Tlv], rest: list[_Tlv]) -> _MacData | None:
    """``MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }``."""
    if content_type != _ID_DATA or not content or not rest or content[0].tag != _CONTEXT_0:
        return None  # public-key integrity mode or no MAC: nothing we can verify
    (inner,) = content[0].children()
    digest_info, salt, *iterations = rest[0].children()
    algorithm, digest = digest_info.children()
    return _MacData(
        digest_oid=_decode_oid(algorithm.children()[0].content),
        digest=_octets(digest),
        salt=_octets(salt),
        iterations=_integer(iterations[0]) if iterations else 1,
        auth_safe=_octets(inner),
    )


def _verify_mac(mac: _MacData, password: str) -> bool | None:
    """True if ``password`` produces the file's MAC, False if not, None if we cannot tell."""
    hash_name = _MAC_DIGESTS.get(mac.digest_oid)
    if hash_name is None or not 1 <= mac.iterations <= _MAX_MAC_ITERATIONS:
        return None
    for encoded in _password_encodings(password):
        key = _pkcs12_kdf(hash_name, encoded, mac.salt, 3, mac.iterations)
        expected = hmac.new(key, mac.auth_safe, hash_name).digest()
        if hmac.compare_digest(expected, mac.digest):
            return True
    return False


def _password_encodings(password: str) -> list[bytes]:
    """The password as RFC 7292 wants it (BMPString + NUL), plus what OpenSSL also accepts.

    OpenSSL also tries the UTF-8 bytes widened one by one (files written by old OpenSSL versions
    with non-ASCII passwords) and, for an empty password, no password at all.
    """
    encodings = [_bmp_password(password)]
    widened = b"".join(b"\x00" + bytes([byte]) for byte in password.encode()) + b"\x00\x00"
    if widened not in encodings:
        encodings.append(widened)
    if not password:
        encodings.append(b"")
    return encodings


def _bmp_password(password: str) -> bytes:
    """RFC 7292's password bytes: a BMPString (UTF-16, big-endian) ending in a NUL character."""
    return password.encode("utf-16-be") + b"\x00\x00"


def _pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, length: int | None = None
) -> bytes:
    """RFC 7292 appendix B.2 key derivation: ``purpose`` 1 a cipher key, 2 an IV, 3 the MAC key.

    ``length`` defaults to one digest (a MAC key); longer output (a 3DES key) takes more rounds.
    """
    new_hash = getattr(hashlib, hash_name)  # the direct constructor: the loop below is hot
    block, size = new_hash().block_size, new_hash().digest_size
    length = size if length is None else length
    diversifier = bytes([purpose]) * block
    text = _fill(salt, block) + _fill(password, block)
    output = b""
    for _ in range(-(-length // size)):  # as many digests as cover length
        result = new_hash(diversifier + text).digest()
        for _ in range(iterations - 1):
            result = new_hash(result).digest()
        output += result
        # The next round's text: add (result repeated to a block) + 1 to every block of the text.
        addend = int.from_bytes(_fill(result, block)) + 1
        text = b"".join(
            ((int.from_bytes(text[i : i + block]) + addend) % (1 << (8 * block))).to_bytes(block)
            for i in range(0, len(text), block)
        )
    return output[:length]


def _fill(data: bytes, block: int) -> bytes:
    """Repeat ``data`` up to the next multiple of ``block`` bytes (empty stays empty)."""
    length = block * math.ceil(len(data) / block)
    return (data * block)[:length]  # len(data) * block >= length: enough copies


# --- lenient reading: certificates cryptography refuses over an explicit DEFAULT value ------------

_ID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"
_PBES2, _PBKDF2 = "1.2.840.113549.1.5.13", "1.2.840.113549.1.5.12"
_PBE_SHA1_3DES = "1.2.840.113549.1.12.1.3"
_PRFS = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
}
_AES_CBC_KEY_SIZES = {"2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.22": 24, "2.16.840.1.101.3.4.1.42": 32}
_DES_EDE3_CBC = "1.2.840.113549.3.7"
_BOOLEAN, _OCTET_STRING, _CONTEXT_3 = 0x01, 0x04, 0xA3
_FALSE = b"\x01\x01\x00"


def _load_leniently(data: bytes, password: str) -> _Loaded | None:
    """Open the PFX ourselves when cryptography refused a certificate in it; None if we cannot either.

    Only the encodings OpenSSL tolerates and cryptography does not are repaired (an explicit
    ``FALSE`` where FALSE is the default); anything else stays refused.
    """
    try:
        keys, certificates = _read_bags(data, password)
        key = serialization.load_der_private_key(keys[0], None) if keys else None
        as_issued, loaded = {}, []
        for der in certificates:
            repaired = _without_explicit_false(der)
            cert = x509.load_der_x509_certificate(repaired)
            if repaired != der:
                as_issued[cert.fingerprint(hashes.SHA256())] = der
            loaded.append(cert)
    except (ValueError, TypeError, UnsupportedAlgorithm, RecursionError):
        return None
    paired = next((cert for cert in loaded if key is not None and _same_public_key(key, cert)), None)
    return key, paired, [cert for cert in loaded if cert is not paired], as_issued


def _read_bags(data: bytes, password: str) -> tuple[list[bytes], list[bytes]]:
    """The private keys (PKCS#8 DER, decrypted) and X.509 certificates (DER) of a password-mode PFX."""
    pfx, _ = _read_tlv(data, 0)
    _, auth_safe, *_ = pfx.children()
    content_type, content = auth_safe.children()
    if _decode_oid(content_type.content) != _ID_DATA:
        raise ValueError("public-key integrity mode")
    (octets,) = content.children()
    safe, _ = _read_tlv(_octets(octets), 0)
    keys, certificates = [], []
    for info in safe.children():
        info_type, *info_content = info.children()
        if _decode_oid(info_type.content) == _ID_DATA:
            (inner,) = info_content[0].children()
            bags = _octets(inner)
        elif _decode_oid(info_type.content) == _ID_ENCRYPTED_DATA:
            _, encrypted_info, *_ = info_content[0].children()[0].children()  # unprotectedAttrs may follow
            _, algorithm, ciphertext = encrypted_info.children()
            bags = _decrypt(algorithm, _octets(ciphertext), password)
        else:
            raise ValueError("enveloped bags")
        bag_list, _ = _read_tlv(bags, 0)
        for bag in bag_list.children():
            bag_type, value, *_ = bag.children()
            (value,) = value.children()
            kind = _decode_oid(bag_type.content)
            if kind == _KEY_BAG:
                keys.append(value.buffer[value.start - _header_size(value) : value.end])
            elif kind == _SHROUDED_KEY_BAG:
                algorithm, ciphertext = value.children()
                keys.append(_decrypt(algorithm, _octets(ciphertext), password))
            elif kind == _CERT_BAG:
                cert_type, cert_value = value.children()
                if _decode_oid(cert_type.content) == _X509_CERTIFICATE:
                    certificates.append(_octets(cert_value.children()[0]))
    return keys, certificates


def _header_size(tlv: _Tlv) -> int:
    """How many bytes the tag and length of ``tlv`` took (DER: definite lengths)."""
    length = tlv.end - tlv.start
    return 2 if length < 0x80 else 2 + (length.bit_length() + 7) // 8


def _decrypt(algorithm: _Tlv, ciphertext: bytes, password: str) -> bytes:
    """Decrypt a PKCS#12 bag: PBES2 (PBKDF2 with AES-CBC or 3DES-CBC) or PKCS#12 PBE SHA-1 3DES."""
    oid, *parameters = algorithm.children()
    scheme = _decode_oid(oid.content)
    if scheme == _PBES2:
        derivation, encryption = parameters[0].children()
        kdf, kdf_parameters = derivation.children()
        if _decode_oid(kdf.content) != _PBKDF2:
            raise ValueError("unsupported key derivation")
        salt, iterations, *options = kdf_parameters.children()
        prf = hashes.SHA1
        for option in options:
            if option.tag == _SEQUENCE:
                prf = _PRFS[_decode_oid(option.children()[0].content)]
        cipher_oid, iv = encryption.children()
        cipher_name = _decode_oid(cipher_oid.content)
        size = 24 if cipher_name == _DES_EDE3_CBC else _AES_CBC_KEY_SIZES[cipher_name]
        key = PBKDF2HMAC(prf(), size, _octets(salt), _iterations(iterations)).derive(password.encode())
        cipher = TripleDES(key) if cipher_name == _DES_EDE3_CBC else AES(key)
        iv = _octets(iv)
    elif scheme == _PBE_SHA1_3DES:
        salt, iterations = parameters[0].children()
        count, secret = _iterations(iterations), _bmp_password(password)
        cipher = TripleDES(_pkcs12_kdf("sha1", secret, _octets(salt), 1, count, 24))
        iv = _pkcs12_kdf("sha1", secret, _octets(salt), 2, count, 8)
    else:
        raise ValueError("unsupported bag encryption")
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(cipher.block_size).unpadder()
    return unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize()


def _iterations(tlv: _Tlv) -> int:
    count = _integer(tlv)
    if not 1 <= count <= _MAX_MAC_ITERATIONS:
        raise ValueError("iteration count out of range")
    return count


def _without_explicit_false(der: bytes) -> bytes:
    """The certificate with every explicit DEFAULT FALSE dropped: ``critical`` in its extensions and
    ``cA`` in basicConstraints. Everything else is copied byte for byte (the signature no longer
    covers the result; we never check it)."""
    cert, _ = _read_tlv(der, 0)
    tbs, *signature = cert.children()
    fields = []
    for field in tbs.children():
        if field.tag == _CONTEXT_3:
            (extensions,) = field.children()
            repaired = b"".join(_extension_without_false(extension) for extension in extensions.children())
            fields.append(_der(_CONTEXT_3, _der(_SEQUENCE, repaired)))
        else:
            fields.append(_whole(field))
    return _der(_SEQUENCE, _der(_SEQUENCE, b"".join(fields)) + b"".join(_whole(part) for part in signature))


def _extension_without_false(extension: _Tlv) -> bytes:
    oid, *rest = extension.children()
    if rest and _whole(rest[0]) == _FALSE:
        rest = rest[1:]
    value = rest[-1]
    if oid.content == b"\x55\x1d\x13" and value.tag == _OCTET_STRING:  # basicConstraints
        constraints, _ = _read_tlv(value.content, 0)
        inner = constraints.children()
        if inner and _whole(inner[0]) == _FALSE:
            inner = inner[1:]
        value_der = _der(_OCTET_STRING, _der(_SEQUENCE, b"".join(_whole(item) for item in inner)))
        return _der(_SEQUENCE, b"".join(_whole(item) for item in [oid, *rest[:-1]]) + value_der)
    return _der(_SEQUENCE, b"".join(_whole(item) for item in [oid, *rest]))


def _whole(tlv: _Tlv) -> bytes:
    """The element's own bytes, tag and length included (DER input: definite lengths)."""
    return tlv.buffer[tlv.start - _header_size(tlv) : tlv.end]


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size) + content
