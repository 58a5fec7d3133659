"""A1 certificate validation: real certificates from other projects, then generated ones."""

import base64
import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pfxgen
import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certificates import pfx
from certificates.pfx import (
    CertificateError,
    CertificateInfo,
    ErrorCode,
    extract_cnpj,
    format_cnpj,
    inspect_pfx,
)

CERTS = pfxgen.FIXTURE_CERTS
FIXTURES = CERTS.parent
JAVA_NFE, SPED_CNPJ, SPED_CPF, DUMMY, SEFAZ_RS = (pfxgen.JAVA_NFE, pfxgen.SPED_CNPJ, pfxgen.SPED_CPF,
                                                pfxgen.DUMMY, pfxgen.SEFAZ_RS)
PASSWORDS = pfxgen.PASSWORDS
IN_2025 = datetime(2025, 6, 1, 12, tzinfo=UTC)
IN_2021 = datetime(2021, 6, 1, 12, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (CERTS / name).read_bytes()


def accepted(data: bytes, password: str = pfxgen.PASSWORD, **kwargs) -> CertificateInfo:
    kwargs.setdefault("expected_cnpj", None)
    return inspect_pfx(data, password, **kwargs)


def refusal(data: bytes, password: str = pfxgen.PASSWORD, **kwargs) -> CertificateError:
    with pytest.raises(CertificateError) as excinfo:
        accepted(data, password, **kwargs)
    return excinfo.value


# --- real certificates -----------------------------------------------------------------------


@pytest.mark.shared_fixtures
def test_icp_brasil_like_certificate_reads_cnpj_from_the_oid():
    info = accepted(fixture(JAVA_NFE), "123456", expected_cnpj="99999999999999", now=IN_2025)

    assert info.cnpj == "99999999999999"  # fails check digits; the OID is authoritative
    assert info.common_name == "CERTIFICADO CNPJ TESTE:99999999999999"
    assert info.subject.startswith("CN=CERTIFICADO CNPJ TESTE:99999999999999,OU=TESTE")
    assert info.issuer == "CN=AC Test,O=TRT2,C=BR"
    assert info.serial == "3333333333"
    assert info.fingerprint_sha256 == ("00b2baac79494f515eef31bf7b32fcfda7369884030041b1c75fff9121def7ad")
    assert info.not_before == datetime(2019, 5, 19, 3, 36, 1, tzinfo=UTC)
    assert info.not_after == datetime(2029, 5, 16, 3, 36, 1, tzinfo=UTC)


@pytest.mark.shared_fixtures
def test_expected_cnpj_may_be_punctuated():
    info = accepted(fixture(JAVA_NFE), "123456", expected_cnpj="99.999.999/9999-99", now=IN_2025)

    assert info.cnpj == "99999999999999"


@pytest.mark.shared_fixtures
def test_icp_brasil_like_certificate_of_another_company():
    error = refusal(fixture(JAVA_NFE), "123456", expected_cnpj="11222333000181", now=IN_2025)

    assert error.code == ErrorCode.CNPJ_MISMATCH
    assert error.message == (
        "O CNPJ do certificado (99.999.999/9999-99) não corresponde ao CNPJ do cliente (11.222.333/0001-81)."
    )


@pytest.mark.shared_fixtures
@time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False)
def test_icp_brasil_like_certificate_expires_in_2029():
    error = refusal(fixture(JAVA_NFE), "123456")

    assert error.code == ErrorCode.EXPIRED
    assert error.message == "O certificado expirou em 16/05/2029."


@pytest.mark.shared_fixtures
def test_cnpj_only_in_the_common_name():
    info = accepted(fixture(SPED_CNPJ), "minhasenha", expected_cnpj="06157250000116", now=IN_2025)

    assert info.cnpj == "06157250000116"
    assert info.common_name == "06.157.250/0001-16"


