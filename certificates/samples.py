"""Self-made A1 certificates (PFX) that look like ICP-Brasil e-CNPJ / e-CPF ones, built with ``cryptography``.

Issued by a throwaway CA ("AC TESTE REVENDA"), with the subjectAltName otherNames real e-CNPJ
certificates carry, so :func:`certificates.pfx.inspect_pfx` reads them as it reads real ones. The demo
data, the benches and the tests use them: nothing here is a real certificate, nothing needs ../shared.
RSA keys are generated once per process (see :func:`rsa_key`) because key generation dominates the
cost of these helpers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

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
    kdf_rounds: int = 2048,
) -> bytes:
    """Serialize a PFX; ``mac_hash`` picks the MAC digest (and the legacy 3DES cipher with it, with
    ``kdf_rounds`` iterations: older Java exporters use 100000)."""
    if mac_hash is None:
        encryption = serialization.BestAvailableEncryption(password.encode("utf-8"))
    else:
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(kdf_rounds)
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


def legacy_ecnpj_pfx(cnpj: str = VALID_CNPJ, *, password: str = PASSWORD) -> bytes:
    """An e-CNPJ-like PFX encoded as older Java exporters write them (and the java-nfe test file is):
    3DES-encrypted bags and a SHA-1 MAC, 100000 iterations. Costlier to open than :func:`ecnpj_pfx`."""
    cert = make_certificate(f"{COMPANY}:{cnpj}", other_names=ecnpj_other_names(cnpj))
    return make_pfx(rsa_key(), cert, extra_certs=[issuing_ca()], password=password, mac_hash=hashes.SHA1(),
                    kdf_rounds=100_000)
