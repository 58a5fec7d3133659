"""Imports flow one way (import-linter checks the graph, `make lint`); what that asks of the code at
run time: the staff admin is assembled from each domain's admin.py, and lower domains reach higher
ones only through blinker signals, answered by receivers the factory connects."""

import re

from sqlalchemy import select

from billing import services as billing_services
from contracts import services as contract_services
from contracts.models import ContractEvent, EventKind
from contracts.signals import payment_method_asked
from core.money import format_brl
from partner import services as partner_services
from partner.models import Payer
from partner.signals import client_registered
from tests.factories import ClientFactory


def test_staff_admin_is_assembled_from_each_domain_in_the_same_menu_order(app):
    endpoints = [view.endpoint for view in app.extensions["revenda_admin"]._views]
    assert endpoints[:7] == ["admin", "software", "plans", "partners", "users", "audit", "outbox"]
    assert endpoints.index("admin_signup_links") < endpoints.index("admin_certificates") < endpoints.index("invoices")


def test_staff_home_cards_come_from_the_domains_in_the_order_staff_use_them(db, login_as, admin_user, finance_user):
    def titles(user):
        html = login_as(user).get("/admin/").get_data(as_text=True).split('data-testid="staff-shortcuts"')[1]
        return re.findall(r'<h3 class="h6 card-title mb-1">([^<]+)</h3>', html)

    assert titles(admin_user) == ["Faturas vencidas", "Pagamentos a aprovar", "Todas as faturas", "E-mails com falha",
                                  "E-mails enviados", "Auditoria", "Usuários", "Revendas", "Planos", "Serviços"]
    assert titles(finance_user) == ["Faturas vencidas", "Pagamentos a aprovar", "Todas as faturas",
                                    "E-mails com falha", "E-mails enviados"]


def test_registering_a_client_announces_it_and_contracts_asks_for_acceptance(app, db, partner, plan, manager):
    heard = []

    def listener(client, **kwargs):
        heard.append((client, kwargs))

    data = {"payer": "client", "software_id": plan.software_id, "plan_id": plan.id, "legal_name": "Sinal Ltda",
            "cnpj": "11.222.333/0001-81", "email": "dono@sinal.example", "cep": "01310-100", "street": "Av. Paulista",
            "number": "1", "district": "Bela Vista", "city": "São Paulo", "state": "SP"}
    with app.test_request_context(), client_registered.connected_to(listener):
        client = partner_services.register_client(partner, data, actor=manager)
    assert heard == [(client, {"actor": manager})]
    requested = db.session.scalar(select(ContractEvent).where(ContractEvent.client_id == client.id,
                                                              ContractEvent.kind == EventKind.ACCEPTANCE_REQUESTED))
    assert requested is not None and requested.actor_id == manager.id


def test_billing_answers_whether_a_trial_payer_has_a_payment_method(db, partner, plan):
    client = ClientFactory(partner=partner, plan=plan, payer=Payer.PARTNER)
    # without online payments (the manual gateway) every payer pays by transfer / PIX: billing says yes
    assert billing_services.online_payments_enabled() is False
    assert contract_services.has_payment_method(client) is True
    with payment_method_asked.muted():
        assert contract_services.has_payment_method(client) is False


def test_money_text_lives_in_core_and_reads_the_same_everywhere(app):
    from billing.pricing import format_brl as billing_format_brl

    assert billing_format_brl is format_brl
    assert format_brl(123456) == "R$ 1.234,56" and format_brl(-5) == "-R$ 0,05"
    assert app.jinja_env.filters["brl"] is format_brl