@pytest.mark.shared_fixtures
def test_ecpf_is_refused():
    error = refusal(fixture(SPED_CPF), "minhasenha", now=IN_2025)

    assert error.code == ErrorCode.NO_CNPJ
    assert error.message == ("Este certificado não contém um CNPJ de empresa (um e-CPF não é aceito).")


@pytest.mark.shared_fixtures
def test_dummy_certificate_expired_in_2023():
    error = refusal(fixture(DUMMY), "dummy_password", now=IN_2025)

    assert error.code == ErrorCode.EXPIRED
    assert error.message == "O certificado expirou em 26/07/2023."


@pytest.mark.shared_fixtures
def test_dummy_certificate_has_no_cnpj_while_valid():
    error = refusal(fixture(DUMMY), "dummy_password", now=IN_2021)

    assert error.code == ErrorCode.NO_CNPJ


@pytest.mark.shared_fixtures
def test_certificate_with_explicit_critical_false_is_read_as_openssl_reads_it():
    # The SEFAZ-RS test certificate writes critical=FALSE out (older CA software did): cryptography
    # refuses it, OpenSSL reads it, and so do we.
    info = accepted(fixture(SEFAZ_RS), "associacao", now=datetime(2010, 1, 1, tzinfo=UTC))

    assert info.cnpj == "99999090910270"
    assert info.common_name == "NFe - Associacao NF-e:99999090910270"
    assert info.serial == "313838"
    assert (info.not_before, info.not_after) == (datetime(2009, 5, 22, 17, 7, 3, tzinfo=UTC),
                                                 datetime(2010, 10, 2, 17, 7, 3, tzinfo=UTC))
    # openssl x509 -fingerprint -sha256 of the certificate as issued
    assert info.fingerprint_sha256 == "b43ac18e7a99661a1f1a87eb9438113a9890cc7b4ba90bcaf05ce0f4c654f770"
    assert refusal(fixture(SEFAZ_RS), "associacao", now=IN_2025).message == "O certificado expirou em 02/10/2010."
    assert refusal(fixture(SEFAZ_RS), "errada", now=IN_2025).code == ErrorCode.WRONG_PASSWORD


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("name", sorted(PASSWORDS))
def test_real_certificates_with_a_wrong_password(name):
    error = refusal(fixture(name), PASSWORDS[name] + "x")

    assert error.code == ErrorCode.WRONG_PASSWORD
    assert error.message == "Senha do certificado incorreta."


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("name", sorted(PASSWORDS))
def test_real_certificates_verify_their_mac(name):
    mac = pfx._parse_pfx(fixture(name))

    assert mac is not None
    assert pfx._verify_mac(mac, PASSWORDS[name]) is True
    assert pfx._verify_mac(mac, "not-the-password") is False


@pytest.mark.shared_fixtures
def test_truncated_real_certificate_is_not_a_pfx():
    data = fixture(JAVA_NFE)

    assert refusal(data[: len(data) // 2], "123456").code == ErrorCode.NOT_PKCS12


@pytest.mark.shared_fixtures
@pytest.mark.parametrize(
    "path",
    [
        "fiscal/nfe/sped-nfe__2017protocoled.xml",
        "fiscal/negative/sped-common__forbidden.xml",
    ],
)
def test_xml_is_not_a_pfx(path):
    assert refusal((FIXTURES / path).read_bytes()).code == ErrorCode.NOT_PKCS12


# --- generated twins of the real-certificate tests (they run in a plain clone too) -------------


def java_like_pfx(**kwargs) -> bytes:
    """Encoded as the java-nfe file: 3DES bags, SHA-1 MAC, 100000 iterations."""
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}",
                                   other_names=pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ))
    return pfxgen.make_pfx(pfxgen.rsa_key(), cert, extra_certs=[pfxgen.issuing_ca()], mac_hash=hashes.SHA1(),
                           kdf_rounds=100_000, **kwargs)


