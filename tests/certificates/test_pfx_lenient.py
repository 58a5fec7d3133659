"""Certificates OpenSSL reads and ``cryptography`` refuses (an explicit DEFAULT FALSE), deep nesting,
and the PKCS#12 reader that opens them: the client is not sent away to export the file again."""

import hashlib
import hmac
import sys
from datetime import UTC, datetime, timedelta

import pfxgen
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates import pfx
from certificates.pfx import CertificateError, ErrorCode, inspect_pfx


def refusal(data: bytes, password: str = pfxgen.PASSWORD, **kwargs) -> CertificateError:
    kwargs.setdefault("expected_cnpj", None)
    with pytest.raises(CertificateError) as caught:
        inspect_pfx(data, password, **kwargs)
    return caught.value


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


# -- explicit critical=FALSE ----------------------------------------------------------------------


def test_a_certificate_with_explicit_critical_false_is_read():
    not_before = whole_seconds(datetime.now(UTC) - timedelta(days=10))
    not_after = not_before + timedelta(days=365)
    data, der = pfxgen.explicit_false_pfx(not_before=not_before, not_after=not_after)
    with pytest.raises(ValueError, match="EncodedDefault"):  # what the client got "export it again" for
        pkcs12.load_pkcs12(data, pfxgen.PASSWORD.encode())

    info = inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj="11.222.333/0001-81")

    assert info.cnpj == pfxgen.VALID_CNPJ
    assert (info.not_before, info.not_after) == (not_before, not_after)
    assert info.common_name == f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}"
    assert info.subject == f"CN={pfxgen.COMPANY}:{pfxgen.VALID_CNPJ},OU=Certificado PJ A1,O=ICP-Brasil,C=BR"
    assert info.issuer == pfxgen.issuing_ca().subject.rfc4514_string()
    assert info.fingerprint_sha256 == hashlib.sha256(der).hexdigest()  # of the certificate as issued


def test_explicit_false_certificates_still_go_through_every_check():
    data, _ = pfxgen.explicit_false_pfx()
    assert refusal(data, "senha errada").code == ErrorCode.WRONG_PASSWORD
    mismatch = refusal(data, expected_cnpj="06157250000116")
    assert mismatch.code == ErrorCode.CNPJ_MISMATCH
    assert mismatch.message == ("O CNPJ do certificado (11.222.333/0001-81) não corresponde ao CNPJ do cliente "
                                "(06.157.250/0001-16).")
    past = datetime.now(UTC) - timedelta(days=800)
    expired, _ = pfxgen.explicit_false_pfx(not_before=past, not_after=past + timedelta(days=365))
    error = refusal(expired)
    assert error.code == ErrorCode.EXPIRED
    assert error.message == f"O certificado expirou em {pfx._br_date(past + timedelta(days=365))}."


def test_a_certificate_broken_otherwise_is_still_an_encoding_problem():
    data = pfxgen.pfx_from_der(pfxgen.rsa_key(), [b"\x30\x03\x02\x01\x00"])

    error = refusal(data)

    assert error.code == ErrorCode.UNSUPPORTED_ENCODING
    assert "Exporte o PFX novamente" in error.message


def test_explicit_false_is_dropped_and_nothing_else_changes():
    cert = pfxgen.make_certificate("X", other_names=pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ))
    der = pfxgen.with_explicit_false(cert)
    assert der.count(b"\x01\x01\x00") >= 1

    repaired = pfx._without_explicit_false(der)

    assert pfx._without_explicit_false(cert.public_bytes(serialization.Encoding.DER)) == cert.public_bytes(
        serialization.Encoding.DER)
    loaded = x509.load_der_x509_certificate(repaired)
    assert loaded.tbs_certificate_bytes == cert.tbs_certificate_bytes  # re-signed, same content
    assert list(loaded.extensions) == list(cert.extensions)


