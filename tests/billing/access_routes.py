"""The billing access tables (data only, shared by test_access.py and the completeness check of
tests/test_access_matrix.py through ``ACCESS_ROUTES``).

{own}: the manager's partner invoice; {client_inv}: the invoice of a client of the same partner that
pays for itself (its client user's); {other}: another partner's invoice ("other_manager"'s own);
{payment}: a manual payment of {own} waiting for approval (recorded by a third finance user);
{event}: a Stripe webhook event. No Stripe keys are configured: online payment answers 503."""

from datetime import date, timedelta

from tests.access_common import ROLES, admin_pages, staff_statuses


def _statuses(default: int, **by_role: int) -> dict[str, int]:
    assert set(by_role) <= set(ROLES), by_role
    return {role: by_role.get(role, default) for role in ROLES}


def _manager_page(ok: int) -> dict[str, int]:
    """Meus dados → Pagamento: a manager, of whichever partner, on its own partner's page."""
    return _statuses(403, anonymous=302, manager=ok, other_manager=ok)


def _invoice_page(owner: str, ok: int, *, card: bool = False) -> dict[str, int]:
    """An invoice page: only its payer (``owner``: manager, other_manager or client) opens it; the other
    payers get 404 (not theirs); staff and accountants 403 (no invoice in the panel). Paying by card
    is the manager's alone: a client user gets 403 there."""
    statuses = _statuses(403, anonymous=302, manager=404, other_manager=404, client=403 if card else 404)
    statuses[owner] = ok
    return statuses


# (method, url, form data, {role: status})
PANEL = [
    ("GET", "/meus-dados/pagamento", None, _manager_page(200)),
    # no Stripe keys: no method to choose (422 for the manager; who else is refused stays the same)
    ("POST", "/meus-dados/pagamento/metodo", {"method": "boleto"}, _manager_page(422)),
    ("POST", "/meus-dados/pagamento/cartao", {"payment_method_id": ""}, _manager_page(422)),
]

INVOICES = [
    ("GET", "/faturas/{own}", None, _invoice_page("manager", 200)),
    ("GET", "/faturas/{own}/pdf", None, _invoice_page("manager", 200)),
    ("POST", "/faturas/{own}/boleto", None, _invoice_page("manager", 503)),
    ("POST", "/faturas/{own}/cartao", None, _invoice_page("manager", 503, card=True)),
    ("GET", "/faturas/{client_inv}", None, _invoice_page("client", 200)),
    ("GET", "/faturas/{client_inv}/pdf", None, _invoice_page("client", 200)),
    ("POST", "/faturas/{client_inv}/boleto", None, _invoice_page("client", 503)),
    ("POST", "/faturas/{client_inv}/cartao", None, _invoice_page("client", 403, card=True)),
    ("GET", "/faturas/{other}", None, _invoice_page("other_manager", 200)),
    ("GET", "/faturas/{other}/pdf", None, _invoice_page("other_manager", 200)),
    ("POST", "/faturas/{other}/boleto", None, _invoice_page("other_manager", 503)),
    ("POST", "/faturas/{other}/cartao", None, _invoice_page("other_manager", 503, card=True)),
    ("GET", "/faturas/999999", None, _invoice_page("manager", 404)),
    ("GET", "/faturas/abc", None, _invoice_page("manager", 404)),
]

RECEIVED = (date.today() - timedelta(days=2)).isoformat()  # a day already past in any time zone

# -- staff admin (finance review): admin and finance, every partner's invoices ---------------------------
FINANCE = {"admin", "finance"}
ADMIN_VIEWS = [("invoices", "{own}"), ("payments", "{payment}"), ("webhook_events", "{event}")]
ADMIN_ACTIONS = [  # (method, url, form data, status for finance and admin)
    ("GET", "/admin/invoices/{own}/pdf", None, 200),
    ("GET", "/admin/invoices/999999/pdf", None, 404),
    ("POST", "/admin/invoices/{client_inv}/manual-payment", {"reference": "TED 1", "amount": "10,00",
                                                              "received_on": RECEIVED}, 302),
    ("POST", "/admin/invoices/{own}/payments/{payment}/approve", None, 302),
    ("POST", "/admin/invoices/{own}/payments/{payment}/reject", {"reason": "teste"}, 302),
    ("POST", "/admin/invoices/{client_inv}/payments/{payment}/approve", None, 404),  # not that invoice's payment
    ("POST", "/admin/invoices/{client_inv}/payments/{payment}/reject", None, 404),
    ("POST", "/admin/invoices/{client_inv}/resend", None, 302),
    ("POST", "/admin/invoices/{other}/void", {"reason": "teste"}, 302),
    ("POST", "/admin/invoices/{other}/uncollectible", None, 302),
    ("POST", "/admin/invoices/999999/void", {"reason": "teste"}, 404),
]
ADMIN = [
    *((method, url, data, staff_statuses(ok, FINANCE))
      for view, key in ADMIN_VIEWS
      for method, url, ok, data in admin_pages(view, key, can_create=False, can_edit=False)),
    *((method, url, data, staff_statuses(ok, FINANCE)) for method, url, data, ok in ADMIN_ACTIONS),
]

# -- Stripe webhook: public, authenticated by its signature alone (tests/billing/test_stripe.py) ----------
WEBHOOK = [("POST", "/billing/webhooks/stripe", b"{}", _statuses(400))]

# -- partner API: manager and other_manager send their partner's token; anybody else has none (a session
# cookie is not enough: 401). The partner API lists its self-paying clients' invoices too.
API = [
    ("GET", "/api/v1/invoices", _statuses(401, manager=200, other_manager=200)),
    ("GET", "/api/v1/invoices/{own}", _statuses(401, manager=200, other_manager=404)),
    ("GET", "/api/v1/invoices/{client_inv}", _statuses(401, manager=200, other_manager=404)),
    ("GET", "/api/v1/invoices/{other}", _statuses(401, manager=404, other_manager=200)),
    ("GET", "/api/v1/invoices/abc", _statuses(401, manager=404, other_manager=404)),
    ("GET", "/api/v1/invoices/{own}/pdf", _statuses(401, manager=200, other_manager=404)),
    ("GET", "/api/v1/invoices/{other}/pdf", _statuses(401, manager=404, other_manager=200)),
    ("POST", "/api/v1/invoices/{own}/boleto", _statuses(401, manager=503, other_manager=404)),
    ("POST", "/api/v1/invoices/{other}/boleto", _statuses(401, manager=404, other_manager=503)),
]


def table():
    """The expected status of every (role, route): (role, method, url, form data, status)."""
    return [(role, method, url, data, expected[role])
            for method, url, data, expected in PANEL + INVOICES + ADMIN + WEBHOOK for role in ROLES]


def api_table():
    """(role, method, url, status) for the partner API."""
    return [(role, method, url, expected[role]) for method, url, expected in API for role in ROLES]


ACCESS_ROUTES: list[tuple[str, str]] = [
    *((method, url) for method, url, _data, _expected in PANEL + INVOICES + ADMIN + WEBHOOK),
    *((method, url) for method, url, _expected in API),
]