def generated_files() -> dict[str, bytes]:
    return {"cryptography defaults": pfxgen.ecnpj_pfx(), "java-like (SHA-1 MAC, 100000 iterations)": java_like_pfx(),
            "SHA-256 MAC": pfxgen.make_pfx(pfxgen.rsa_key(), pfxgen.make_certificate(pfxgen.COMPANY),
                                           mac_hash=hashes.SHA256()),
            "unparseable certificate": pfxgen.unparseable_pfx()}


GENERATED_FILES = sorted(generated_files())


def test_java_like_encoding_is_read_like_the_real_one():
    info = accepted(java_like_pfx(), expected_cnpj=pfxgen.VALID_CNPJ)

    assert info.cnpj == pfxgen.VALID_CNPJ and info.issuer == "CN=AC TESTE REVENDA,O=ICP-Brasil,C=BR"


def test_generated_expected_cnpj_may_be_punctuated():
    assert accepted(pfxgen.ecnpj_pfx(), expected_cnpj="11.222.333/0001-81").cnpj == pfxgen.VALID_CNPJ


def test_generated_certificate_without_a_cnpj_while_valid():
    error = refusal(pfxgen.pfx_for(pfxgen.make_certificate(pfxgen.COMPANY)))

    assert error.code == ErrorCode.NO_CNPJ


def test_generated_certificate_cryptography_cannot_parse_is_read_as_openssl_reads_it():
    data = pfxgen.unparseable_pfx()
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(data, pfxgen.PASSWORD.encode())  # cryptography's verdict, as on the SEFAZ-RS file
    control = pfxgen.unparseable_pfx(flawed=False)
    assert pkcs12.load_pkcs12(control, pfxgen.PASSWORD.encode()).cert is not None  # the flaw is the only problem

    assert accepted(data, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ  # the lenient reader
    assert refusal(data, "senha-errada").code == ErrorCode.WRONG_PASSWORD
    assert accepted(control, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ


@pytest.mark.parametrize("name", GENERATED_FILES)
def test_generated_files_with_a_wrong_password(name):
    error = refusal(generated_files()[name], pfxgen.PASSWORD + "x")

    assert error.code == ErrorCode.WRONG_PASSWORD
    assert error.message == "Senha do certificado incorreta."


@pytest.mark.parametrize("name", GENERATED_FILES)
def test_generated_files_verify_their_mac(name):
    mac = pfx._parse_pfx(generated_files()[name])

    assert mac is not None
    assert pfx._verify_mac(mac, pfxgen.PASSWORD) is True
    assert pfx._verify_mac(mac, "not-the-password") is False


def test_truncated_generated_certificate_is_not_a_pfx():
    data = java_like_pfx()

    assert refusal(data[: len(data) // 2]).code == ErrorCode.NOT_PKCS12


def test_fiscal_xml_is_not_a_pfx():
    xml = ('<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00">'
           '<NFe><infNFe Id="NFe35170000000000000000550010000000011000000010"><emit><CNPJ>11222333000181</CNPJ>'
           '</emit></infNFe></NFe></nfeProc>')
    assert refusal(xml.encode()).code == ErrorCode.NOT_PKCS12


# --- generated certificates: the CNPJ ---------------------------------------------------------


def test_valid_ecnpj_reports_its_details():
    cert = pfxgen.make_certificate(pfxgen.COMPANY, other_names=pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ))

    info = accepted(pfxgen.pfx_for(cert), expected_cnpj=pfxgen.VALID_CNPJ)

    assert info == CertificateInfo(
        subject="CN=EMPRESA X LTDA,OU=Certificado PJ A1,O=ICP-Brasil,C=BR",
        common_name="EMPRESA X LTDA",
        cnpj=pfxgen.VALID_CNPJ,
        serial=format(cert.serial_number, "x"),
        issuer="CN=AC TESTE REVENDA,O=ICP-Brasil,C=BR",
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
    assert info.not_after.tzinfo is UTC


def test_certificate_info_is_frozen():
    info = accepted(pfxgen.ecnpj_pfx())

    with pytest.raises(dataclasses.FrozenInstanceError):
        info.cnpj = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "tag",
    [pfxgen.OCTET_STRING, pfxgen.PRINTABLE_STRING, pfxgen.UTF8_STRING, pfxgen.IA5_STRING],
    ids=["OCTET STRING", "PrintableString", "UTF8String", "IA5String"],
)
def test_cnpj_oid_value_in_any_string_type(tag):
    data = pfxgen.ecnpj_pfx(in_cn=False, tag=tag)

    assert accepted(data).cnpj == pfxgen.VALID_CNPJ


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        (b"\x04\x0e11222333000181", "11222333000181"),
        (b"\x1e\x04\x00A\x00B", "AB"),  # BMPString
        (b"\x24\x80\x04\x0211\x04\x01X\x00\x00", "11X"),  # constructed OCTET STRING (BER)
        (b"\x02\x01\x03", None),  # an INTEGER
        (b"\x0c\x02\xff\xfe", None),  # bad UTF-8
        (b"\x04\x0e1122", None),  # truncated
        (b"\x04\x011trailing", None),
        (b"", None),
    ],
    ids=["octet-string", "bmp-string", "ber-segments", "integer", "bad-utf8", "truncated", "trailing-bytes", "empty"],
)
def test_other_name_string_decoding(value, decoded):
    assert pfx._decode_der_string(value) == decoded


def test_cnpj_from_the_common_name():
    data = pfxgen.ecnpj_pfx(in_oid=False)

    assert accepted(data, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ


@pytest.mark.parametrize("common_name", ["11.222.333/0001-81", "11222333000181", " 11222333000181 "])
def test_common_name_that_is_a_cnpj(common_name):
    cert = pfxgen.make_certificate(common_name)

    assert extract_cnpj(cert) == "11222333000181"


def test_oid_wins_over_the_common_name():
    cert = pfxgen.make_certificate(
        f"{pfxgen.COMPANY}:{pfxgen.OTHER_VALID_CNPJ}",
        other_names=pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ),
    )

    assert extract_cnpj(cert) == pfxgen.VALID_CNPJ


def test_oid_with_bad_check_digits_is_still_authoritative():
    cert = pfxgen.make_certificate(pfxgen.COMPANY, other_names=pfxgen.ecnpj_other_names("11222333000199"))

    assert extract_cnpj(cert) == "11222333000199"


def test_all_zero_oid_means_not_available():
    cert = pfxgen.make_certificate(
        f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}", other_names=pfxgen.ecnpj_other_names("0" * 14)
    )

    assert extract_cnpj(cert) == pfxgen.VALID_CNPJ