def test_basic_constraints_with_explicit_ca_false_are_repaired():
    # basicConstraints { cA FALSE } written out, inside an extension that also spells critical FALSE
    oid = pfxgen.der_tlv(0x06, bytes.fromhex("551d13"))
    value = pfxgen.der_tlv(0x04, pfxgen.der_tlv(0x30, b"\x01\x01\x00"))
    extension = pfx._read_tlv(pfxgen.der_tlv(0x30, oid + b"\x01\x01\x00" + value), 0)[0]

    assert pfx._extension_without_false(extension) == pfxgen.der_tlv(0x30, oid + pfxgen.der_tlv(
        0x04, pfxgen.der_tlv(0x30, b"")))
    critical = pfx._read_tlv(pfxgen.der_tlv(0x30, oid + b"\x01\x01\xff" + value), 0)[0]
    assert pfx._extension_without_false(critical) == pfxgen.der_tlv(0x30, oid + b"\x01\x01\xff" + pfxgen.der_tlv(
        0x04, pfxgen.der_tlv(0x30, b"")))


# -- the PKCS#12 reader agrees with cryptography on the files cryptography reads --------------------


@pytest.mark.parametrize("mac_hash", [None, hashes.SHA1()], ids=["pbes2-aes", "pkcs12-3des"])
def test_our_reader_finds_what_cryptography_finds(mac_hash):
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}")
    data = pfxgen.make_pfx(pfxgen.rsa_key(), cert, extra_certs=[pfxgen.issuing_ca()], mac_hash=mac_hash)

    key, paired, others, as_issued = pfx._load_leniently(data, pfxgen.PASSWORD)

    assert key.private_numbers() == pfxgen.rsa_key().private_numbers()
    assert paired == cert and others == [pfxgen.issuing_ca()] and as_issued == {}
    assert pfx._load_leniently(data, "senha errada") is None


@pytest.mark.parametrize("prf", ["hmacWithSHA1", "hmacWithSHA224", "hmacWithSHA256", "hmacWithSHA384",
                                 "hmacWithSHA512"])
@pytest.mark.parametrize("cipher", ["aes128cbc", "aes192cbc", "aes256cbc", "desEde3cbc"])
def test_our_reader_opens_every_pbes2_variant(prf, cipher):
    _, der = pfxgen.explicit_false_pfx()
    data = pfxgen.pfx_from_der(pfxgen.rsa_key(), [der], prf=prf, cipher=cipher, iterations=3)

    key, paired, others, as_issued = pfx._load_leniently(data, pfxgen.PASSWORD)

    assert key.private_numbers() == pfxgen.rsa_key().private_numbers()
    assert as_issued == {paired.fingerprint(hashes.SHA256()): der} and others == []
    assert pfx._load_leniently(data, pfxgen.PASSWORD + "x") is None  # wrong key: the padding does not check out


def test_our_reader_takes_an_unencrypted_key_bag():
    _, der = pfxgen.explicit_false_pfx()
    data = pfxgen.pfx_from_der(pfxgen.rsa_key(), [der], shroud_key=False)

    assert inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ


def test_our_reader_pairs_the_key_with_its_certificate_whatever_the_order():
    _, der = pfxgen.explicit_false_pfx()
    ca = pfxgen.issuing_ca().public_bytes(serialization.Encoding.DER)
    data = pfxgen.pfx_from_der(pfxgen.rsa_key(), [ca, der])

    key, paired, others, as_issued = pfx._load_leniently(data, pfxgen.PASSWORD)

    assert paired.fingerprint(hashes.SHA256()) in as_issued and as_issued[paired.fingerprint(hashes.SHA256())] == der
    assert others == [pfxgen.issuing_ca()]
    assert inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=None).cnpj == pfxgen.VALID_CNPJ


def test_explicit_false_certificate_without_its_key_is_no_key():
    _, der = pfxgen.explicit_false_pfx()
    data = pfxgen.pfx_from_der(None, [der])

    assert pfx._load_leniently(data, pfxgen.PASSWORD)[:2] == (None, None)
    assert refusal(data).code == ErrorCode.NO_KEY


