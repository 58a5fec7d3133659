"""The orders access tables (data only, shared by tests/orders/test_orders_access.py and the completeness
check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

{own}: an order of the manager's partner awaiting documentation; {active}: an active one with a
responsible {resp} and an attachment {att}; {other}: another partner's order; {service}: a catalogue
service. Empty forms answer 422, a rule that refuses 409, another partner's order 404."""

from tests.access_common import ROLES, admin_pages, staff_statuses


def _statuses(default: int, **by_role: int) -> dict[str, int]:
    assert set(by_role) <= set(ROLES), by_role
    return {role: by_role.get(role, default) for role in ROLES}


def manager_page(ok: int, other: int | None = None) -> dict[str, int]:
    """A manager's screen: the permission first (403 for staff, accountants, clients), then the order's
    partner (404 for another manager, unless ``other`` says the page is the manager's own)."""
    return _statuses(403, anonymous=302, manager=ok, other_manager=404 if other is None else other)


OWN = "/pedidos/{own}"
A = "/pedidos/{active}"
PANEL = [
    ("GET", "/pedidos", None, manager_page(200, 200)),
    ("GET", "/pedidos/novo", None, manager_page(200, 200)),
    ("POST", "/pedidos/novo", {}, manager_page(422, 422)),
    ("GET", "/saldo", None, manager_page(200, 200)),
    ("GET", OWN, None, manager_page(200)),
    ("GET", "/pedidos/{other}", None, manager_page(404, 200)),
    ("GET", "/pedidos/abc", None, manager_page(404, 404)),
    ("POST", OWN + "/pagar", {}, manager_page(422)),
    ("POST", OWN + "/reenviar-aceite", None, manager_page(302)),
    ("POST", A + "/reenviar-aceite", None, manager_page(409)),
    ("POST", OWN + "/cancelar", None, manager_page(302)),
    ("POST", A + "/cancelar", None, manager_page(409)),
    ("POST", "/pedidos/{other}/cancelar", None, manager_page(404, 302)),
    ("POST", A + "/espaco", {}, manager_page(422)),
    ("POST", A + "/renovar", {}, manager_page(422)),  # no balance for the renewal
    ("POST", A + "/responsaveis", {}, manager_page(422)),
    ("POST", A + "/responsaveis/{resp}/documentos", {}, manager_page(422)),
    ("POST", OWN + "/responsaveis/{resp}/documentos", {}, manager_page(404)),  # not that order's responsible
    ("GET", A + "/documentos/{att}", None, manager_page(200)),
    ("GET", OWN + "/documentos/{att}", None, manager_page(404)),
]

ADMIN_VIEWS = [("services", "{service}", False), ("service_orders", "{active}", True)]
ADMIN = [
    (method, url, data, staff_statuses(ok, {"admin"}))
    for view, key, read_only in ADMIN_VIEWS
    for method, url, ok, data in admin_pages(view, key, can_create=not read_only, can_edit=not read_only)
]

API = [
    ("GET", "/api/v1/services", _statuses(401, manager=200, other_manager=200)),
    ("POST", "/api/v1/orders", _statuses(401, manager=422, other_manager=422)),
    ("GET", "/api/v1/orders", _statuses(401, manager=200, other_manager=200)),
    ("GET", "/api/v1/orders/{own}", _statuses(401, manager=200, other_manager=404)),
    ("GET", "/api/v1/orders/{other}", _statuses(401, manager=404, other_manager=200)),
    ("GET", "/api/v1/orders/abc", _statuses(401, manager=404, other_manager=404)),
    ("POST", "/api/v1/orders/{own}/cancel", _statuses(401, manager=200, other_manager=404)),
    ("POST", "/api/v1/orders/{active}/cancel", _statuses(401, manager=409, other_manager=404)),
    ("POST", "/api/v1/orders/{own}/acceptance-email", _statuses(401, manager=200, other_manager=404)),
    ("POST", "/api/v1/orders/{active}/acceptance-email", _statuses(401, manager=409, other_manager=404)),
    ("POST", "/api/v1/orders/{active}/storage", _statuses(401, manager=422, other_manager=404)),
    ("POST", "/api/v1/orders/{active}/renew", _statuses(401, manager=422, other_manager=404)),
    ("GET", "/api/v1/ledger", _statuses(401, manager=200, other_manager=200)),
]


def table():
    return [(role, method, url, data, expected[role]) for method, url, data, expected in PANEL + ADMIN
            for role in ROLES]


def api_table():
    return [(role, method, url, expected[role]) for method, url, expected in API for role in ROLES]


ACCESS_ROUTES: list[tuple[str, str]] = [
    *((method, url) for method, url, _data, _expected in PANEL + ADMIN),
    *((method, url) for method, url, _expected in API),
]
