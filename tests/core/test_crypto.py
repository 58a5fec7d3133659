"""Envelope encryption: round trips, authentication failures, key rotation, configuration errors."""

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto import (
    CryptoError,
    DecryptionError,
    KeyRing,
    generate_master_key,
    key_id_of,
)

# Fixed test keys keep test ids stable between runs (and between xdist workers).
K1 = base64.urlsafe_b64encode(bytes(range(32))).decode()
K2 = base64.urlsafe_b64encode(bytes(range(32, 64))).decode()
SECRET = b"senha-do-certificado-A1: correct horse battery staple"


def ring(config: str, active: str | None = None) -> KeyRing:
    return KeyRing.from_config(config, active)


@pytest.fixture
def k1_ring() -> KeyRing:
    return ring(f"k1:{K1}")


def test_round_trip(k1_ring):
    blob = k1_ring.encrypt(SECRET)

    assert k1_ring.decrypt(blob) == SECRET
    assert key_id_of(blob) == "k1"
    assert k1_ring.key_id_of(blob) == "k1"


@settings(max_examples=50, database=None)
@given(plaintext=st.binary(max_size=4096), aad=st.binary(max_size=64))
def test_round_trip_any_bytes(plaintext, aad):
    keys = ring(f"k1:{K1}")

    assert keys.decrypt(keys.encrypt(plaintext, aad=aad), aad=aad) == plaintext


def test_each_encryption_is_different(k1_ring):
    assert k1_ring.encrypt(SECRET) != k1_ring.encrypt(SECRET)


def test_blob_does_not_contain_the_plaintext(k1_ring):
    blob = k1_ring.encrypt(SECRET)

    assert SECRET not in blob
    assert SECRET[:8] not in blob
    assert base64.b64encode(SECRET)[:12] not in blob


def test_aad_mismatch_fails(k1_ring):
    blob = k1_ring.encrypt(SECRET, aad=b"client:1:certificate")

    assert k1_ring.decrypt(blob, aad=b"client:1:certificate") == SECRET
    with pytest.raises(DecryptionError):
        k1_ring.decrypt(blob, aad=b"client:2:certificate")
    with pytest.raises(DecryptionError):
        k1_ring.decrypt(blob)


def test_every_tampered_byte_is_detected(k1_ring):
    blob = k1_ring.encrypt(b"abc")

    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            k1_ring.decrypt(bytes(tampered))


@pytest.mark.parametrize("cut", [0, 1, 2, 5, 20, 60, 80, 100])
def test_truncated_blob_fails(k1_ring, cut):
    blob = k1_ring.encrypt(SECRET)

    with pytest.raises(DecryptionError):
        k1_ring.decrypt(blob[:cut])


def test_decryption_error_is_a_crypto_error(k1_ring):
    with pytest.raises(CryptoError):
        k1_ring.decrypt(b"\x02not a blob")


def test_unknown_key_id_fails(k1_ring):
    other = ring(f"k2:{K2}")

    with pytest.raises(DecryptionError, match="k2"):
        k1_ring.decrypt(other.encrypt(SECRET))


def test_same_id_with_another_key_fails(k1_ring):
    impostor = ring(f"k1:{K2}")

    with pytest.raises(DecryptionError):
        k1_ring.decrypt(impostor.encrypt(SECRET))


def test_rotation():
    old_blob = ring(f"k1:{K1}").encrypt(SECRET, aad=b"row:7")

    rotated = ring(f"k1:{K1},k2:{K2}")  # the last key listed becomes active
    assert rotated.active_key_id == "k2"
    assert rotated.decrypt(old_blob, aad=b"row:7") == SECRET

    new_blob = rotated.rewrap(old_blob)
    assert key_id_of(new_blob) == "k2"
    assert rotated.decrypt(new_blob, aad=b"row:7") == SECRET
    assert rotated.rewrap(new_blob) == new_blob

    k2_only = ring(f"k2:{K2}")
    assert k2_only.decrypt(new_blob, aad=b"row:7") == SECRET
    with pytest.raises(DecryptionError, match="unknown master key id 'k1'"):
        k2_only.decrypt(old_blob, aad=b"row:7")


def test_explicit_active_key():
    keys = ring(f"k1:{K1},k2:{K2}", active="k1")

    assert keys.active_key_id == "k1"
    assert key_id_of(keys.encrypt(SECRET)) == "k1"
    assert keys.key_ids == ("k1", "k2")


def test_rewrap_keeps_the_ciphertext():
    old_blob = ring(f"k1:{K1}").encrypt(SECRET)

    new_blob = ring(f"k1:{K1},k2:{K2}").rewrap(old_blob)

    assert new_blob[-40:] == old_blob[-40:]


def test_repr_does_not_show_keys():
    keys = ring(f"k1:{K1},k2:{K2}")

    assert "k1" in repr(keys)
    assert K1 not in repr(keys)
    assert K2 not in repr(keys)


def test_generated_master_key_is_32_random_bytes():
    first, second = generate_master_key(), generate_master_key()

    assert len(base64.urlsafe_b64decode(first)) == 32
    assert first != second
    assert ring(f"new:{first}").active_key_id == "new"


def test_config_accepts_spaces_and_missing_padding():
    keys = ring(f" k1 : {K1.rstrip('=')} , k2:{K2} ")

    assert keys.key_ids == ("k1", "k2")
    assert keys.decrypt(ring(f"k1:{K1}").encrypt(SECRET)) == SECRET


@pytest.mark.parametrize(
    ("config", "active", "message"),
    [
        ("", None, "no master keys configured"),
        ("   ", None, "no master keys configured"),
        (f"k1{K1}", None, "entry 1 has no ':'"),
        (f"k1:{K1},", None, "entry 2 is empty"),
        (f":{K1}", None, "entry 1 has an invalid id ''"),
        (f"k 1:{K1}", None, "invalid id 'k 1'"),
        ("k1:not*base64!", None, "master key 'k1' is not valid urlsafe base64"),
        (
            "k1:" + base64.urlsafe_b64encode(b"x" * 16).decode(),
            None,
            "decodes to 16 bytes",
        ),
        (f"k1:{K1},k1:{K2}", None, "'k1' is listed twice"),
        (f"k1:{K1}", "k9", "active master key id 'k9' is not among the keys"),
    ],
    ids=[
        "empty",
        "blank",
        "no-colon",
        "trailing-comma",
        "empty-id",
        "id-with-space",
        "bad-base64",
        "short-key",
        "duplicate-id",
        "unknown-active",
    ],
)
def test_bad_config_raises_value_error(config, active, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        ring(config, active)

    assert K1 not in str(excinfo.value)
    assert "not*base64" not in str(excinfo.value)


def test_constructor_checks_key_length():
    with pytest.raises(ValueError, match="exactly 32 bytes"):
        KeyRing({"k1": b"short"}, "k1")