def test_unsupported_bag_encryption_and_iteration_counts_are_refused():
    unknown = pfx._read_tlv(pfxgen.der_tlv(0x30, pfxgen.der_tlv(0x06, bytes.fromhex("2a864886f70d010c0106"))
                                           + pfxgen.der_tlv(0x30, b"")), 0)[0]  # RC2-40: not supported
    with pytest.raises(ValueError, match="^unsupported bag encryption$"):
        pfx._decrypt(unknown, b"\x00" * 8, "x")
    for count in (0, pfx._MAX_MAC_ITERATIONS + 1):
        tlv = pfx._read_tlv(pfxgen.der_tlv(0x02, count.to_bytes(4, "big")), 0)[0]
        with pytest.raises(ValueError, match="^iteration count out of range$"):
            pfx._iterations(tlv)
    for count in (1, pfx._MAX_MAC_ITERATIONS):
        assert pfx._iterations(pfx._read_tlv(pfxgen.der_tlv(0x02, count.to_bytes(4, "big")), 0)[0]) == count


@pytest.mark.parametrize(
    ("password", "salt", "purpose", "iterations", "length", "expected"),
    [
        ("smeg", "0A58CF64530D823F", 1, 1, 24, "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3"),
        ("smeg", "0A58CF64530D823F", 2, 1, 8, "79993DFE048D3B76"),
        ("queeg", "05DEC959ACFF72F7", 1, 1000, 24, "ED2034E36328830FF09DF1E1A07DD357185DAC0D4F9EB3D4"),
    ],
)
def test_pkcs12_kdf_longer_keys(password, salt, purpose, iterations, length, expected):
    # The Bouncy Castle vectors, full length: a 3DES key needs a second round of the KDF.
    encoded = password.encode("utf-16-be") + b"\0\0"

    assert pfx._pkcs12_kdf("sha1", encoded, bytes.fromhex(salt), purpose, iterations, length).hex().upper() == expected


# -- deep nesting -----------------------------------------------------------------------------------


def nested(levels: int) -> bytes:
    return b"\x30\x80" * levels + b"\x00\x00" * levels


def test_nesting_is_bounded():
    assert pfx._read_tlv(nested(17), 0)[1] == 68
    with pytest.raises(ValueError, match="^nested too deep$"):
        pfx._read_tlv(nested(18), 0)
    segments = b"\x04\x01a"
    for _ in range(16):
        segments = pfx._der(0x24, segments)
    assert pfx._octets(pfx._read_tlv(segments, 0)[0]) == b"a"
    with pytest.raises(ValueError, match="^nested too deep$"):
        pfx._octets(pfx._read_tlv(pfx._der(0x24, segments), 0)[0])


@pytest.mark.parametrize("levels", [18, 10_000])
def test_deeply_nested_der_is_not_a_pfx(levels):
    error = refusal(nested(levels))

    assert error.code == ErrorCode.NOT_PKCS12
    assert error.message.startswith("O arquivo não é um certificado A1 no formato PFX")


def test_nesting_deeper_than_the_stack_allows_is_not_a_pfx():
    """Where the stack is short (a worker thread, a deep caller), a RecursionError inside the reader
    is still the uploader's "not a PFX", never a crash."""
    frames, frame = 0, sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 25)
    try:
        with pytest.raises(CertificateError) as caught:
            inspect_pfx(nested(17), "x", expected_cnpj=None)
    finally:
        sys.setrecursionlimit(limit)
    assert caught.value.code == ErrorCode.NOT_PKCS12