@pytest.mark.parametrize(
    "common_name",
    [
        f"{pfxgen.COMPANY}:11222333000199",  # check digits wrong
        "ACME COMERCIO 10",  # spaces are not CNPJ punctuation
        "904.839.260-86",  # a CPF
        "FULANO DE TAL:52998224725",
        pfxgen.COMPANY,
    ],
)
def test_common_names_without_a_cnpj(common_name):
    assert extract_cnpj(pfxgen.make_certificate(common_name)) is None


def test_alphanumeric_cnpj_in_the_oid():
    data = pfxgen.ecnpj_pfx(pfxgen.ALPHANUMERIC_CNPJ, in_cn=False)

    info = accepted(data, expected_cnpj="12.ABC.345/01DE-35")

    assert info.cnpj == "12ABC34501DE35"


def test_alphanumeric_cnpj_in_the_common_name():
    data = pfxgen.ecnpj_pfx(pfxgen.ALPHANUMERIC_CNPJ, in_oid=False)

    assert accepted(data).cnpj == "12ABC34501DE35"


def test_ecpf_with_icp_brasil_oid_is_refused():
    error = refusal(pfxgen.ecpf_pfx())

    assert error.code == ErrorCode.NO_CNPJ


def test_ecpf_oid_stops_a_cnpj_looking_common_name():
    cert = pfxgen.make_certificate(f"FULANO:{pfxgen.VALID_CNPJ}", other_names=pfxgen.ecpf_other_names())

    assert extract_cnpj(cert) is None


