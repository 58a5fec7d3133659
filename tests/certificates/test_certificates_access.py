"""Access table for every certificate / integration-key route: (who, method, url) → status.

The tables are in tests/certificates/access_routes.py (they also feed the completeness check of
tests/test_access_matrix.py)."""

import pytest
from certhelpers import bearer, counts  # noqa: I001 - tests/certificates/certhelpers.py
from sqlalchemy import select

from certificates import services
from certificates.models import CertificateAlert
from partner.services import create_api_token
from tests.access_common import ROLES
from tests.certificates.access_routes import ADMIN_ROWS, INTEGRATION_API, PANEL, PARTNER_API


def _cases(table):
    for method, url, expected in table:
        for who, status in expected.items():
            yield pytest.param(who, method, url, status, id=f"{who}-{method}-{url}")


@pytest.fixture
def world(committed, client_row, other_client, db):
    """Ids for the URLs: each client has a current key and one still in its grace period."""
    ids = {"cid": client_row.id, "other_cid": other_client.id}
    for name, row in (("old_key_id", client_row), ("other_key_id", other_client)):
        services.ensure_integration_key(row)
        old = services.current_integration_key(row.id)
        services.rotate_integration_key(row, 3600)
        ids[name] = old.id
    db.session.commit()
    return ids


USERS = {"manager": "manager", "other_manager": "other_manager", "accountant": "accountant", "client": "client_user",
         "admin": "admin_user", "finance": "finance_user"}


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(PANEL)))
def test_panel_routes(who, method, url, status, world, client, login_as, request):
    http = login_as(request.getfixturevalue(USERS[who])) if who != "anonymous" else client
    response = http.open(url.format(**world), method=method)
    assert response.status_code == status
    if status == 302 and who == "anonymous":
        assert "/login" in response.headers["Location"]


def test_accountant_never_sees_the_manager_tabs(world, login_as, accountant):
    for tab in ("certificado", "chave-integracao"):
        html = login_as(accountant).get(f"/clientes/{world['cid']}?tab={tab}").get_data(as_text=True)
        assert "Enviar certificado!" not in html and "Gerar nova chave" not in html and "Revelar" not in html


@pytest.fixture
def credentials(world, client_row, other_client, partner, other_partner, db):
    own = create_api_token(partner, "own")[1]
    other = create_api_token(other_partner, "other")[1]
    key = services.rotate_integration_key(client_row, 0).plaintext
    other_key = services.rotate_integration_key(other_client, 0).plaintext
    db.session.commit()
    return {"own": bearer(own), "other_partner": bearer(other), "integration_key": bearer(key),
            "other_key": bearer(other_key), "none": {}}


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(PARTNER_API)))
def test_partner_api_routes(who, method, url, status, world, credentials, client):
    kwargs = {"json": {"grace_seconds": 0}} if url.endswith("/rotate") else {}
    response = client.open(url.format(**world), method=method, headers=credentials[who], **kwargs)
    assert response.status_code == status
    if status >= 400:
        assert response.get_json()["error"]["code"]


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(INTEGRATION_API)))
def test_integration_api_routes(who, method, url, status, world, credentials, client, login_as, manager):
    if who == "session":
        response = login_as(manager).open(url, method=method)
    else:
        response = client.open(url, method=method, headers=credentials[who])
    assert response.status_code == status
    if status == 200 and url.endswith("/me"):
        expected = world["cid"] if who == "integration_key" else world["other_cid"]
        assert response.get_json()["client"]["id"] == expected  # a key only ever sees its own client


# -- staff admin: metadata only ---------------------------------------------------------------------------


@pytest.fixture
def admin_world(world, client_row, db):
    """``world`` plus a certificate of ``client_row`` and its expiry alert, for the admin pages' ids."""
    from certhelpers import store_certificate

    cert = store_certificate(client_row)
    services.send_expiry_alerts(now=cert.not_after)
    db.session.commit()
    alert_id = db.session.scalar(select(CertificateAlert.id).where(CertificateAlert.certificate_id == cert.id))
    assert alert_id is not None
    return {**world, "cert_id": cert.id, "alert_id": alert_id}


def _admin_cases():
    for method, url, data, expected in ADMIN_ROWS:
        for role in ROLES:
            yield pytest.param(role, method, url, data, expected[role], id=f"{role}-{method}-{url}")


@pytest.mark.parametrize(("who", "method", "url", "data", "status"), list(_admin_cases()))
def test_staff_admin_views(who, method, url, data, status, admin_world, client, login_as, request, db):
    http = login_as(request.getfixturevalue(USERS[who])) if who != "anonymous" else client
    before = counts()
    response = http.open(url.format(**admin_world), method=method,
                         data={k: v.format(**admin_world) for k, v in (data or {}).items()})
    assert response.status_code == status
    if status == 302 and who == "anonymous":
        assert "/login" in response.headers["Location"]
    assert counts() == before  # read-only for everyone: nothing created, changed or deleted


def test_staff_admin_never_shows_the_blobs(world, client_row, login_as, admin_user, db):
    import base64

    from certhelpers import store_certificate

    from certificates.models import Certificate, IntegrationKey

    cert = store_certificate(client_row)
    services.send_expiry_alerts(now=cert.not_after)
    db.session.commit()
    http = login_as(admin_user)
    pages = [
        http.get("/admin/admin_certificates/").get_data(as_text=True),
        http.get(f"/admin/admin_certificates/details/?id={cert.id}").get_data(as_text=True),
        http.get("/admin/admin_certificates/export/csv/").get_data(as_text=True),
        http.get("/admin/admin_integration_keys/").get_data(as_text=True),
        http.get("/admin/admin_certificate_alerts/").get_data(as_text=True),
    ]
    assert cert.fingerprint_sha256 in pages[1] and client_row.cnpj in pages[0]
    assert "rvk_live_" in pages[3]  # masked keys
    blobs = [cert.pfx_encrypted, cert.password_encrypted]
    keys = db.session.scalars(select(IntegrationKey)).all()
    blobs += [k.key_encrypted for k in keys]
    for page in pages:
        assert "pfx_encrypted" not in page and "key_hash" not in page and "password_encrypted" not in page
        for blob in blobs:
            assert base64.b64encode(blob)[:32].decode() not in page and blob.hex()[:32] not in page
        for key in keys:
            assert key.key_hash not in page
    assert db.session.get(Certificate, cert.id).is_active