def test_deep_nesting_in_an_other_name_is_no_cnpj_not_a_crash():
    value = b"\x04\x0e" + pfxgen.VALID_CNPJ.encode()
    for _ in range(40):
        value = pfx._der(0x24, value)
    assert pfx._decode_der_string(value) is None
    frames, frame = 0, sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 12)
    try:
        assert pfx._decode_der_string(pfx._der(0x24, pfx._der(0x24, pfx._der(0x24, pfx._der(0x24, value))))) is None
    finally:
        sys.setrecursionlimit(limit)


# -- small rules the mutation run showed unpinned -----------------------------------------------------


def test_brazil_zone_and_its_fallback_without_tzdata(monkeypatch):
    assert pfx._brazil_zone().key == "America/Sao_Paulo"

    def missing(key):
        raise pfx.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(pfx, "ZoneInfo", missing)
    zone = pfx._brazil_zone()
    assert zone.utcoffset(None) == timedelta(hours=-3) and zone.tzname(None) == "BRT"


def test_indefinite_length_on_a_primitive_element_is_refused():
    with pytest.raises(ValueError, match="^indefinite length on a primitive element$"):
        pfx._read_tlv(b"\x04\x80ab\x00\x00", 0)


def test_mac_check_bounds_and_unknown_digests():
    salt, content = b"salt5678", b"conteudo"
    secret = "senha".encode("utf-16-be") + b"\0\0"

    def mac(iterations, digest_oid="1.3.14.3.2.26"):
        key = pfx._pkcs12_kdf("sha1", secret, salt, 3, max(iterations, 1))
        return pfx._MacData(digest_oid, hmac.new(key, content, "sha1").digest(), salt, iterations, content)

    assert pfx._verify_mac(mac(1), "senha") is True
    assert pfx._verify_mac(mac(1), "outra") is False
    assert pfx._verify_mac(mac(0), "senha") is None
    assert pfx._verify_mac(mac(pfx._MAX_MAC_ITERATIONS + 1), "senha") is None
    assert pfx._verify_mac(mac(2, digest_oid="1.2.3.4"), "senha") is None


def test_password_encodings():
    assert pfx._password_encodings("é") == ["é".encode("utf-16-be") + b"\0\0", b"\x00\xc3\x00\xa9\x00\x00"]
    assert pfx._password_encodings("") == [b"\0\0", b""]
    assert pfx._password_encodings("abc") == ["abc".encode("utf-16-be") + b"\0\0"]


def test_without_a_mac_the_error_text_decides():
    assert pfx._classify_load_failure("x", None, ValueError("Invalid password or PKCS12 data")) == (
        ErrorCode.WRONG_PASSWORD)
    assert pfx._classify_load_failure("x", None, ValueError("ParseError")) == ErrorCode.UNSUPPORTED_ENCODING


def test_cnpj_after_the_last_colon_of_the_common_name():
    cert = pfxgen.make_certificate(f"EMPRESA: FILIAL SUL:{pfxgen.VALID_CNPJ}")
    assert pfx.extract_cnpj(cert) == pfxgen.VALID_CNPJ


# -- certificates whose extensions cryptography cannot read -------------------------------------------


def written_twice(extensions: list[bytes]) -> list[bytes]:
    return [*extensions, extensions[0]]


def garbled_basic_constraints(extensions: list[bytes]) -> list[bytes]:
    """basicConstraints whose value is a NULL instead of a SEQUENCE."""
    basic = pfxgen.der_tlv(0x06, bytes.fromhex("551d13"))
    return [pfxgen.der_tlv(0x30, basic + pfxgen.der_tlv(0x04, b"\x05\x00")) if basic in extension else extension
            for extension in extensions]


@pytest.mark.parametrize("rewrite", [written_twice, garbled_basic_constraints])
def test_a_holder_certificate_with_unreadable_extensions_is_an_encoding_problem(rewrite):
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}")
    data = pfxgen.make_pfx(pfxgen.rsa_key(), x509.load_der_x509_certificate(pfxgen.with_extensions(cert, rewrite)))

    assert refusal(data).code == ErrorCode.UNSUPPORTED_ENCODING  # re-export it, not a crash


