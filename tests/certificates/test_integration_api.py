"""The integration API the client's software calls: /me, /certificate, /ping; 401, 403, 429;
the OpenAPI document; and that authentication is one indexed query."""

import base64
import logging
from datetime import UTC, datetime, timedelta

import pfxgen
import pytest
import time_machine
from certhelpers import bearer, store_certificate  # noqa: I001 - tests/certificates/certhelpers.py
from sqlalchemy import select

from certificates import services
from certificates.models import IntegrationKey
from core.audit import AuditEvent
from core.db import db as _db
from partner.models import ContractStatus
from tests.sql import statements_sent

ME = "/api/v1/integration/me"
CERT = "/api/v1/integration/certificate"


def test_ping_needs_no_key(client):
    response = client.get("/api/v1/integration/ping")
    assert response.status_code == 200 and response.get_json() == {"ok": True}


def test_me_describes_the_client(client, integration_key, db):
    row, key = integration_key
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    store_certificate(row, not_after=not_after)
    db.session.commit()
    response = client.get(ME, headers=bearer(key))
    assert response.status_code == 200
    body = response.get_json()
    assert body["client"] == {"id": row.id, "legal_name": row.legal_name, "trade_name": row.trade_name,
                              "cnpj": row.cnpj}
    assert body["plan"] == {"id": row.plan.id, "name": row.plan.name,
                            "software": {"id": row.software.id, "name": row.software.name}}
    assert body["contract"] == {"status": "active"}
    assert body["certificate"]["status"] == "expiring"
    assert body["certificate"]["not_after"] == not_after.isoformat()
    assert body["certificate"]["days_left"] == 20
    assert "password" not in body["certificate"] and "pfx_base64" not in body["certificate"]


def test_me_without_certificate(client, integration_key):
    _row, key = integration_key
    assert client.get(ME, headers=bearer(key)).get_json()["certificate"]["status"] == "none"


def test_certificate_returns_the_pfx_and_password_and_is_audited(client, integration_key, db, caplog):
    row, key = integration_key
    password = "Senha-Do-PFX-Para-Assinar-93"
    data = pfxgen.ecnpj_pfx(row.cnpj, password=password)
    services.upload_certificate(row, data, password)
    db.session.commit()
    caplog.set_level(logging.DEBUG)
    response = client.get(CERT, headers=bearer(key))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert base64.b64decode(body["pfx_base64"]) == data
    assert body["password"] == password
    assert body["status"] == "valid" and body["cnpj"] == row.cnpj
    event_ = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.downloaded"))
    assert event_.client_id == row.id and event_.actor_label.startswith("integration:rvk_live_")
    assert event_.after["integration_key"] == f"…{key[-4:]}"
    stored = repr((event_.before, event_.after, event_.actor_label))
    assert password not in stored and key not in stored and body["pfx_base64"][:40] not in stored
    assert password not in caplog.text and key not in caplog.text


def test_certificate_404_when_none(client, integration_key):
    _row, key = integration_key
    response = client.get(CERT, headers=bearer(key))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_certificate"


# -- 403: the contract ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code", "expected"), [
    (ContractStatus.BLOCKED, "contract_blocked", 403),
    (ContractStatus.CANCELLED, "contract_cancelled", 403),
    (ContractStatus.TRIAL, None, 200),
    (ContractStatus.ACTIVE, None, 200),
])
@pytest.mark.parametrize("url", [ME, CERT])
def test_contract_status_gates_the_api(url, status, code, expected, client, integration_key, db):
    row, key = integration_key
    store_certificate(row)
    row.status = status
    db.session.commit()
    response = client.get(url, headers=bearer(key))
    assert response.status_code == expected
    if code:
        error = response.get_json()["error"]
        assert error["code"] == code
        assert "Fale com a sua revenda" in error["message"]
        assert "pfx_base64" not in response.get_json()


# -- 401 ----------------------------------------------------------------------------------------------


