"""The fiscal panel's access tables (data only, shared by tests/fiscal/test_fiscal_access.py and the
completeness check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

Every screen is a manager's (Gerenciar's buttons): the permission first (403 for accountants, client users
and staff), then the client through the partner scope (404 for another partner's client), then the note,
export or upload through the client (404 for another client's). The e-mailed XML link is public and
authorized by its signed token alone.

Placeholders: {cid} a client of the manager's partner, {other_cid} one of another partner; {key} an issued
note of {cid}, {other_key} a note of {other_cid}; {export_id}/{other_export_id}, {import_id}/{other_import_id}."""

C = "/clientes/{cid}"
OTHER = "/clientes/{other_cid}"


def manager_only(ok):
    return dict(manager=ok, accountant=403, other_manager=404, client=403, admin=403, finance=403, anonymous=302)


PANEL = [
    # (method, url, {role: status}); the body posted is empty, so form posts answer 422 (or 303 with a message).
    # the contingency monitor lists the manager's own partner's notes only (another manager sees theirs)
    ("GET", "/contingencia", dict(manager=200, accountant=403, other_manager=200, client=403, admin=403, finance=403,
                                  anonymous=302)),
    ("GET", C + "/xmls-emitidos", manager_only(200)),
    ("GET", C + "/xmls-fornecedores", manager_only(200)),
    ("POST", C + "/xmls-fornecedores/reconhecer", manager_only(303)),
    ("GET", C + "/relatorios", manager_only(200)),
    ("GET", C + "/relatorios/pdf", manager_only(200)),
    ("GET", C + "/notas/{key}", manager_only(200)),
    ("GET", C + "/notas/{key}/xml", manager_only(200)),
    ("GET", C + "/notas/{key}/pdf", manager_only(200)),
    ("POST", C + "/notas/{key}/enviar", manager_only(422)),
    ("GET", C + "/exportar", manager_only(200)),
    ("POST", C + "/exportar", manager_only(422)),
    ("GET", C + "/exportacoes/{export_id}", manager_only(200)),
    ("GET", C + "/exportacoes/{export_id}/status", manager_only(200)),
    ("GET", C + "/enviar-xmls", manager_only(200)),
    ("POST", C + "/enviar-xmls", manager_only(422)),
    ("GET", C + "/importacoes/{import_id}", manager_only(200)),
    ("GET", C + "/importacoes/{import_id}/status", manager_only(200)),
    # another partner's client, and another client's note / export / upload under one's own client
    ("GET", OTHER + "/xmls-emitidos", dict(manager=404)),
    ("POST", OTHER + "/xmls-fornecedores/reconhecer", dict(manager=404)),
    ("GET", OTHER + "/notas/{other_key}", dict(manager=404)),
    ("POST", OTHER + "/enviar-xmls", dict(manager=404)),
    ("GET", C + "/notas/{other_key}", dict(manager=404, other_manager=404)),
    ("GET", C + "/notas/{other_key}/xml", dict(manager=404)),
    ("GET", C + "/notas/{other_key}/pdf", dict(manager=404)),
    ("POST", C + "/notas/{other_key}/enviar", dict(manager=404)),
    ("GET", C + "/notas/abc", dict(manager=404)),
    ("GET", C + "/exportacoes/{other_export_id}", dict(manager=404)),
    ("GET", C + "/exportacoes/{other_export_id}/status", dict(manager=404)),
    ("GET", C + "/exportacoes/abc", dict(manager=404)),
    ("GET", C + "/importacoes/{other_import_id}", dict(manager=404)),
    ("GET", C + "/importacoes/{other_import_id}/status", dict(manager=404)),
    # the e-mailed link to one note's XML: the token alone (valid-link tests in tests/fiscal/test_fiscal_screens.py)
    ("GET", "/xml/not-a-token", dict(manager=404, accountant=404, client=404, admin=404, anonymous=404)),
]


def _routes(table):
    return [(method, url) for method, url, expected in table if set(expected.values()) != {405}]


ACCESS_ROUTES: list[tuple[str, str]] = _routes(PANEL)
