"""The panel's order form registers a new holder inline ("Novo titular") with Novo cadastro's own
form fields and service: the summary checks both parts and saves nothing; a bad or duplicate CNPJ
(or a bad order field) re-renders the form with 422, each message next to its field, the typed
values kept, and neither the client nor the order saved."""

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.mail import OutboxEmail
from orders.models import Order, OrderStatus
from partner.models import Client
from tests.orders.helpers import order_data

NEW_CNPJ = "11.222.333/0001-81"


@pytest.fixture
def holder_form(plan):
    """A valid Novo cadastro, as the order form names its fields ("client.<field>")."""

    def make(**overrides):
        fields = {
            "payer": "partner", "software_id": str(plan.software_id), "plan_id": str(plan.id),
            "legal_name": "Mercearia Boa Vista Ltda", "trade_name": "Boa Vista", "cnpj": NEW_CNPJ,
            "email": "dono@boavista.example", "phone": "(11) 3333-4444", "cep": "01310-100",
            "street": "Av. Paulista", "number": "2000", "complement": "", "district": "Bela Vista",
            "city": "São Paulo", "state": "SP", "accountant_email": "",
        }
        fields.update(overrides)
        return {f"client.{k}": v for k, v in fields.items()}

    return make


def _order_form(service, fields, **extra):
    data = order_data(type("NoClient", (), {"id": ""})(), service)
    form = {k: str(v) for k, v in data.items() if k != "addons"}
    form.update({f"addon_{code}": str(q) for code, q in data["addons"].items()})
    form.update(fields)
    form.update(extra)
    return form


def _counts(db):
    return (db.session.scalar(select(func.count(Client.id))), db.session.scalar(select(func.count(Order.id))))


def test_new_holder_summary_then_confirm_registers_client_and_order(client, login_as, manager, partner, service,
                                                                     holder_form, db):
    http = login_as(manager)
    form = _order_form(service, holder_form(), holder="new")
    page = http.post("/pedidos/novo", data={**form, "step": "summary"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="summary"' in html
    assert 'value="Mercearia Boa Vista Ltda"' in html  # the holder's fields ride along to the confirmation
    assert _counts(db) == (0, 0)  # the summary saves nothing, not even the client

    done = http.post("/pedidos/novo", data=form, query_string={"step": "confirm"})
    assert done.status_code == 302
    holder = db.session.scalar(select(Client).where(Client.cnpj == "11222333000181"))
    assert holder.partner_id == partner.id and holder.legal_name == "Mercearia Boa Vista Ltda"
    order = db.session.scalar(select(Order))
    assert order.client_id == holder.id and order.status == OrderStatus.AWAITING_DOCUMENTATION
    assert done.headers["Location"].endswith(f"/pedidos/{order.id}")
    # registered as Novo cadastro registers: audited, and the client e-mailed to accept its contract
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "client.created",
                                                         AuditEvent.client_id == holder.id))
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.to == "dono@boavista.example")) >= 1


@pytest.mark.parametrize("step", ["summary", "confirm"])
def test_bad_cnpj_and_bad_order_field_show_both_and_save_nothing(client, login_as, manager, service, holder_form,
                                                                 db, step):
    form = _order_form(service, holder_form(cnpj="11.222.333/0001-82", email="sem-arroba"), holder="new",
                       term_months="7")
    page = login_as(manager).post("/pedidos/novo", data=form, query_string={"step": step})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'data-field-error="client.cnpj"' in html and "dígitos verificadores" in html
    assert 'data-field-error="client.email"' in html
    assert 'data-field-error="term_months"' in html  # the order's own errors in the same answer
    assert 'id="f-client-cnpj"' in html and 'aria-invalid="true"' in html
    assert 'value="11.222.333/0001-82"' in html and 'value="Mercearia Boa Vista Ltda"' in html  # typed values kept
    assert 'id="holder-new" value="new" data-testid="holder-new" checked' in html
    assert _counts(db) == (0, 0)


def test_duplicate_cnpj_is_refused_next_to_the_field(client, login_as, manager, client_row, service, holder_form, db):
    before = _counts(db)
    form = _order_form(service, holder_form(cnpj=client_row.cnpj), holder="new")
    page = login_as(manager).post("/pedidos/novo", data=form, query_string={"step": "confirm"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'data-field-error="client.cnpj"' in html and "Já existe um cliente com este CNPJ." in html
    assert _counts(db) == before  # neither a second client nor an order


def test_bad_holder_with_a_valid_order_saves_nothing(client, login_as, manager, service, holder_form, db):
    form = _order_form(service, holder_form(legal_name="", cep="123"), holder="new")
    page = login_as(manager).post("/pedidos/novo", data=form, query_string={"step": "confirm"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'data-field-error="client.legal_name"' in html and 'data-field-error="client.cep"' in html
    assert 'data-field-error="term_months"' not in html
    assert _counts(db) == (0, 0)


def test_chosen_client_ignores_the_new_holder_fields(client, login_as, manager, client_row, service, holder_form,
                                                     db):
    form = _order_form(service, holder_form(cnpj="bad"), holder="existing", client_id=str(client_row.id))
    done = login_as(manager).post("/pedidos/novo", data=form, query_string={"step": "confirm"})
    assert done.status_code == 302
    assert db.session.scalar(select(Order.client_id)) == client_row.id
    assert db.session.scalar(select(func.count(Client.id))) == 1


def test_form_offers_novo_titular_with_novo_cadastro_fields(client, login_as, manager, plan, service):
    html = login_as(manager).get("/pedidos/novo").get_data(as_text=True)
    assert 'data-testid="holder-new"' in html and 'data-holder-part="new"' in html
    for name in ("client.legal_name", "client.cnpj", "client.email", "client.cep", "client.state",
                 "client.software_id", "client.plan_id", "client.payer"):
        assert f'name="{name}"' in html, name
    assert f'data-software="{plan.software_id}"' in html  # the plan picker, as in Novo cadastro
    assert 'value="partner" data-pick="payer" checked' in html


def test_api_duplicate_holder_is_422_on_the_field(client, partner, client_row, service, plan, db):
    from core.db import db as _db
    from partner.services import create_api_token

    _token, plaintext = create_api_token(partner, "orders")
    _db.session.commit()
    holder = {"payer": "partner", "software_id": plan.software_id, "plan_id": plan.id, "legal_name": "Outra Ltda",
              "cnpj": client_row.cnpj, "email": "outra@exemplo.com.br", "cep": "01310-100", "street": "Rua A",
              "number": "1", "district": "Centro", "city": "São Paulo", "state": "SP"}
    body = {**order_data(client_row, service), "client": holder}
    body.pop("client_id")
    response = client.post("/api/v1/orders", json=body, headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 422
    assert "client.cnpj" in response.get_json()["error"]["fields"]
    assert _counts(db) == (1, 0)
