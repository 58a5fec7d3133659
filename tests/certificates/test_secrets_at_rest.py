"""Secrets at rest: the database holds no plaintext PFX, PFX password or integration key (every
table's raw rows are searched for the bytes, base64 and hex of each); the master key can rotate
(``flask certificates rewrap`` / ``flask keys rotate``) and the local key file is private."""

import base64
import io
import logging
import os
import stat

import pfxgen
import pytest
from certhelpers import bearer, store_certificate  # noqa: I001 - tests/certificates/certhelpers.py
from sqlalchemy import inspect, select, text

from certificates import services
from certificates.models import Certificate, IntegrationKey
from core.crypto import KeyRing, generate_master_key, key_id_of
from core.keyring import KEY_FILE_NAME, add_local_key, load_or_create_local_keyring
from tests.factories import PASSWORD

PFX_PASSWORD = "Pfx-Senha-Ultra-Secreta-2026!"


def encodings(secret: bytes) -> dict[str, bytes]:
    """The secret as raw bytes, and the ways a careless layer would write it (base64, hex)."""
    forms = {
        "raw": secret,
        "base64": base64.b64encode(secret),
        "urlsafe base64": base64.urlsafe_b64encode(secret).rstrip(b"="),
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
    }
    if len(secret) > 200:  # a big blob: also look for a piece of it (e.g. the encrypted key bag)
        middle = len(secret) // 2
        piece = secret[middle : middle + 48]
        forms |= {"raw piece": piece, "hex piece": piece.hex().encode(),
                  "base64 piece": base64.b64encode(secret)[middle : middle + 64]}
    return forms


def raw_database(session) -> dict[str, bytes]:
    """Every table's rows as one byte string per table, read with plain SQL."""
    connection = session.connection()
    dumps = {}
    for table in inspect(connection).get_table_names():
        rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
        parts = []
        for row in rows:
            for value in row:
                if isinstance(value, memoryview):
                    value = value.tobytes()
                parts.append(value if isinstance(value, bytes) else str(value).encode("utf-8"))
        dumps[table] = b"\x00".join(parts)
    return dumps


def test_database_holds_no_plaintext_secrets(login_as, manager, ecnpj_client, partner_api, db, caplog):
    caplog.set_level(logging.DEBUG)
    http = login_as(manager)
    pfx = pfxgen.ecnpj_pfx(password=PFX_PASSWORD)
    form = {"file": (io.BytesIO(pfx), "a1.pfx"), "password": PFX_PASSWORD}
    assert http.post(f"/clientes/{ecnpj_client.id}/certificado", data=form).status_code == 302
    keys = []
    http.post(f"/clientes/{ecnpj_client.id}/chave-integracao/criar")  # the first key
    first = services.current_integration_key(ecnpj_client.id)
    keys.append(services.reveal_integration_key(first, manager, PASSWORD))
    revealed = http.post(f"/clientes/{ecnpj_client.id}/chave-integracao/revelar", data={"password": PASSWORD})
    assert keys[0] in revealed.get_data(as_text=True)
    panel = http.post(f"/clientes/{ecnpj_client.id}/chave-integracao/gerar", data={"grace_seconds": "3600"})
    keys.append(services.current_integration_key(ecnpj_client.id))
    keys[-1] = services.reveal_integration_key(keys[-1], manager, PASSWORD)
    assert keys[-1] in panel.get_data(as_text=True)
    api_client, headers = partner_api
    keys.append(api_client.post(f"/api/v1/clients/{ecnpj_client.id}/integration-key/rotate",
                                json={"grace_seconds": 86400}, headers=headers).get_json()["key"])
    fetched = api_client.get("/api/v1/integration/certificate", headers=bearer(keys[-1])).get_json()
    assert base64.b64decode(fetched["pfx_base64"]) == pfx and fetched["password"] == PFX_PASSWORD
    db.session.flush()

    secrets = {"pfx": pfx, "pfx password": PFX_PASSWORD.encode()}
    secrets |= {f"pfx password {enc}": PFX_PASSWORD.encode(enc) for enc in ("utf-16-le", "utf-16-be")}
    for i, key in enumerate(keys):
        secrets[f"key {i}"] = key.encode()
        secrets[f"key {i} random part"] = key.removeprefix("rvk_live_").encode()
    dumps = raw_database(db.session)
    assert {"certificates", "integration_keys", "audit_events", "outbox_emails"} <= set(dumps)
    found = [
        f"{name} ({form}) in {table}"
        for name, secret in secrets.items()
        for form, needle in encodings(secret).items()
        for table, dump in dumps.items()
        if needle in dump
    ]
    assert found == []

    # The search does see the stored data: hashes and metadata are there, and the blobs decrypt.
    assert services.hash_key(keys[-1]).encode() in dumps["integration_keys"]
    cert = services.active_certificate(ecnpj_client.id)
    assert cert.fingerprint_sha256.encode() in dumps["certificates"]
    assert services.decrypt_certificate(cert) == (pfx, PFX_PASSWORD)
    assert cert.pfx_encrypted[:40] in dumps["certificates"]
    # ...and nothing secret reached the logs either.
    assert PFX_PASSWORD not in caplog.text and not any(key in caplog.text for key in keys)


def test_blobs_are_bound_to_their_client(ecnpj_client, partner, plan, db):
    from core.crypto import DecryptionError
    from tests.factories import ClientFactory

    cert = store_certificate(ecnpj_client)
    other = ClientFactory(partner=partner, plan=plan)
    stolen = Certificate(client_id=other.id, pfx_encrypted=cert.pfx_encrypted,
                         password_encrypted=cert.password_encrypted)
    with pytest.raises(DecryptionError):
        services.decrypt_certificate(stolen)


