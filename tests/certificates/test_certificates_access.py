"""Access table for every certificate / integration-key route: (who, method, url) → status.

Panel routes check the permission first (403), then load the client through the partner scope
(404 for another partner's client, never 403). Partner API: 401 without a token, 404 for another
partner's client. Integration API: only an integration key authenticates."""

import pytest
from certhelpers import bearer  # noqa: I001 - tests/certificates/certhelpers.py
from sqlalchemy import select

from certificates import services
from partner.services import create_api_token

C = "/clientes/{cid}"
OTHER = "/clientes/{other_cid}"

PANEL = [
    # (method, url, {role: status}); the body posted is empty, so allowed form posts answer 422.
    ("GET", C + "?tab=certificado", dict(manager=200, accountant=200, other_manager=404, client=403, admin=403,
                                         finance=403, anonymous=302)),
    ("GET", C + "?tab=chave-integracao", dict(manager=200, accountant=200, other_manager=404, client=403,
                                              admin=403, finance=403, anonymous=302)),
    ("POST", C + "/certificado", dict(manager=422, accountant=403, other_manager=404, client=403, admin=403,
                                      finance=403, anonymous=302)),
    ("POST", C + "/chave-integracao/revelar", dict(manager=422, accountant=403, other_manager=404, client=403,
                                                   admin=403, finance=403, anonymous=302)),
    ("POST", C + "/chave-integracao/gerar", dict(manager=422, accountant=403, other_manager=404, client=403,
                                                 admin=403, finance=403, anonymous=302)),
    ("POST", C + "/chave-integracao/{old_key_id}/encerrar", dict(manager=302, accountant=403, other_manager=404,
                                                                 client=403, admin=403, finance=403, anonymous=302)),
    ("POST", C + "/chave-integracao/999999/encerrar", dict(manager=404, other_manager=404)),
    ("POST", OTHER + "/certificado", dict(manager=404)),
    ("POST", OTHER + "/chave-integracao/revelar", dict(manager=404)),
    ("POST", OTHER + "/chave-integracao/gerar", dict(manager=404)),
    ("POST", OTHER + "/chave-integracao/{other_key_id}/encerrar", dict(manager=404)),
    ("POST", C + "/chave-integracao/{other_key_id}/encerrar", dict(manager=404)),  # key of another client
    ("GET", "/clientes/abc/certificado", dict(manager=405)),
]

API = "/api/v1/clients/{cid}"
PARTNER_API = [
    ("GET", API + "/certificate", dict(own=200, other_partner=404, none=401, integration_key=401)),
    ("PUT", API + "/certificate", dict(own=422, other_partner=404, none=401, integration_key=401)),
    ("GET", API + "/integration-key", dict(own=200, other_partner=404, none=401, integration_key=401)),
    ("POST", API + "/integration-key/rotate", dict(own=201, other_partner=404, none=401, integration_key=401)),
    ("GET", "/api/v1/clients/abc/certificate", dict(own=404)),
    ("GET", "/api/v1/clients/{other_cid}/certificate", dict(own=404)),
]

INTEGRATION_API = [
    ("GET", "/api/v1/integration/me", dict(integration_key=200, other_key=200, none=401, own=401, session=401)),
    ("GET", "/api/v1/integration/certificate", dict(integration_key=404, none=401, own=401, session=401)),
    ("GET", "/api/v1/integration/ping", dict(integration_key=200, none=200, own=200, session=200)),
    ("POST", "/api/v1/integration/me", dict(integration_key=405)),
]


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


@pytest.mark.parametrize("view", ["admin_certificates", "admin_certificate_alerts", "admin_integration_keys"])
@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("finance", 200), ("manager", 403), ("client", 403)])
def test_staff_admin_views(view, who, status, world, login_as, request):
    response = login_as(request.getfixturevalue(USERS[who])).get(f"/admin/{view}/")
    assert response.status_code == status


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
