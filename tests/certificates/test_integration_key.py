"""Integration keys: created lazily, shown masked, revealed with the password, rotated with or
without a grace period (the old key stops exactly when it should), e-mailed and audited."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from certhelpers import bearer, count  # noqa: I001 - tests/certificates/certhelpers.py
from sqlalchemy import select

from certificates import services
from certificates.models import IntegrationKey
from core.audit import AuditEvent
from core.db import db as _db
from tests.factories import PASSWORD

KEY_RE = re.compile(r"rvk_live_[A-Za-z0-9_-]{43}")
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
#: T0 + 1 day as Brasília shows it (UTC-3, no daylight saving time since 2019)
T0_PLUS_1_DAY = f"{T0 + timedelta(days=1, hours=-3):%d/%m/%Y %H:%M}"


def me(http, key):
    return http.get("/api/v1/integration/me", headers=bearer(key))


def audit_actions(client_id) -> list[str]:
    return list(_db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.client_id == client_id).order_by(AuditEvent.id)
    ))


def key_tab(http, client_id) -> str:
    return http.get(f"/clientes/{client_id}?tab=chave-integracao").get_data(as_text=True)


# -- creation and display ---------------------------------------------------------------------------------


def test_first_view_of_the_tab_creates_the_key_once(login_as, manager, client_row):
    assert services.current_integration_key(client_row.id) is None
    http = login_as(manager)
    first = key_tab(http, client_row.id)
    key = services.current_integration_key(client_row.id)
    assert key is not None and key.created_by_id == manager.id
    assert key_tab(http, client_row.id) and count(IntegrationKey) == 1
    assert key.masked in first and key.last4 in first
    assert audit_actions(client_row.id) == ["integration_key.created"]
    plaintext = services.reveal_integration_key(key, manager, PASSWORD)
    assert KEY_RE.fullmatch(plaintext)
    assert plaintext not in first  # masked only
    for label in ("Revelar", "Gerar nova chave", "Nenhum", "1 hora", "24 horas", "7 dias", "data-confirm",
                  "para de funcionar"):
        assert label in first


def test_keys_are_random_256_bit_with_a_prefix(client_row):
    keys = {services.rotate_integration_key(client_row, 0).plaintext for _ in range(5)}
    assert len(keys) == 5
    for key in keys:
        assert KEY_RE.fullmatch(key)
        assert len(key.removeprefix("rvk_live_")) * 6 >= 256  # 43 base64url characters = 258 bits
    stored = _db.session.scalars(select(IntegrationKey)).all()
    assert {row.key_hash for row in stored} == {services.hash_key(k) for k in keys}
    assert sum(row.is_current for row in stored) == 1


# -- reveal ----------------------------------------------------------------------------------------------


def test_reveal_needs_the_password_and_is_audited(login_as, manager, client_row, db):
    key = services.ensure_integration_key(client_row)
    db.session.commit()
    plaintext = services.reveal_integration_key(key, manager, PASSWORD)
    db.session.rollback()  # only the plaintext was wanted here: drop this reveal's audit event
    http = login_as(manager)
    url = f"/clientes/{client_row.id}/chave-integracao/revelar"

    wrong = http.post(url, data={"password": "senha-errada"})
    assert wrong.status_code == 422
    assert "Senha incorreta." in wrong.get_data(as_text=True)
    assert plaintext not in wrong.get_data(as_text=True)
    assert "integration_key.revealed" not in audit_actions(client_row.id)

    right = http.post(url, data={"password": PASSWORD})
    assert right.status_code == 200
    assert right.headers["Cache-Control"] == "no-store"
    html = right.get_data(as_text=True)
    assert f'value="{plaintext}"' in html and 'data-copy="#integration-key-value"' in html
    event_ = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "integration_key.revealed"))
    assert event_.actor_id == manager.id and event_.client_id == client_row.id
    assert plaintext not in repr((event_.before, event_.after))


def test_reveal_attempts_are_rate_limited(login_as, manager, client_row, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    db.session.commit()
    http = login_as(manager)
    url = f"/clientes/{client_row.id}/chave-integracao/revelar"
    statuses = [http.post(url, data={"password": "errada"}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


# -- rotation in the panel ---------------------------------------------------------------------------------


def test_rotate_in_the_panel_shows_the_new_key_once_and_emails_the_client(
    login_as, manager, client_row, db, inbox, deliver_mail
):
    old = services.ensure_integration_key(client_row)
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        response = login_as(manager).post(f"/clientes/{client_row.id}/chave-integracao/gerar",
                                          data={"grace_seconds": "86400"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new_plain = KEY_RE.search(response.get_data(as_text=True)).group(0)
    new = services.current_integration_key(client_row.id)
    assert new.key_hash == services.hash_key(new_plain) and new.id != old.id
    _db.session.refresh(old)
    assert old.expires_at == T0 + timedelta(days=1)
    assert f"continua funcionando até {T0_PLUS_1_DAY}" in response.get_data(as_text=True)

    deliver_mail()
    (mail,) = inbox.wait_for(1)
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == client_row.email
    assert "chave de integração" in mail["Subject"]
    assert f"continua funcionando até {T0_PLUS_1_DAY}" in body
    assert new_plain not in mail.as_string() and "rvk_live_" not in mail.as_string()
    rotated = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "integration_key.rotated"))
    assert rotated.actor_id == manager.id and rotated.after["grace_seconds"] == 86400
    assert new_plain not in repr((rotated.before, rotated.after))


@pytest.mark.parametrize("grace", ["", "60", "abc", "-1", "604801"])
def test_rotate_refuses_other_grace_periods(grace, login_as, manager, client_row, db):
    key = services.ensure_integration_key(client_row)
    db.session.commit()
    response = login_as(manager).post(f"/clientes/{client_row.id}/chave-integracao/gerar", data={"grace_seconds": grace})
    assert response.status_code == 422
    assert "Escolha um período de carência válido" in response.get_data(as_text=True)
    assert services.current_integration_key(client_row.id).id == key.id
    assert count(IntegrationKey) == 1


# -- rotation, with time travel: the old key stops exactly at the end of its grace ----------------------------


@pytest.mark.parametrize("grace", [0, 3600, 86400, 604800])
def test_old_key_stops_exactly_when_its_grace_ends(grace, client, integration_key, db):
    row, old_key = integration_key
    with time_machine.travel(T0, tick=False):
        new_key = services.rotate_integration_key(row, grace).plaintext
        db.session.commit()
        assert me(client, new_key).status_code == 200
        assert me(client, old_key).status_code == (200 if grace else 401)
    if grace:
        with time_machine.travel(T0 + timedelta(seconds=grace - 1), tick=False):
            assert me(client, old_key).status_code == 200
    with time_machine.travel(T0 + timedelta(seconds=grace), tick=False):
        assert me(client, old_key).status_code == 401
    with time_machine.travel(T0 + timedelta(seconds=grace + 1), tick=False):
        assert me(client, old_key).status_code == 401
        assert me(client, new_key).status_code == 200


def test_a_second_rotation_never_extends_an_older_grace(client, integration_key, db):
    row, first = integration_key
    with time_machine.travel(T0, tick=False):
        second = services.rotate_integration_key(row, 604800).plaintext
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        third = services.rotate_integration_key(row, 0).plaintext
        db.session.commit()
        assert [me(client, k).status_code for k in (first, second, third)] == [401, 401, 200]


def test_ending_a_grace_period_early_revokes_the_old_key(login_as, manager, integration_key, db):
    row, old_key = integration_key
    services.rotate_integration_key(row, 86400)
    db.session.commit()
    http = login_as(manager)
    assert me(http, old_key).status_code == 200
    old = _db.session.scalar(select(IntegrationKey).where(IntegrationKey.key_hash == services.hash_key(old_key)))
    assert "Encerrar agora" in key_tab(http, row.id)
    response = http.post(f"/clientes/{row.id}/chave-integracao/{old.id}/encerrar")
    assert response.status_code == 302
    assert me(http, old_key).status_code == 401
    assert "integration_key.revoked" in audit_actions(row.id)
    current = services.current_integration_key(row.id)
    http.post(f"/clientes/{row.id}/chave-integracao/{current.id}/encerrar")  # the current key cannot be ended
    assert services.current_integration_key(row.id).id == current.id


# -- partner API ---------------------------------------------------------------------------------------------


def test_api_get_of_a_client_without_key_reads_only(partner_api, ecnpj_client):
    """A GET never writes (on SQLite a GET's transaction cannot take the write lock): no key yet is null."""
    http, headers = partner_api
    response = http.get(f"/api/v1/clients/{ecnpj_client.id}/integration-key", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"current": None, "in_grace": []}
    assert services.current_integration_key(ecnpj_client.id) is None and count(IntegrationKey) == 0
    assert audit_actions(ecnpj_client.id) == []


def test_api_rotate_returns_the_key_once(partner_api, ecnpj_client, db, inbox, deliver_mail):
    http, headers = partner_api
    base = f"/api/v1/clients/{ecnpj_client.id}/integration-key"
    services.ensure_integration_key(ecnpj_client)  # the first key, as the panel issues it
    _db.session.commit()
    before = http.get(base, headers=headers).get_json()
    assert before["current"]["masked"].startswith("rvk_live_") and before["in_grace"] == []
    with time_machine.travel(T0, tick=False):
        response = http.post(f"{base}/rotate", json={"grace_seconds": 3600}, headers=headers)
        after = http.get(base, headers=headers).get_json()
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert KEY_RE.fullmatch(body["key"]) and body["last4"] == body["key"][-4:]
    assert body["grace_seconds"] == 3600
    assert body["previous_key_expires_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert body["key"] not in repr(after)
    assert after["current"]["last4"] == body["last4"] and len(after["in_grace"]) == 1
    deliver_mail()
    assert len(inbox.wait_for(1)) == 1 and inbox.messages[0]["To"] == ecnpj_client.email


def test_api_rotate_without_body_means_no_grace(partner_api, integration_key):
    http, headers = partner_api
    row, old_key = integration_key
    response = http.post(f"/api/v1/clients/{row.id}/integration-key/rotate", headers=headers)
    assert response.status_code == 201 and response.get_json()["grace_seconds"] == 0
    assert me(http, old_key).status_code == 401
    assert me(http, response.get_json()["key"]).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"grace_seconds": 60}, "grace_seconds"),
    ({"grace_seconds": "3600"}, "grace_seconds"),
    ({"grace_seconds": True}, "grace_seconds"),
    ({"grace_seconds": 0, "key": "rvk_live_x"}, "key"),
])
def test_api_rotate_validates(body, field, partner_api, integration_key):
    http, headers = partner_api
    row, old_key = integration_key
    response = http.post(f"/api/v1/clients/{row.id}/integration-key/rotate", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert me(http, old_key).status_code == 200  # nothing changed