# -- master-key rotation ---------------------------------------------------------------------------------


def _seed(ecnpj_client):
    cert = store_certificate(ecnpj_client, password=PFX_PASSWORD)
    first = services.rotate_integration_key(ecnpj_client, 3600).plaintext
    second = services.rotate_integration_key(ecnpj_client, 3600).plaintext
    return cert, [first, second]


def _under_only(ring: KeyRing, ecnpj_client, cert, keys, pfx_before):
    """Every blob is wrapped by ``ring``'s active key and decrypts with it alone."""
    rows = list(select_all(IntegrationKey))
    assert {r.key_id for r in rows} == {ring.active_key_id} == {key_id_of(r.key_encrypted) for r in rows}
    assert cert.key_id == key_id_of(cert.pfx_encrypted) == key_id_of(cert.password_encrypted) == ring.active_key_id
    aad = f"client:{ecnpj_client.id}:"
    assert ring.decrypt(cert.pfx_encrypted, aad=(aad + "pfx").encode()) == pfx_before
    assert ring.decrypt(cert.password_encrypted, aad=(aad + "pfx-password").encode()) == PFX_PASSWORD.encode()
    revealed = {ring.decrypt(r.key_encrypted, aad=(aad + "integration-key").encode()).decode() for r in rows}
    assert set(keys) <= revealed


def select_all(model):
    from core.db import db as _db

    _db.session.expire_all()
    return _db.session.scalars(select(model).order_by(model.id)).all()


def test_rewrap_cli_moves_every_blob_to_the_new_key(app, ecnpj_client, db, monkeypatch):
    cert, keys = _seed(ecnpj_client)
    pfx_before, _password = services.decrypt_certificate(cert)
    db.session.commit()
    old_entry = app.config["MASTER_KEYS"]
    new_entry = f"t2:{generate_master_key()}"
    monkeypatch.setitem(app.config, "MASTER_KEYS", f"{old_entry},{new_entry}")
    monkeypatch.setitem(app.config, "MASTER_KEY_ACTIVE", "t2")

    result = app.test_cli_runner().invoke(args=["certificates", "rewrap", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "Chave mestra ativa: t2" in result.output
    assert "certificates: 1/1" in result.output
    assert "integration_keys: 1/2" in result.output and "integration_keys: 2/2" in result.output
    assert "Pronto" in result.output
    assert new_entry.split(":")[1] not in result.output
    only_new = KeyRing.from_config(new_entry)
    _under_only(only_new, ecnpj_client, select_all(Certificate)[0], keys, pfx_before)

    blobs = [r.key_encrypted for r in select_all(IntegrationKey)]
    again = app.test_cli_runner().invoke(args=["certificates", "rewrap"])
    assert again.exit_code == 0 and "certificates: 0 registro(s)" in again.output
    assert [r.key_encrypted for r in select_all(IntegrationKey)] == blobs  # idempotent: untouched

    # Old key dropped from the configuration: the app still reads everything.
    monkeypatch.setitem(app.config, "MASTER_KEYS", new_entry)
    assert services.decrypt_certificate(select_all(Certificate)[0]) == (pfx_before, PFX_PASSWORD)


def test_rewrap_without_the_old_key_fails_clearly(app, ecnpj_client, db, monkeypatch):
    _seed(ecnpj_client)
    db.session.commit()
    monkeypatch.setitem(app.config, "MASTER_KEYS", f"t9:{generate_master_key()}")
    result = app.test_cli_runner().invoke(args=["certificates", "rewrap"])
    assert result.exit_code != 0
    assert "a chave mestra antiga ainda precisa estar em MASTER_KEYS" in result.output


def test_keys_rotate_refuses_configured_keys(app):
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code != 0 and "flask certificates rewrap" in result.output


def test_keys_rotate_with_the_local_key_file(app, ecnpj_client, db, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MASTER_KEYS", "")
    monkeypatch.setitem(app.config, "MASTER_KEY_ACTIVE", None)
    monkeypatch.setitem(app.config, "INSTANCE_PATH", str(tmp_path))
    cert, keys = _seed(ecnpj_client)  # the key file is created on first use (local1)
    pfx_before, _password = services.decrypt_certificate(cert)
    db.session.commit()
    assert cert.key_id == "local1"

    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Nova chave mestra local2" in result.output and "Pronto" in result.output
    key_file = tmp_path / KEY_FILE_NAME
    entries = [line for line in key_file.read_text().splitlines() if line and not line.startswith("#")]
    assert [e.split(":")[0] for e in entries] == ["local1", "local2"]
    assert all(e.split(":")[1] not in result.output for e in entries)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    only_new = KeyRing.from_config(entries[1])
    _under_only(only_new, ecnpj_client, select_all(Certificate)[0], keys, pfx_before)


def test_local_key_file_is_created_private_and_logged_without_the_key(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "instance" / KEY_FILE_NAME
    ring = load_or_create_local_keyring(path)
    assert ring.key_ids == ("local1",) and ring.active_key_id == "local1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key_text = path.read_text().splitlines()[-1].split(":", 1)[1]
    assert "generated a new master key (id local1)" in caplog.text and str(path) in caplog.text
    assert key_text not in caplog.text
    assert load_or_create_local_keyring(path) is ring  # cached while the file is unchanged
    blob = ring.encrypt(b"segredo")
    assert add_local_key(path) == "local2"
    reloaded = load_or_create_local_keyring(path)
    assert reloaded.active_key_id == "local2" and reloaded.decrypt(blob) == b"segredo"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