def test_wrong_cnpj():
    error = refusal(pfxgen.ecnpj_pfx(), expected_cnpj=pfxgen.OTHER_VALID_CNPJ)

    assert error.code == ErrorCode.CNPJ_MISMATCH
    assert error.message == (
        "O CNPJ do certificado (11.222.333/0001-81) não corresponde ao CNPJ do cliente (06.157.250/0001-16)."
    )


def test_malformed_expected_cnpj_is_a_programming_error():
    with pytest.raises(ValueError, match="expected_cnpj"):
        accepted(pfxgen.ecnpj_pfx(), expected_cnpj="123")


# --- generated certificates: dates ------------------------------------------------------------

NOT_BEFORE = datetime(2025, 1, 10, 15, tzinfo=UTC)
NOT_AFTER = datetime(2026, 1, 10, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def dated_pfx() -> bytes:
    return pfxgen.ecnpj_pfx(not_before=NOT_BEFORE, not_after=NOT_AFTER)


def test_expired(dated_pfx):
    error = refusal(dated_pfx, now=NOT_AFTER + timedelta(seconds=1))

    assert error.code == ErrorCode.EXPIRED
    assert error.message == "O certificado expirou em 10/01/2026."


def test_not_yet_valid(dated_pfx):
    error = refusal(dated_pfx, now=NOT_BEFORE - timedelta(seconds=1))

    assert error.code == ErrorCode.NOT_YET_VALID
    assert error.message == "O certificado ainda não é válido (válido a partir de 10/01/2025)."


@pytest.mark.parametrize("now", [NOT_BEFORE, NOT_AFTER])
def test_validity_period_includes_its_ends(dated_pfx, now):
    assert accepted(dated_pfx, now=now).cnpj == pfxgen.VALID_CNPJ


def test_dates_are_shown_as_in_brasilia():
    # 02:00 UTC on 1 January is still 31 December in Brasília (UTC-3).
    data = pfxgen.ecnpj_pfx(not_before=NOT_BEFORE, not_after=datetime(2030, 1, 1, 2, tzinfo=UTC))

    error = refusal(data, now=datetime(2031, 1, 1, tzinfo=UTC))

    assert error.message == "O certificado expirou em 31/12/2029."


def test_default_now_is_the_current_time(dated_pfx):
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=UTC), tick=False):
        assert refusal(dated_pfx).code == ErrorCode.EXPIRED
    with time_machine.travel(datetime(2025, 7, 1, tzinfo=UTC), tick=False):
        assert accepted(dated_pfx).cnpj == pfxgen.VALID_CNPJ


def test_naive_now_is_a_programming_error(dated_pfx):
    with pytest.raises(ValueError, match="^now must be timezone-aware$"):
        accepted(dated_pfx, now=datetime(2025, 7, 1))


# --- generated certificates: keys and contents ------------------------------------------------


def test_mismatched_key():
    error = refusal(pfxgen.mismatched_key_pfx())

    assert error.code == ErrorCode.KEY_MISMATCH
    assert error.message == "A chave privada do arquivo não corresponde ao certificado."


def test_no_key():
    error = refusal(pfxgen.pfx_without_key())

    assert error.code == ErrorCode.NO_KEY
    assert "chave privada" in error.message


@pytest.mark.parametrize("with_ca", [False, True])
def test_no_certificate(with_ca):
    error = refusal(pfxgen.pfx_without_certificate(with_ca=with_ca))

    assert error.code == ErrorCode.NO_CERTIFICATE
    assert error.message == "O arquivo contém uma chave privada, mas nenhum certificado."


# --- generated certificates: files and passwords ----------------------------------------------


def test_too_large():
    data = pfxgen.ecnpj_pfx()

    error = refusal(data + b"\0" * (64 * 1024))

    assert error.code == ErrorCode.TOO_LARGE
    assert error.message == "O arquivo excede o tamanho máximo de 64 KB."


