"""The accountants' portal access tables (data only, shared by tests/portal/test_portal_access.py and the
completeness check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

An accountant reaches only companies whose invitation it accepted: another company (never linked, pending,
removed) answers 404, never 403. Other roles have no portal (403); anonymous goes to the login.
The acceptance page is authorized by its single-use token alone (tests/portal/test_accountant_links.py).
The links' management (resend, revoke) is the manager's (Gerenciar) and the client's (client area).

Placeholders: {cid} a company the accountant accepted, {pending_cid} one it was invited to and has not
accepted, {removed_cid} one whose link was removed, {other_cid} another partner's company; {key} a note of
{cid}, {pending_key}/{removed_key}/{other_key} notes of the others; {link_id} the accountant's link to
{cid}, {other_link_id} a link of {other_cid}."""

E = "/contador/empresas/{cid}"


def accountant_only(ok):
    return dict(accountant=ok, manager=403, other_manager=403, client=403, admin=403, finance=403, anonymous=302)


ACCEPT = [
    ("GET", "/contador/aceite/not-a-token", dict(manager=400, accountant=400, client=400, admin=400, anonymous=400)),
    ("POST", "/contador/aceite/not-a-token", dict(manager=400, accountant=400, client=400, anonymous=400)),
]

PORTAL = [
    ("GET", "/contador/", accountant_only(302)),
    ("GET", "/contador/notas", accountant_only(200)),
    ("GET", "/contador/notas?empresa=c{cid}", accountant_only(200)),
    ("GET", E + "/notas/{key}", accountant_only(200)),
    ("GET", E + "/notas/{key}/xml", accountant_only(200)),
    ("GET", E + "/notas/{key}/danfe", accountant_only(200)),
    ("POST", E + "/notas/{key}/enviar", accountant_only(422)),
    ("GET", "/contador/exportar?empresa=c{cid}", accountant_only(200)),
    ("POST", "/contador/exportar", accountant_only(303)),  # the only company, this month, to the own e-mail
    ("POST", "/contador/exportar?empresa=c{other_cid}", dict(accountant=422)),  # not its company: nothing
    ("GET", "/contador/empresas", accountant_only(200)),
    ("POST", E, accountant_only(303)),
    ("POST", E + "/deixar", accountant_only(303)),
    # a company pending, removed or never linked: nothing, and 404 rather than 403
    *[row for cid, key in (("pending_cid", "pending_key"), ("removed_cid", "removed_key"), ("other_cid", "other_key"))
      for row in (
          ("GET", f"/contador/empresas/{{{cid}}}/notas/{{{key}}}", dict(accountant=404)),
          ("GET", f"/contador/empresas/{{{cid}}}/notas/{{{key}}}/xml", dict(accountant=404)),
          ("GET", f"/contador/empresas/{{{cid}}}/notas/{{{key}}}/danfe", dict(accountant=404)),
          ("POST", f"/contador/empresas/{{{cid}}}/notas/{{{key}}}/enviar", dict(accountant=404)),
          ("POST", f"/contador/empresas/{{{cid}}}", dict(accountant=404)),
          ("POST", f"/contador/empresas/{{{cid}}}/deixar", dict(accountant=404)),
      )],
    ("GET", E + "/notas/{other_key}", dict(accountant=404)),  # another company's note under one's own
    ("GET", E + "/notas/abc", dict(accountant=404)),
    ("GET", "/contador/empresas/abc/notas/{key}", dict(accountant=404)),
]

LINKS = [
    ("POST", "/clientes/{cid}/contadores/{link_id}/reenviar",
     dict(manager=303, other_manager=404, accountant=403, client=403, admin=403, finance=403, anonymous=302)),
    ("POST", "/clientes/{cid}/contadores/{link_id}/remover",
     dict(manager=303, other_manager=404, accountant=403, client=403, admin=403, finance=403, anonymous=302)),
    ("POST", "/clientes/{cid}/contadores/{other_link_id}/remover", dict(manager=404)),
    ("POST", "/clientes/{cid}/contadores/abc/remover", dict(manager=404)),
    # empty: no accountant named any more (its link is removed)
    ("POST", "/cliente/contador", dict(client=303, manager=403, accountant=403, admin=403, anonymous=302)),
    ("POST", "/cliente/contadores/{link_id}/reenviar", dict(client=303, manager=403, accountant=403, anonymous=302)),
    ("POST", "/cliente/contadores/{link_id}/remover", dict(client=303, manager=403, accountant=403, anonymous=302)),
    ("POST", "/cliente/contadores/{other_link_id}/remover", dict(client=404)),
]

ACCESS_ROUTES = [(method, url) for method, url, _expected in ACCEPT + PORTAL + LINKS]