@pytest.mark.parametrize("rewrite", [written_twice, garbled_basic_constraints])
def test_another_keys_certificate_with_unreadable_extensions_is_a_key_mismatch(rewrite):
    # It cannot be told to be a CA, so it is taken for the holder's certificate, and it is not the key's.
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}", key=pfxgen.rsa_key(pfxgen.KEY_STRANGER))
    unreadable = x509.load_der_x509_certificate(pfxgen.with_extensions(cert, rewrite))
    data = pfxgen.make_pfx(pfxgen.rsa_key(), None, extra_certs=[unreadable])

    assert refusal(data).code == ErrorCode.KEY_MISMATCH


# -- the DER writer and reader the repair relies on ----------------------------------------------------


@pytest.mark.parametrize(("size", "header"), [
    (0, "0400"), (127, "047f"), (128, "048180"), (255, "0481ff"), (256, "04820100"), (65535, "0482ffff"),
    (65536, "0483010000"),
])
def test_der_lengths_short_and_long_form(size, header):
    content = bytes(range(256)) * (size // 256) + bytes(range(size % 256))

    encoded = pfx._der(0x04, content)

    assert encoded == bytes.fromhex(header) + content
    tlv, end = pfx._read_tlv(encoded, 0)
    assert (pfx._header_size(tlv), end, tlv.content) == (len(header) // 2, len(encoded), content)
    assert pfx._whole(tlv) == encoded


def test_basic_constraints_keep_their_path_length_when_ca_false_is_dropped():
    oid = pfxgen.der_tlv(0x06, bytes.fromhex("551d13"))
    path_length = pfxgen.der_tlv(0x02, b"\x00")
    spelled_out = pfxgen.der_tlv(0x30, oid + pfxgen.der_tlv(0x04, pfxgen.der_tlv(0x30, b"\x01\x01\x00" + path_length)))

    repaired = pfx._extension_without_false(pfx._read_tlv(spelled_out, 0)[0])

    assert repaired == pfxgen.der_tlv(0x30, oid + pfxgen.der_tlv(0x04, pfxgen.der_tlv(0x30, path_length)))


def test_a_key_derivation_other_than_pbkdf2_is_refused():
    scrypt = pfxgen.der_oid("1.3.6.1.4.1.11591.4.11")
    parameters = pfxgen.der_tlv(0x30, pfxgen.der_tlv(0x04, b"salt") + b"\x02\x02\x40\x00\x02\x01\x08\x02\x01\x01")
    aes = pfxgen.der_tlv(0x30, pfxgen.der_oid("2.16.840.1.101.3.4.1.42") + pfxgen.der_tlv(0x04, bytes(16)))
    algorithm = pfxgen.der_tlv(0x30, pfxgen.der_oid("1.2.840.113549.1.5.13") + pfxgen.der_tlv(
        0x30, pfxgen.der_tlv(0x30, scrypt + parameters) + aes))

    with pytest.raises(ValueError, match="^unsupported key derivation$"):
        pfx._decrypt(pfx._read_tlv(algorithm, 0)[0], bytes(16), pfxgen.PASSWORD)


def test_public_key_integrity_mode_is_not_read_by_us():
    # RFC 7292 public-key integrity: the authSafe is signedData, not data; we only read password mode.
    version, auth_safe, mac_data = pfxgen.der_children(pfxgen.ecnpj_pfx())
    _, content = pfxgen.der_children(pfxgen.der_tlv(*auth_safe))
    signed = pfxgen.der_tlv(0x30, pfxgen.der_oid("1.2.840.113549.1.7.2") + pfxgen.der_tlv(*content))
    data = pfxgen.der_tlv(0x30, pfxgen.der_tlv(*version) + signed + pfxgen.der_tlv(*mac_data))

    with pytest.raises(ValueError, match="^public-key integrity mode$"):
        pfx._read_bags(data, pfxgen.PASSWORD)
    assert pfx._load_leniently(data, pfxgen.PASSWORD) is None
    assert pfx._parse_pfx(data) is None  # its integrity is a signature, not a MAC we could check


def test_encrypted_bags_with_unprotected_attributes_are_read():
    _, der = pfxgen.explicit_false_pfx()
    data = pfxgen.pfx_from_der(pfxgen.rsa_key(), [der], unprotected_attrs=True)

    assert inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ


def test_enveloped_bags_are_not_read_by_us():
    # envelopedData needs the recipient's private key, which a PFX upload never comes with.
    enveloped = pfxgen.der_tlv(0x30, pfxgen.der_oid("1.2.840.113549.1.7.3") + pfxgen.der_tlv(0xA0, pfxgen.der_tlv(
        0x30, b"")))
    auth_safe = pfxgen.der_tlv(0x30, pfxgen.der_oid("1.2.840.113549.1.7.1") + pfxgen.der_tlv(0xA0, pfxgen.der_tlv(
        0x04, pfxgen.der_tlv(0x30, enveloped))))
    data = pfxgen.der_tlv(0x30, b"\x02\x01\x03" + auth_safe)

    with pytest.raises(ValueError, match="^enveloped bags$"):
        pfx._read_bags(data, pfxgen.PASSWORD)


@pytest.mark.parametrize("null_password_mac", [False, True], ids=["empty-bmp-password", "no-password-at-all"])
def test_an_empty_password_opens_a_file_cryptography_refuses(null_password_mac):
    # Exporters MAC an empty password either as an empty BMPString or as no bytes at all; OpenSSL tries both.
    data = pfxgen.unparseable_pfx(password="", null_password_mac=null_password_mac)

    assert inspect_pfx(data, "", expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ
    assert refusal(data, "x").code == ErrorCode.WRONG_PASSWORD


def test_a_certificate_without_a_common_name_has_an_empty_one():
    # The CNPJ is in the otherName; the subject names only the organisation.
    subject = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, pfxgen.COMPANY)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(pfxgen.issuing_ca().subject)
            .public_key(pfxgen.rsa_key().public_key()).serial_number(7).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ)), critical=False)
            .sign(pfxgen.rsa_key(pfxgen.KEY_CA), hashes.SHA256()))

    info = inspect_pfx(pfxgen.pfx_for(cert), pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ)

    assert (info.common_name, info.subject, info.cnpj) == ("", f"O={pfxgen.COMPANY}", pfxgen.VALID_CNPJ)


