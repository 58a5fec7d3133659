"""The webhooks' access tables (data only, shared by tests/webhooks/test_webhooks_access.py and the
completeness check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

Partner pages (/integracoes/webhooks) are a manager's: 403 for everyone else, 404 for another partner's
endpoint. Accountant pages (/contador/webhooks) are an accountant's: 403 for everyone else, 404 for another
accountant's endpoint. The API answers a partner token only (401 otherwise), 404 for another partner's.

Placeholders: {eid} an endpoint of the manager's partner (with a delivery {did}, public id {dpub}),
{aid} an endpoint of the accountant (delivery {adid}), {other_aid} one of another accountant."""

P = "/integracoes/webhooks"
A = "/contador/webhooks"
ANYONE_ELSE = dict(accountant=403, client=403, admin=403, finance=403, anonymous=302)


def manager_only(ok, other=404):
    return dict(manager=ok, other_manager=other, **ANYONE_ELSE)


def accountant_only(ok):
    return dict(accountant=ok, manager=403, other_manager=403, client=403, admin=403, finance=403, anonymous=302)


def api(ok, other=404):
    return dict(manager=ok, other_manager=other, accountant=401, client=401, admin=401, finance=401, anonymous=401)


PANEL = [
    ("GET", P, manager_only(200, other=200)),
    ("POST", P, manager_only(422, other=422)),
    ("GET", P + "/{eid}", manager_only(200)),
    ("POST", P + "/{eid}/reativar", manager_only(302)),
    ("POST", P + "/{eid}/entregas/{did}/reenviar", manager_only(302)),
    ("POST", P + "/{eid}/excluir", manager_only(302)),
    ("GET", P + "/abc", dict(manager=404)),
    ("GET", P + "/{eid}/entregas/{adid}/reenviar", dict(manager=405)),
    ("POST", P + "/{eid}/entregas/{adid}/reenviar", dict(manager=404)),  # another endpoint's delivery
    ("GET", P + "/{aid}", dict(manager=404)),  # an accountant's endpoint is no partner's
    ("GET", A, accountant_only(200)),
    ("POST", A, accountant_only(422)),
    ("GET", A + "/{aid}", accountant_only(200)),
    ("POST", A + "/{aid}/reativar", accountant_only(302)),
    ("POST", A + "/{aid}/entregas/{adid}/reenviar", accountant_only(302)),
    ("POST", A + "/{aid}/excluir", accountant_only(302)),
    ("GET", A + "/{other_aid}", dict(accountant=404)),
    ("POST", A + "/{other_aid}/excluir", dict(accountant=404)),
    ("GET", A + "/{eid}", dict(accountant=404)),
    ("POST", "/contador/api/tokens", accountant_only(422)),
    ("POST", "/contador/api/tokens/{atok}/revogar", accountant_only(302)),
    ("POST", "/contador/api/tokens/{ptok}/revogar", dict(accountant=404)),  # a partner's token
    ("POST", A + "/{aid}/entregas/{did}/reenviar", dict(accountant=404)),
]

API = [
    ("GET", "/api/v1/webhooks", api(200, other=200)),
    ("POST", "/api/v1/webhooks", api(422, other=422)),
    ("GET", "/api/v1/webhooks/{eid}/deliveries", api(200)),
    ("POST", "/api/v1/webhooks/{eid}/deliveries/{dpub}/resend", api(202)),
    ("DELETE", "/api/v1/webhooks/{eid}", api(204)),
    ("GET", "/api/v1/webhooks/{aid}/deliveries", dict(manager=404)),
    ("DELETE", "/api/v1/webhooks/abc", dict(manager=404)),
]


def _routes(table):
    return [(method, url) for method, url, expected in table if set(expected.values()) != {405}]


ACCESS_ROUTES: list[tuple[str, str]] = _routes(PANEL) + _routes(API)

#: The accountant API (api/accountant_api.py): an accountant token only (401 for partner tokens, panel logins
#: and anonymous); a company not accepted ({other_cid}, {pending_cid}) or its note or export is a 404.
#: Placeholders (tests/webhooks/test_accountant_api.py): {cid} accepted, {key} a note of {cid}, {other_key}
#: one of {other_cid}, {export_id} an export of {cid}, {other_export_id} one of {other_cid}.


def accountant_api(ok):
    return dict(accountant=ok, manager=401, other_manager=401, client=401, admin=401, finance=401, anonymous=401)


ACCOUNTANT_API = [
    ("GET", "/api/v1/accountant/companies", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents?company={cid}", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents?company={other_cid}", dict(accountant=404)),
    ("GET", "/api/v1/accountant/documents?company={pending_cid}", dict(accountant=404)),
    ("GET", "/api/v1/accountant/documents/totals?company={cid}&month={month}", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents/totals?company={other_cid}&month={month}", dict(accountant=404)),
    ("GET", "/api/v1/accountant/documents/{key}?company={cid}", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents/{key}/xml?company={cid}", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents/{key}/pdf?company={cid}", accountant_api(200)),
    ("GET", "/api/v1/accountant/documents/{other_key}?company={other_cid}", dict(accountant=404)),
    ("GET", "/api/v1/accountant/documents/{other_key}/xml?company={other_cid}", dict(accountant=404)),
    ("GET", "/api/v1/accountant/documents/{other_key}/pdf?company={cid}", dict(accountant=404)),
    ("POST", "/api/v1/accountant/exports", accountant_api(422)),
    ("GET", "/api/v1/accountant/exports/{export_id}", accountant_api(200)),
    ("GET", "/api/v1/accountant/exports/{other_export_id}", dict(accountant=404)),
    ("GET", "/api/v1/accountant/exports/abc", dict(accountant=404)),
]

ACCESS_ROUTES += _routes(ACCOUNTANT_API)
