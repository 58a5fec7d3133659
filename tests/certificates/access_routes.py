"""The certificate / integration-key access tables (data only, shared by test_certificates_access.py
and the completeness check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

Panel routes check the permission first (403), then load the client through the partner scope
(404 for another partner's client, never 403). Partner API: 401 without a token, 404 for another
partner's client. Integration API: only an integration key authenticates. Staff admin: metadata
only, for staff.

Placeholders: {cid} a client of the manager's partner, {other_cid} one of another partner,
{old_key_id}/{other_key_id} a key in its grace period of each; admin pages also {cert_id}, {alert_id}."""

from tests.access_common import admin_pages, staff_statuses

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
    # fiscal documents (bodies and filters: tests/fiscal/test_documents_api.py)
    ("GET", API + "/documents", dict(own=200, other_partner=404, none=401, integration_key=401)),
    ("GET", API + "/documents/totals?month=2026-01", dict(own=200, other_partner=404, none=401, integration_key=401)),
    ("GET", API + "/documents/" + "1" * 44, dict(own=404, other_partner=404, none=401, integration_key=401)),
    ("GET", API + "/documents/" + "1" * 44 + "/xml", dict(own=404, other_partner=404, none=401, integration_key=401)),
    ("GET", API + "/documents/" + "1" * 44 + "/pdf", dict(own=404, other_partner=404, none=401, integration_key=401)),
    ("GET", "/api/v1/clients/{other_cid}/documents", dict(own=404)),
    ("POST", API + "/exports", dict(own=422, other_partner=404, none=401, integration_key=401)),
    ("POST", "/api/v1/clients/{other_cid}/exports", dict(own=404)),
    ("GET", "/api/v1/exports/999999", dict(own=404, other_partner=404, none=401, integration_key=401)),
]

INTEGRATION_API = [
    ("GET", "/api/v1/integration/me", dict(integration_key=200, other_key=200, none=401, own=401, session=401)),
    ("GET", "/api/v1/integration/certificate", dict(integration_key=404, none=401, own=401, session=401)),
    ("GET", "/api/v1/integration/ping", dict(integration_key=200, none=200, own=200, session=200)),
    ("POST", "/api/v1/integration/me", dict(integration_key=405)),
    # fiscal documents pushed by the client's software (tests/fiscal/test_ingest.py for the bodies)
    ("GET", "/api/v1/integration/documents/pending", dict(integration_key=200, none=401, own=401, session=401)),
    ("POST", "/api/v1/integration/documents", dict(integration_key=415, none=401, own=401, session=401)),
]

# (endpoint, id placeholder, roles that may use it): read-only views, never the encrypted blobs.
ADMIN_VIEWS = [
    ("admin_certificates", "{cert_id}", {"admin", "finance"}),
    ("admin_certificate_alerts", "{alert_id}", {"admin", "finance"}),
    ("admin_integration_keys", "{old_key_id}", {"admin", "finance"}),
]

#: (method, url, form data, {role: status}) for every page of every admin view.
ADMIN_ROWS = [
    (method, url, data, staff_statuses(ok, allowed))
    for view, key, allowed in ADMIN_VIEWS
    for method, url, ok, data in admin_pages(view, key, can_create=False, can_edit=False)
]


def _routes(table):
    # A row whose every status is 405 proves a method is refused: it names no route.
    return [(method, url) for method, url, *_data, expected in table if set(expected.values()) != {405}]


ACCESS_ROUTES: list[tuple[str, str]] = [
    *_routes(PANEL), *_routes(PARTNER_API), *_routes(INTEGRATION_API), *_routes(ADMIN_ROWS),
]