def test_the_iteration_limit_itself_is_allowed(monkeypatch):
    # The files here use 2048 iterations: made the limit, they are still read and their MAC checked.
    monkeypatch.setattr(pfx, "_MAX_MAC_ITERATIONS", 2048)
    data = pfxgen.unparseable_pfx()  # cryptography refuses it: the MAC decides, then our reader opens it
    mac = pfx._parse_pfx(data)

    assert mac.iterations == 2048
    assert pfx._verify_mac(mac, pfxgen.PASSWORD) is True
    assert inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ
    monkeypatch.setattr(pfx, "_MAX_MAC_ITERATIONS", 2047)
    assert pfx._verify_mac(mac, pfxgen.PASSWORD) is None
    assert refusal(data).code == ErrorCode.UNSUPPORTED_ENCODING


@pytest.mark.parametrize(
    ("hash_name", "purpose", "length", "expected"),
    [
        ("sha1", 1, 24, "A755E746FF79FEADA0EF8A3A30D206D197DCA6B5F75B6AAE"),
        ("sha1", 2, 8, "AF2605E82215A63C"),
        ("sha1", 1, 40, "A755E746FF79FEADA0EF8A3A30D206D197DCA6B5F75B6AAE5CFED40CCC65EAC5D1CE90EC9EE7AE88"),
        ("sha256", 3, 32, "023D9DA41ADFD12B87EFA0957422E9DE61EA9C5BEDD78D3E7DD2873045CCCAD1"),
    ],
)
def test_pkcs12_kdf_agrees_with_openssl_where_the_blocks_carry(hash_name, purpose, length, expected):
    """From ``openssl kdf -keylen LENGTH -kdfopt digest:HASH -kdfopt hexpass:ac00b098b2e40000
    -kdfopt hexsalt:C0FFEE0123456789 -kdfopt iter:2048 -kdfopt id:PURPOSE PKCS12KDF`` (OpenSSL 3.0).

    With this salt and password, adding the first digest to the text's blocks overflows both of them
    (sums are taken modulo 2**512); the 40-byte key is exactly two SHA-1 digests."""
    secret = "가나다".encode("utf-16-be") + b"\0\0"
    assert secret.hex() == "ac00b098b2e40000"

    key = pfx._pkcs12_kdf(hash_name, secret, bytes.fromhex("C0FFEE0123456789"), purpose, 2048, length)

    assert key.hex().upper() == expected