def _unusable_keys(row, key, db):
    revoked_plain = services.rotate_integration_key(row, 3600).plaintext  # `key` now in grace
    services.rotate_integration_key(row, 3600)  # revoked_plain in grace, capped at the same end
    revoked = _db.session.scalar(select(IntegrationKey).where(IntegrationKey.key_hash == services.hash_key(revoked_plain)))
    services.revoke_integration_key(revoked)
    db.session.commit()
    return {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": f"Basic {key}"},
        "malformed": bearer("rvk_live_curta"),
        "wrong prefix": bearer("rvp_" + key[4:]),
        "huge": bearer("rvk_live_" + "A" * 5000),
        "unknown": bearer("rvk_live_" + "B" * 43),
        "revoked": bearer(revoked_plain),
    }


@pytest.mark.parametrize("url", [ME, CERT])
def test_401_variants(url, client, integration_key, db):
    row, key = integration_key
    for label, headers in _unusable_keys(row, key, db).items():
        response = client.get(url, headers=headers)
        assert response.status_code == 401, label
        assert response.get_json()["error"]["code"] == "unauthorized", label
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), label
    assert client.get(url, headers=bearer(key)).status_code in (200, 404)  # still in its grace period


def test_rotated_out_key_is_401_after_the_grace(client, integration_key, db):
    row, key = integration_key
    services.rotate_integration_key(row, 3600)
    db.session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=1, seconds=1)):
        assert client.get(ME, headers=bearer(key)).status_code == 401


def test_a_panel_session_or_partner_token_is_not_an_integration_key(login_as, manager, partner_api, client_row):
    http, partner_headers = partner_api
    assert http.get(ME, headers=partner_headers).status_code == 401
    assert login_as(manager).get(ME).status_code == 401


# -- 429 ------------------------------------------------------------------------------------------------


def test_rate_limited_per_key(client, integration_key, partner, plan, db, app, monkeypatch):
    from tests.factories import ClientFactory

    monkeypatch.setitem(app.config, "INTEGRATION_RATE_LIMIT", "3 per minute")
    _row, key = integration_key
    other = ClientFactory(partner=partner, plan=plan)
    other_key = services.rotate_integration_key(other, 0).plaintext
    db.session.commit()
    statuses = [client.get(url, headers=bearer(key)).status_code for url in (ME, CERT, ME, ME)]
    assert statuses == [200, 404, 200, 429]  # one budget shared by the endpoints
    limited = client.get(ME, headers=bearer(key))
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert client.get(ME, headers=bearer(other_key)).status_code == 200  # another key, another budget
    assert client.get("/api/v1/integration/ping").status_code == 200


# -- OpenAPI and cost of authentication ---------------------------------------------------------------------


def test_openapi_documents_the_integration_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for path in ("/api/v1/integration/me", "/api/v1/integration/certificate"):
        assert paths[path]["get"]["security"] == [{"integrationKey": []}]
        assert {"200", "401", "403", "429"} <= set(paths[path]["get"]["responses"])
    assert paths["/api/v1/integration/ping"]["get"]["security"] == []
    assert "integrationKey" in document["components"]["securitySchemes"]
    for path, method in (("/api/v1/clients/{id}/certificate", "get"), ("/api/v1/clients/{id}/certificate", "put"),
                         ("/api/v1/clients/{id}/integration-key/rotate", "post")):
        assert paths[path][method]["security"] == [{"partnerToken": []}]
    for name in ("CertificateStatus", "IntegrationMe", "IntegrationCertificate", "IntegrationKeyCreated"):
        assert name in document["components"]["schemas"]


def test_authentication_is_one_indexed_query(integration_key, db):
    _row, key = integration_key
    db.session.expire_all()
    engine = db.session.get_bind()
    with statements_sent(engine) as sent:
        found = services.authenticate_integration_key(key)
    # the test fixture's transaction handling left out
    statements = [s for s in sent if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert found is not None and found[1].id == _row.id
    assert len(statements) == 1
    assert "integration_keys.key_hash = " in statements[0] and "JOIN clients" in statements[0]
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite:
        db.session.execute(db.text("SET LOCAL enable_seqscan = off"))  # tiny table: ask what it *can* use
    plan = db.session.execute(
        db.text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + "SELECT id FROM integration_keys WHERE key_hash = :h"),
        {"h": "x" * 64},
    ).all()
    text = " ".join(str(part) for row in plan for part in row)
    assert ("INDEX" in text and "key_hash=?" in text) if sqlite else "uq_integration_keys_key_hash" in text