def test_size_limit_is_inclusive():
    data = pfxgen.ecnpj_pfx()

    assert accepted(data, max_bytes=len(data)).cnpj == pfxgen.VALID_CNPJ
    assert refusal(data, max_bytes=len(data) - 1).code == ErrorCode.TOO_LARGE


def test_empty_file():
    error = refusal(b"")

    assert error.code == ErrorCode.EMPTY
    assert error.message == "O arquivo está vazio."


def not_pfx_files() -> dict[str, bytes]:
    cert = pfxgen.make_certificate(pfxgen.COMPANY)
    key_pem = pfxgen.rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "random bytes": random.Random(7).randbytes(3000),
        "random bytes that start like DER": b"\x30\x82\x0b\xb8" + random.Random(8).randbytes(3000),
        "PEM certificate and key": cert.public_bytes(serialization.Encoding.PEM) + key_pem,
        "DER certificate (.cer)": cert.public_bytes(serialization.Encoding.DER),
        "base64 of a PFX": base64.b64encode(pfxgen.ecnpj_pfx()),
        "PFX version 2": b"\x30\x03\x02\x01\x02",
        "text": "não é um certificado".encode(),
    }


@pytest.mark.parametrize("name", sorted(not_pfx_files()))
def test_not_a_pfx(name):
    error = refusal(not_pfx_files()[name])

    assert error.code == ErrorCode.NOT_PKCS12
    assert "não é um certificado A1 no formato PFX" in error.message


def test_wrong_password():
    error = refusal(pfxgen.ecnpj_pfx(), "senha-errada")

    assert error.code == ErrorCode.WRONG_PASSWORD


def test_non_ascii_password():
    data = pfxgen.ecnpj_pfx(password="çãõ€ senha")

    assert accepted(data, "çãõ€ senha").cnpj == pfxgen.VALID_CNPJ
    assert refusal(data, "cao senha").code == ErrorCode.WRONG_PASSWORD


def test_pfx_without_password():
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}")
    data = pkcs12.serialize_key_and_certificates(b"a1", pfxgen.rsa_key(), cert, None, serialization.NoEncryption())

    assert accepted(data, "").cnpj == pfxgen.VALID_CNPJ
    assert refusal(data, "x").code == ErrorCode.WRONG_PASSWORD


def test_ber_encoded_pfx():
    data = pfxgen.to_ber(pfxgen.ecnpj_pfx())

    assert data[:2] == b"\x30\x80"  # indefinite length
    assert accepted(data).cnpj == pfxgen.VALID_CNPJ
    assert pfx._verify_mac(pfx._parse_pfx(data), pfxgen.PASSWORD) is True


def test_absurd_mac_iteration_count_is_refused_before_decrypting():
    data = pfxgen.with_mac_iterations(pfxgen.ecnpj_pfx(), 2_000_000)

    assert refusal(data).code == ErrorCode.UNSUPPORTED_ENCODING


FUZZ = settings(max_examples=150, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=2048))
def test_any_bytes_give_a_verdict(data):
    with pytest.raises(CertificateError):
        accepted(data)


