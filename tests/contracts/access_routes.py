"""The contracts access tables (data only, shared by test_contracts_access.py and the completeness
check of tests/test_access_matrix.py through ``ACCESS_ROUTES``).

Placeholders: {client} the partner's active client (with a plan change scheduled), {trial} its client
in trial, {link} a pending signup link of the partner, {token} that link's URL token, {accept} a
signed acceptance token for {client}; admin pages also {acceptance}, {terms}, {event}.
"other_manager" manages another partner, so every {client}/{trial}/{link} is another partner's row
for it (404)."""

from tests.access_common import ROLES, admin_pages, staff_statuses


def manager_only(ok: int, other: int = 404) -> dict:
    """A manager route: login first (302), then the permission (403), then tenancy (404)."""
    return {"anonymous": 302, "admin": 403, "finance": 403, "manager": ok, "other_manager": other,
            "accountant": 403, "client": 403}


def everyone(status: int) -> dict:
    return dict.fromkeys(ROLES, status)


def client_act(status: int) -> dict:
    """The acceptance link: the client's own act, so logged out (whoever holds the client's e-mail) or as
    the client; anyone else logged in (a manager above all) is refused."""
    return {**dict.fromkeys(ROLES, 403), "anonymous": status, "client": status}


CLIENT_ONLY = {"anonymous": 302, "admin": 403, "finance": 403, "manager": 403, "other_manager": 403,
               "accountant": 403, "client": None}

# (method, url, form data or the name of a form built by the test, {role: status})
MATRIX = [
    ("GET", "/links-de-contratacao", None, manager_only(200, other=200)),
    ("POST", "/links-de-contratacao", "link_form", manager_only(302, other=302)),
    ("GET", "/links-de-contratacao/{link}", None, manager_only(200)),
    ("POST", "/links-de-contratacao/{link}/enviar", {"to": "x@cliente.example"}, manager_only(302)),
    ("POST", "/links-de-contratacao/{link}/revogar", None, manager_only(302)),
    ("POST", "/clientes/{client}/contrato/status", {"status": "blocked", "reason": "manual"}, manager_only(302)),
    ("POST", "/clientes/{client}/contrato/pagador", {"payer": "partner"}, manager_only(302)),
    ("POST", "/clientes/{trial}/contrato/teste", {"trial_ends_on": "2099-01-31"}, manager_only(302)),
    ("POST", "/clientes/{client}/contrato/reenviar-aceite", None, manager_only(302)),
    ("POST", "/clientes/{client}/software", "plan_form", manager_only(302)),
    ("POST", "/clientes/{client}/software/cancelar-agendamento", None, manager_only(302)),
    ("GET", "/contratar/{token}", None, everyone(200)),
    ("POST", "/contratar/{token}", "signup_form", everyone(302)),
    ("GET", "/aceite/{accept}", None, client_act(200)),
    ("POST", "/aceite/{accept}", {"accept_terms": "1"}, client_act(302)),
    ("GET", "/cliente/aceite", None, {**CLIENT_ONLY, "client": 200}),
    ("POST", "/cliente/aceite", {"accept_terms": "1"}, {**CLIENT_ONLY, "client": 302}),
    ("GET", "/clientes/{client}?tab=contrato", None, {"anonymous": 302, "admin": 403, "finance": 403,
                                                      "manager": 200, "other_manager": 404, "accountant": 200,
                                                      "client": 403}),
]

# -- the API: a partner token ("own"), another partner's token, or none (a session cookie is not enough) --
# (method, url, JSON body or the name of one built by the test, own token, other partner's token)
API_ROUTES = [
    ("GET", "/api/v1/signup-links", None, 200, 200),
    ("POST", "/api/v1/signup-links", "link", 201, 201),
    ("DELETE", "/api/v1/signup-links/{link}", None, 200, 404),
    ("POST", "/api/v1/clients/{client}/status", {"status": "blocked", "reason": "manual"}, 200, 404),
    ("POST", "/api/v1/clients/{client}/plan", "plan", 200, 404),
    ("POST", "/api/v1/clients/{client}/payer", {"payer": "partner"}, 200, 404),
    ("GET", "/api/v1/clients/{client}/history", None, 200, 404),
    ("GET", "/api/v1/clients/{client}/contract", None, 200, 404),
    ("DELETE", "/api/v1/clients/{client}/plan/pending", None, 200, 404),
    ("POST", "/api/v1/clients/{client}/acceptance-email", None, 202, 404),
]

# -- staff admin views -------------------------------------------------------------------------------------
# (endpoint, id key, roles that may use it, can create); nothing here is edited.
ADMIN_VIEWS = [
    ("admin_signup_links", "link", {"admin", "finance"}, False),
    ("admin_acceptances", "acceptance", {"admin", "finance"}, False),
    ("admin_contract_events", "event", {"admin", "finance"}, False),
    ("admin_terms", "terms", {"admin"}, True),
]

#: (method, url, form data, {role: status}) for every page of every admin view.
ADMIN_ROWS = [
    (method, url, data, staff_statuses(ok, allowed))
    for view, key, allowed, can_create in ADMIN_VIEWS
    for method, url, ok, data in admin_pages(view, f"{{{key}}}", can_create=can_create, can_edit=False)
]

ACCESS_ROUTES: list[tuple[str, str]] = [
    *((method, url) for method, url, _data, _expected in MATRIX),
    *((method, url) for method, url, *_rest in API_ROUTES),
    *((method, url) for method, url, _data, _expected in ADMIN_ROWS),
]