def test_a_certificate_with_a_public_key_of_unknown_type_does_not_match_the_key():
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}",
                                   other_names=pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ))
    rsa_encryption = bytes.fromhex("06092a864886f70d010101")
    der = cert.public_bytes(serialization.Encoding.DER)
    assert der.count(rsa_encryption) == 1  # in the subjectPublicKeyInfo only
    unknown = der.replace(rsa_encryption, bytes.fromhex("06092a864886f70d010163"))  # 1.2.840.113549.1.1.99

    assert refusal(pfxgen.pfx_from_der(pfxgen.rsa_key(), [unknown])).code == ErrorCode.KEY_MISMATCH


@pytest.mark.parametrize(("max_bytes", "limit"), [(1023, "1023 bytes"), (1024, "1 KB"), (2047, "1 KB"), (2048, "2 KB")])
def test_the_size_limit_is_said_in_bytes_below_a_kilobyte(max_bytes, limit):
    error = refusal(b"\x30" * (max_bytes + 1), max_bytes=max_bytes)

    assert (error.code, error.message) == (ErrorCode.TOO_LARGE, f"O arquivo excede o tamanho máximo de {limit}.")


def test_a_mac_without_an_iteration_count_uses_its_default_of_one():
    data = pfxgen.unparseable_pfx(default_mac_iterations=True)

    assert pfx._parse_pfx(data).iterations == 1
    assert inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ
    assert refusal(data, "senha errada").code == ErrorCode.WRONG_PASSWORD


def test_a_pfx_without_a_mac_is_read():
    version, auth_safe, _ = pfxgen.der_children(pfxgen.ecnpj_pfx())
    data = pfxgen.der_tlv(0x30, pfxgen.der_tlv(*version) + pfxgen.der_tlv(*auth_safe))  # openssl pkcs12 -nomac

    assert pfx._parse_pfx(data) is None
    assert inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ).cnpj == pfxgen.VALID_CNPJ
    assert refusal(data, "senha errada").code == ErrorCode.WRONG_PASSWORD


def test_an_auth_safe_without_content_gives_a_verdict():
    version, _, mac_data = pfxgen.der_children(pfxgen.ecnpj_pfx())
    empty = pfxgen.der_tlv(0x30, pfxgen.der_oid("1.2.840.113549.1.7.1"))  # ContentInfo with no [0] content
    data = pfxgen.der_tlv(0x30, pfxgen.der_tlv(*version) + empty + pfxgen.der_tlv(*mac_data))

    assert pfx._parse_pfx(data) is None
    assert refusal(data).code in set(ErrorCode)


# -- why the outer-structure reader refuses what it refuses ---------------------------------------------