@pytest.mark.shared_fixtures
@FUZZ
@given(name=st.sampled_from(sorted(PASSWORDS)), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_real_files_with_a_flipped_bit_give_a_verdict(name, position, bit):
    data = bytearray(fixture(name))
    data[position % len(data)] ^= 1 << bit

    try:
        accepted(bytes(data), PASSWORDS[name], now=IN_2021)
    except CertificateError as error:
        assert error.message


@FUZZ
@given(name=st.sampled_from(GENERATED_FILES), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_generated_files_with_a_flipped_bit_give_a_verdict(name, position, bit):
    data = bytearray(GENERATED_BYTES[name])
    data[position % len(data)] ^= 1 << bit

    try:
        accepted(bytes(data))
    except CertificateError as error:
        assert error.message


GENERATED_BYTES = generated_files()


# --- telling a wrong password from a file cryptography refuses --------------------------------


@pytest.fixture
def cryptography_refuses(monkeypatch):
    """Make cryptography fail as it does on the SEFAZ-RS certificate, whatever the password, on a file
    our own reader cannot open either."""

    def refuse(data, password):
        raise ValueError("error parsing asn1 value: ParseError { kind: EncodedDefault }")

    monkeypatch.setattr(pfx.pkcs12, "load_pkcs12", refuse)
    monkeypatch.setattr(pfx, "_load_leniently", lambda data, password: None)


@pytest.mark.parametrize(
    "mac_hash", [hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()], ids=lambda h: h.name
)
@pytest.mark.parametrize("password", ["senha", "çãõ€ senha"], ids=["ascii", "non-ascii"])
def test_mac_tells_the_two_apart(cryptography_refuses, mac_hash, password):
    cert = pfxgen.make_certificate(pfxgen.COMPANY)
    data = pfxgen.make_pfx(pfxgen.rsa_key(), cert, mac_hash=mac_hash, password=password)

    assert refusal(data, password).code == ErrorCode.UNSUPPORTED_ENCODING
    assert refusal(data, password + "!").code == ErrorCode.WRONG_PASSWORD


def test_without_a_mac_cryptographys_words_decide(monkeypatch):
    monkeypatch.setattr(pfx, "_verify_mac", lambda mac, password: None)

    assert refusal(pfxgen.ecnpj_pfx(), "errada").code == ErrorCode.WRONG_PASSWORD


def test_without_a_mac_a_parse_error_is_an_encoding_problem(monkeypatch, cryptography_refuses):
    monkeypatch.setattr(pfx, "_verify_mac", lambda mac, password: None)

    assert refusal(pfxgen.ecnpj_pfx()).code == ErrorCode.UNSUPPORTED_ENCODING


@pytest.mark.parametrize(
    ("password", "salt", "purpose", "iterations", "expected"),
    [
        ("smeg", "3D83C0E4546AC140", 3, 1, "8D967D88F6CAA9D714800AB3D48051D63F73A312"),
        ("smeg", "0A58CF64530D823F", 1, 1, "8AAAE6297B6CB04642AB5B077851284EB7128F1A"),
        ("queeg", "05DEC959ACFF72F7", 1, 1000, "ED2034E36328830FF09DF1E1A07DD357185DAC0D"),
    ],
)
def test_pkcs12_kdf_known_answers(password, salt, purpose, iterations, expected):
    # The PKCS#12 KDF vectors Bouncy Castle tests against (SHA-1, first 20 bytes of output).
    encoded = password.encode("utf-16-be") + b"\0\0"

    key = pfx._pkcs12_kdf("sha1", encoded, bytes.fromhex(salt), purpose, iterations)

    assert key.hex().upper() == expected


# --- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "formatted"),
    [
        ("12345678000195", "12.345.678/0001-95"),
        ("12.345.678/0001-95", "12.345.678/0001-95"),
        ("12abc34501de35", "12.ABC.345/01DE-35"),
    ],
)
def test_format_cnpj(value, formatted):
    assert format_cnpj(value) == formatted


@pytest.mark.parametrize("value", ["", "1234567800019", "904.839.260-86", "1234567800019A"])
def test_format_cnpj_refuses_what_is_not_a_cnpj(value):
    with pytest.raises(ValueError, match="not a CNPJ"):
        format_cnpj(value)


def test_error_carries_code_and_message():
    error = CertificateError("wrong_password")

    assert error.code is ErrorCode.WRONG_PASSWORD
    assert str(error) == "Senha do certificado incorreta."
    assert all(CertificateError(code).message for code in ErrorCode)


def test_ber_reader():
    element, end = pfx._read_tlv(b"\x24\x80\x04\x02ab\x04\x01c\x00\x00tail", 0)

    assert end == 11
    assert pfx._octets(element) == b"abc"
    assert pfx._decode_oid(bytes.fromhex("2A864886F70D010701")) == "1.2.840.113549.1.7.1"
