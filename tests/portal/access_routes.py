"""The accountants' portal access tables (data only, shared by tests/portal/test_portal_access.py and the
completeness check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

An accountant reaches only companies whose invitation it accepted: another company (unlinked, pending,
removed) answers 404, never 403. Other roles have no portal (403); anonymous goes to the login.
The acceptance page is authorized by its single-use token alone (tests/portal/test_accountant_links.py).

Placeholders: {cid} a company the accountant accepted, {pending_cid} one it was invited to and has not
accepted, {removed_cid} one whose link was removed, {other_cid} one never linked; {key} a note of {cid},
{other_key} a note of {other_cid}; {export_id} an export the accountant asked for, {other_export_id} one
of {other_cid}."""

ACCEPT = [
    ("GET", "/contador/aceite/not-a-token", dict(manager=400, accountant=400, client=400, admin=400, anonymous=400)),
    ("POST", "/contador/aceite/not-a-token", dict(manager=400, accountant=400, client=400, anonymous=400)),
]

ACCESS_ROUTES = [(method, url) for method, url, _expected in ACCEPT]