@pytest.mark.parametrize(("der", "reason"), [
    ("3100", "not a SEQUENCE"),
    ("3006020102300100", "not a PFX v3"),  # version 2
    ("30050201030400", "not a PFX v3"),  # authSafe not a ContentInfo
    ("3008020103300302017f", "ContentInfo without a content type"),
    ("3005040103 3000".replace(" ", ""), "not an INTEGER"),  # the version is not an INTEGER
    ("30040200 3000".replace(" ", ""), "not an INTEGER"),  # an INTEGER without content
    ("30", "truncated"),
    ("3005020103", "truncated"),  # the PFX is longer than the file
    ("1f00", "high tag numbers do not occur here"),
    ("30850000000003", "bad length"),  # a length in 5 bytes
    ("308201", "bad length"),  # length bytes missing
    ("3003020201050000", "child overruns its parent"),
])
def test_the_outer_structure_is_refused_for_its_reason(der, reason):
    with pytest.raises(ValueError, match=f"^{reason}$"):
        pfx._parse_pfx(bytes.fromhex(der))


@pytest.mark.parametrize("raw", ["", "2a86"], ids=["empty", "last-arc-cut-short"])
def test_a_bad_object_identifier_is_refused(raw):
    with pytest.raises(ValueError, match="^bad OID$"):
        pfx._decode_oid(bytes.fromhex(raw))


@pytest.mark.parametrize(("der", "end"), [("3000", 2), ("308100", 3), ("308400000000", 6), ("3081020500", 5)])
def test_definite_lengths_up_to_four_bytes_are_read(der, end):
    tlv, after = pfx._read_tlv(bytes.fromhex(der), 0)

    assert (tlv.tag, after, tlv.end) == (0x30, end, end)


def test_integers_are_signed():
    assert pfx._integer(pfx._read_tlv(bytes.fromhex("0201ff"), 0)[0]) == -1
    assert pfx._integer(pfx._read_tlv(bytes.fromhex("02020800"), 0)[0]) == 2048
    with pytest.raises(ValueError, match="^iteration count out of range$"):
        pfx._iterations(pfx._read_tlv(bytes.fromhex("0202f800"), 0)[0])  # -2048, not 63488


@pytest.mark.parametrize(("raw", "dotted"), [
    ("2a864886f70d010c0a0103", "1.2.840.113549.1.12.10.1.3"), ("608648016503040201", "2.16.840.1.101.3.4.2.1"),
    ("00", "0.0"), ("27", "0.39"), ("28", "1.0"), ("4f", "1.39"), ("50", "2.0"), ("8837", "2.999"),
    ("88370a", "2.999.10"),
])
def test_object_identifiers_are_decoded(raw, dotted):
    assert pfx._decode_oid(bytes.fromhex(raw)) == dotted


def test_another_keys_certificate_without_basic_constraints_is_a_key_mismatch():
    # No basicConstraints: not a CA, so taken for the holder's certificate, and it is not the key's.
    basic = pfxgen.der_tlv(0x06, bytes.fromhex("551d13"))
    cert = pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}", key=pfxgen.rsa_key(pfxgen.KEY_STRANGER),
                                   other_names=pfxgen.ecnpj_other_names(pfxgen.VALID_CNPJ))
    plain = x509.load_der_x509_certificate(pfxgen.with_extensions(
        cert, lambda extensions: [extension for extension in extensions if basic not in extension]))
    assert [extension.oid for extension in plain.extensions] == [x509.ExtensionOID.SUBJECT_ALTERNATIVE_NAME]

    assert refusal(pfxgen.make_pfx(pfxgen.rsa_key(), None, extra_certs=[plain])).code == ErrorCode.KEY_MISMATCH


def test_the_nesting_bound_counts_from_the_outer_element():
    # The outer element is level 0, its children level 1, ..., and level 16 is the deepest read.
    assert len(pfx._read_tlv(pfx._der(0x30, nested(16)), 0)[0].children()) == 1
    with pytest.raises(ValueError, match="^nested too deep$"):
        pfx._read_tlv(pfx._der(0x30, nested(17)), 0)[0].children()
