"""What the access tables share (not a test module): the roles, the pages every Flask-Admin view
has, and how a row's URL template becomes a path to match against ``app.url_map``.

The tables themselves: tests/test_access_matrix.py (foundation), tests/contracts/access_routes.py,
tests/certificates/access_routes.py, tests/billing/access_routes.py. Each exports ``ACCESS_ROUTES``,
a list of ``(method, url_template)``; the completeness test in tests/test_access_matrix.py requires
every (endpoint, method) of the app to be reached by one of them."""

import re

ROLES = ("anonymous", "admin", "finance", "manager", "other_manager", "accountant", "client")

#: One person, several firms: the ``multi_user`` fixture (tests/test_access_matrix.py) is manager of the
#: other partner, a user of ``client_row`` (a client of the first partner) and finance staff. Working in
#: each membership it must get exactly what the single-membership role it mirrors gets.
MULTI_CONTEXTS = {"multi@other_manager": "other_manager", "multi@client": "client", "multi@finance": "finance"}

_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def dummy_path(url_template: str) -> str:
    """``/clientes/{cid}/x?tab=y`` → ``/clientes/1/x``: whatever a table names its ids, a dummy id
    matches the same rule (every id converter of the app accepts ``1``)."""
    return _PLACEHOLDER.sub("1", url_template).split("?")[0]


def admin_pages(view: str, id_placeholder: str, *, can_create: bool, can_edit: bool) -> list[tuple]:
    """Every page of a Flask-Admin model view as ``(method, url, status for an allowed user, form)``.

    A view that cannot create or edit sends those forms back to the list (302); an empty form on one
    that can is shown again with its errors (200). Lookups and inline edits are not used: 404."""
    new = 200 if can_create else 302
    edit = 200 if can_edit else 302
    return [
        ("GET", f"/admin/{view}/", 200, None),
        ("GET", f"/admin/{view}/new/", new, None),
        ("POST", f"/admin/{view}/new/", new, {}),
        ("GET", f"/admin/{view}/edit/?id={id_placeholder}", edit, None),
        ("POST", f"/admin/{view}/edit/?id={id_placeholder}", edit, {}),
        ("GET", f"/admin/{view}/details/?id={id_placeholder}", 200, None),
        ("GET", f"/admin/{view}/export/csv/", 200, None),
        ("POST", f"/admin/{view}/delete/", 302, {"id": id_placeholder}),
        ("POST", f"/admin/{view}/action/", 302, {}),
        ("GET", f"/admin/{view}/ajax/lookup/?name=x&query=a", 404, None),
        ("POST", f"/admin/{view}/ajax/update/", 404, {}),
    ]


def staff_statuses(ok: int, allowed: set[str]) -> dict[str, int]:
    """A staff page: anonymous → the login page (302), an allowed role → ``ok``, anyone else 403."""
    return {role: 302 if role == "anonymous" else ok if role in allowed else 403 for role in ROLES}


def check_page(client, login_as, users, ids, role, method, url, data, status):
    """One row of a page table: log in as ``role`` (unless anonymous), send the request with ``data``
    (a form whose values may name ids, raw JSON bytes, or None) and expect ``status``; an anonymous
    visitor's 302 must lead to the login page."""
    if role != "anonymous":
        login_as(users[role])
    target = url.format(**ids)
    if isinstance(data, bytes):
        response = client.open(target, method=method, data=data, content_type="application/json")
    else:
        data = {k: v.format(**ids) if isinstance(v, str) else v for k, v in data.items()} if data is not None else None
        response = client.open(target, method=method, data=data)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if status == 302 and role == "anonymous":
        assert "/login" in response.headers["Location"]


def check_api(client, login_as, db, users, ids, role, method, url, status):
    """One row of an API table: a manager calls with its partner's token; everyone else is logged in but
    has none. An error answer carries a JSON error code."""
    from partner.services import create_api_token

    headers = {}
    if role in ("manager", "other_manager"):
        headers["Authorization"] = f"Bearer {create_api_token(users[role].partner, 'Matriz')[1]}"
        db.session.commit()
    elif role != "anonymous":
        login_as(users[role])
    response = client.open(url.format(**ids), method=method, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if status >= 400:
        assert response.get_json()["error"]["code"]
