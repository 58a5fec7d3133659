"""The partner panel: dashboard, Novo cadastro, Gerenciar, editing, Meus dados, API tokens, language."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from itsdangerous import SignatureExpired
from sqlalchemy import func, select

from accounts.models import User
from core.audit import AuditEvent
from core.mail import OutboxEmail
from core.permissions import Role
from partner.models import ApiToken, Client, ContractStatus, PartnerEmail, Payer
from partner.services import load_software_token
from tests.factories import ClientFactory, PlanFactory, UserFactory
from tests.partner.conftest import row_ids


def count(model) -> int:
    from core.db import db

    return db.session.scalar(select(func.count()).select_from(model))


def html_of(response) -> str:
    return response.get_data(as_text=True)


# -- dashboard --------------------------------------------------------------------------------------


@pytest.fixture
def thirty(db, partner, plan):
    """30 clients of ``partner``: 3 blocked, 5 in trial paid by the partner, the rest active."""
    clients = ClientFactory.create_batch(22, partner=partner, plan=plan)
    clients += ClientFactory.create_batch(3, partner=partner, plan=plan, status=ContractStatus.BLOCKED)
    clients += ClientFactory.create_batch(5, partner=partner, plan=plan, status=ContractStatus.TRIAL,
                                          payer=Payer.PARTNER)
    return clients


def test_dashboard_pagination(db, login_as, manager, thirty):
    client = login_as(manager)
    first = client.get("/painel")
    assert first.status_code == 200
    assert 'data-testid="total">30<' in html_of(first)
    assert "Página 1 de 2" in html_of(first)
    page_one = row_ids(html_of(first))
    page_two = row_ids(html_of(client.get("/painel?page=2")))
    assert (len(page_one), len(page_two)) == (25, 5)
    assert set(page_one + page_two) == {c.id for c in thirty}
    expected = [c.id for c in sorted(thirty, key=lambda c: (c.legal_name, c.id))]
    assert page_one + page_two == expected
    assert row_ids(html_of(client.get("/painel?page=abc"))) == page_one
    assert row_ids(html_of(client.get("/painel?page=99"))) == []
    huge = client.get(f"/painel?page={10**20}")  # an offset beyond the database's integers
    assert huge.status_code == 200 and row_ids(html_of(huge)) == []


def test_dashboard_search(db, login_as, manager, partner, plan, thirty):
    target = ClientFactory(partner=partner, plan=plan, legal_name="Padaria Trigo de Ouro Ltda",
                           trade_name="Trigo de Ouro", cnpj="34028316000103", email="pao@trigo.example")
    client = login_as(manager)
    for q in ("trigo de ouro", "TRIGO", "34.028.316/0001-03", "34028316000103", "pao@trigo"):
        assert row_ids(html_of(client.get("/painel", query_string={"q": q}))) == [target.id], q
    none = client.get("/painel", query_string={"q": "nada-disso-existe"})
    assert row_ids(html_of(none)) == [] and "Nenhum cliente encontrado." in html_of(none)


def test_dashboard_filters_and_sort(db, login_as, manager, partner, plan, thirty):
    client = login_as(manager)
    blocked = {c.id for c in thirty if c.status == ContractStatus.BLOCKED}
    assert set(row_ids(html_of(client.get("/painel?status=blocked")))) == blocked
    by_partner = {c.id for c in thirty if c.payer == Payer.PARTNER}
    assert set(row_ids(html_of(client.get("/painel?payer=partner")))) == by_partner
    both = client.get("/painel?payer=partner&status=blocked")
    assert row_ids(html_of(both)) == []
    other_plan = PlanFactory(software=plan.software, name="Prata")
    moved = ClientFactory(partner=partner, plan=other_plan)
    assert row_ids(html_of(client.get(f"/painel?plan_id={other_plan.id}"))) == [moved.id]
    assert len(row_ids(html_of(client.get(f"/painel?software_id={plan.software_id}")))) == 25
    everyone = sorted(thirty + [moved], key=lambda c: (c.legal_name, c.id), reverse=True)
    assert row_ids(html_of(client.get("/painel?sort=-name"))) == [c.id for c in everyone[:25]]
    by_created = sorted(thirty + [moved], key=lambda c: (c.created_at, c.id))
    assert row_ids(html_of(client.get("/painel?sort=created"))) == [c.id for c in by_created[:25]]


def test_manager_sees_only_its_partners_clients(login_as, manager, client_row, other_client):
    html = html_of(login_as(manager).get("/painel"))
    assert row_ids(html) == [client_row.id]
    assert other_client.legal_name not in html
    assert 'data-testid="total">1<' in html


def test_accountant_sees_linked_clients_without_manager_buttons(db, login_as, accountant, partner, plan, client_row,
                                                              other_partner):
    unlinked = ClientFactory(partner=partner, plan=plan)
    elsewhere = ClientFactory(partner=other_partner, plan=plan, accountant_email=accountant.email)
    client = login_as(accountant)
    html = html_of(client.get("/painel"))
    assert set(row_ids(html)) == {client_row.id, elsewhere.id}  # linked by e-mail, whichever partner
    assert unlinked.id not in row_ids(html)
    assert "Novo cadastro" not in html
    manage = client.get(f"/clientes/{client_row.id}")
    assert manage.status_code == 200
    assert client_row.legal_name in html_of(manage)
    assert 'data-testid="manager-buttons"' not in html_of(manage)
    assert "Acessar software do cliente" not in html_of(manage)
    assert "Editar dados" not in html_of(manage)
    assert client.get(f"/clientes/{unlinked.id}").status_code == 404


def test_manager_sees_the_buttons(login_as, manager, client_row):
    html = html_of(login_as(manager).get(f"/clientes/{client_row.id}"))
    assert 'data-testid="manager-buttons"' in html
    assert "Acessar software do cliente" in html


# -- Novo cadastro ------------------------------------------------------------------------------------


def test_new_client_success(db, login_as, manager, partner, client_form):
    clients, users = count(Client), count(User)
    client = login_as(manager)
    assert client.get("/clientes/novo").status_code == 200
    response = client.post("/clientes/novo", data=client_form(accountant_email="Contador@Contabil.example"))
    assert response.status_code == 302
    new = db.session.scalar(select(Client).where(Client.email == "dono@boavista.example"))
    assert response.headers["Location"] == f"/clientes/{new.id}"
    assert (count(Client), count(User)) == (clients + 1, users + 2)  # the client's login and the accountant's
    assert new.partner_id == partner.id and new.cnpj == "11222333000181" and new.cep == "01310100"
    invited = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == "contador@contabil.example")).all()
    assert [m.kind for m in invited] == ["accountant_invitation"]  # the named accountant is asked to accept
    assert new.phone == "1133334444" and new.accountant_email == "contador@contabil.example"
    login = db.session.scalar(select(User).where(User.client_id == new.id))
    assert login.email == new.email and login.role == Role.CLIENT and login.password_hash is None
    sent = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == new.email)).all()
    assert [m.kind for m in sent] == ["contract_acceptance"]  # one e-mail: acceptance and first access
    assert "/primeiro-acesso/" in sent[0].body_text and sent[0].reply_to == partner.email
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.created",
                                                      AuditEvent.client_id == new.id))
    assert event.actor_id == manager.id and event.after["cnpj"] == "11222333000181"
    page = client.get(response.headers["Location"])
    assert "Mercearia Boa Vista Ltda" in html_of(page)
    assert new.id in row_ids(html_of(client.get("/painel")))


def test_price_shown_with_the_partner_discount(db, login_as, manager, client_form):
    client = login_as(manager)
    client.post("/clientes/novo", data=client_form(payer="partner"))
    new = db.session.scalar(select(Client).where(Client.email == "dono@boavista.example"))
    html = html_of(client.get(f"/clientes/{new.id}"))
    price = re.search(r'data-testid="price">(.*?)</dd>', html, re.S).group(1)
    assert "R$ 59,95" in price and "50% de desconto" in price and "R$ 119,90" in price


def test_price_for_client_payer_is_the_list_price(login_as, manager, client_row):
    html = html_of(login_as(manager).get(f"/clientes/{client_row.id}"))
    price = re.search(r'data-testid="price">(.*?)</dd>', html, re.S).group(1)
    assert "R$ 119,90" in price and "desconto" not in price


def test_alphanumeric_cnpj_is_accepted(db, login_as, manager, client_form):
    response = login_as(manager).post("/clientes/novo", data=client_form(cnpj="12.ABC.345/01DE-35"))
    assert response.status_code == 302
    assert db.session.scalar(select(Client.cnpj).where(Client.email == "dono@boavista.example")) == "12ABC34501DE35"


def _assert_rejected(response, field, message=None, *, banner=True):
    assert response.status_code == 422
    html = html_of(response)
    if banner:
        assert "Nada foi salvo" in html
    match = re.search(rf'data-field-error="{field}">([^<]+)<', html)
    assert match, f"no error next to {field}"
    if message:
        assert message in match.group(1)


@pytest.mark.parametrize("overrides, field, message", [
    ({"cnpj": "11.222.333/0001-82"}, "cnpj", "CNPJ inválido: confira os dígitos verificadores."),
    ({"cnpj": ""}, "cnpj", "Informe o CNPJ."),
    ({"legal_name": ""}, "legal_name", "Campo obrigatório"),
    ({"legal_name": "x" * 5000}, "legal_name", "máximo de 200 caracteres"),
    ({"email": "sem-arroba"}, "email", "E-mail inválido."),
    ({"email": "a" * 5000 + "@x.example"}, "email", "longo demais"),
    ({"cep": "123"}, "cep", "CEP inválido"),
    ({"state": "XX"}, "state", "UF inválida"),
    ({"street": "r" * 5000}, "street", "máximo"),
    ({"payer": "ninguem"}, "payer", None),
    ({"plan_id": ""}, "plan_id", None),
    ({"accountant_email": "contador@"}, "accountant_email", "E-mail inválido."),
])
def test_new_client_invalid_input(db, login_as, manager, client_form, committed, overrides, field, message):
    committed()
    before = (count(Client), count(User), count(OutboxEmail), count(AuditEvent))
    response = login_as(manager).post("/clientes/novo", data=client_form(**overrides))
    _assert_rejected(response, field, message)
    assert (count(Client), count(User), count(OutboxEmail), count(AuditEvent)) == before


def test_new_client_missing_everything(db, login_as, manager, committed):
    committed()
    before = count(Client)
    response = login_as(manager).post("/clientes/novo", data={})
    assert response.status_code == 422
    html = html_of(response)
    for field in ("legal_name", "cnpj", "email", "cep", "street", "number", "district", "city", "state",
                  "software_id", "plan_id", "payer"):
        assert f'data-field-error="{field}"' in html, field
    assert count(Client) == before


@pytest.mark.parametrize("owner", ["client", "manager", "staff", "other_partners_client"])
def test_new_client_duplicate_email(db, login_as, manager, partner, other_partner, plan, client_form, committed, owner):
    email = "ocupado@empresa.example"
    if owner == "client":
        ClientFactory(partner=partner, plan=plan, email=email)
    elif owner == "manager":
        UserFactory(role=Role.MANAGER, partner=partner, email=email)
    elif owner == "staff":
        UserFactory(role=Role.FINANCE, email=email)
    else:
        ClientFactory(partner=other_partner, plan=plan, email=email)
    committed()
    before = (count(Client), count(User), count(OutboxEmail))
    response = login_as(manager).post("/clientes/novo", data=client_form(email="OCUPADO@empresa.example"))
    _assert_rejected(response, "email", "Este e-mail já está cadastrado")
    assert (count(Client), count(User), count(OutboxEmail)) == before


def test_new_client_duplicate_cnpj(db, login_as, manager, partner, plan, client_form, committed):
    ClientFactory(partner=partner, plan=plan, cnpj="11222333000181")
    committed()
    before = count(Client)
    response = login_as(manager).post("/clientes/novo", data=client_form())
    _assert_rejected(response, "cnpj", "Já existe um cliente com este CNPJ.")
    assert count(Client) == before


@pytest.mark.parametrize("which", ["other_software", "retired", "missing"])
def test_new_client_plan_must_be_active_and_of_the_software(db, login_as, manager, plan, client_form, committed,
                                                            which):
    if which == "other_software":
        plan_id = PlanFactory(name="Outro").id
    elif which == "retired":
        plan_id = PlanFactory(software=plan.software, name="Aposentado", is_active=False).id
    else:
        plan_id = 987654
    committed()
    before = count(Client)
    response = login_as(manager).post("/clientes/novo", data=client_form(plan_id=str(plan_id)))
    _assert_rejected(response, "plan_id", "Escolha um plano ativo do software selecionado.")
    assert count(Client) == before


def test_retired_plans_are_not_offered(db, login_as, manager, plan, committed):
    retired = PlanFactory(software=plan.software, name="Aposentado", is_active=False)
    html = html_of(login_as(manager).get("/clientes/novo"))
    assert f'value="{plan.id}"' in html
    assert f'value="{retired.id}"' not in html


# -- Acessar software do cliente -----------------------------------------------------------------------


def test_access_software_token(app, db, login_as, manager, client_row):
    start = datetime.now(UTC)
    response = login_as(manager).post(f"/clientes/{client_row.id}/acessar-software")
    assert response.status_code == 302
    target = urlparse(response.headers["Location"])
    software_url = urlparse(client_row.software.url)
    assert (target.scheme, target.netloc, target.path) == (software_url.scheme, software_url.netloc, software_url.path)
    [token] = parse_qs(target.query)["revenda_token"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.software_accessed",
                                                      AuditEvent.client_id == client_row.id))
    assert event.actor_id == manager.id and event.after["manager"] == manager.email

    max_age = app.config["SOFTWARE_TOKEN_MAX_AGE"]
    with time_machine.travel(start + timedelta(seconds=max_age - 5), tick=False):
        payload = load_software_token(token)
    assert payload["client_id"] == client_row.id
    assert payload["cnpj"] == client_row.cnpj
    assert payload["manager"] == manager.email
    with time_machine.travel(start + timedelta(seconds=max_age + 5), tick=False), pytest.raises(SignatureExpired):
        load_software_token(token)


def test_access_software_is_a_post_for_managers_only(db, login_as, manager, accountant, client_row, other_client,
                                                     committed):
    committed()
    assert login_as(manager).get(f"/clientes/{client_row.id}/acessar-software").status_code == 405
    assert login_as(manager).post(f"/clientes/{other_client.id}/acessar-software").status_code == 404
    assert login_as(accountant).post(f"/clientes/{client_row.id}/acessar-software").status_code == 403
    assert count(AuditEvent) == 0


# -- edit client --------------------------------------------------------------------------------------


def _edit_form(client_row, **overrides):
    fields = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number", "complement",
              "district", "city", "state", "accountant_email")
    form = {k: getattr(client_row, k) or "" for k in fields}
    form.update(overrides)
    return form


def test_edit_client_and_history(db, login_as, manager, client_row):
    client = login_as(manager)
    assert client.get(f"/clientes/{client_row.id}/editar").status_code == 200
    old_name = client_row.legal_name
    response = client.post(f"/clientes/{client_row.id}/editar",
                           data=_edit_form(client_row, legal_name="Nome Novo Ltda", city="Campinas"))
    assert response.status_code == 302
    assert (client_row.legal_name, client_row.city) == ("Nome Novo Ltda", "Campinas")
    html = html_of(client.get(f"/clientes/{client_row.id}"))
    history = re.search(r'data-testid="history">(.*?)</table>', html, re.S).group(1)
    assert "client.updated" in history and "Dados do cliente alterados" in history
    assert f"Razão social:</span> {old_name}" in history and "Razão social:</span> Nome Novo Ltda" in history
    assert manager.email in history


def test_edit_client_invalid_changes_nothing(db, login_as, manager, client_row, committed):
    committed()
    cnpj, name = client_row.cnpj, client_row.legal_name
    response = login_as(manager).post(f"/clientes/{client_row.id}/editar",
                                      data=_edit_form(client_row, legal_name="Outro", cnpj="00.000.000/0001-00"))
    _assert_rejected(response, "cnpj", "CNPJ inválido")
    db.session.expire_all()
    assert (client_row.cnpj, client_row.legal_name) == (cnpj, name)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "client.updated")) == 0


def test_edit_other_partners_client_is_404(db, login_as, manager, accountant, other_client, client_row, committed):
    committed()
    name = other_client.legal_name
    response = login_as(manager).post(f"/clientes/{other_client.id}/editar",
                                      data=_edit_form(other_client, legal_name="Invadido Ltda"))
    assert response.status_code == 404
    assert login_as(accountant).post(f"/clientes/{client_row.id}/editar",
                                     data=_edit_form(client_row, legal_name="Contador Editou")).status_code == 403
    db.session.expire_all()
    assert other_client.legal_name == name and client_row.legal_name != "Contador Editou"


# -- Meus dados -------------------------------------------------------------------------------------------


def _partner_form(partner, **overrides):
    fields = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number", "complement",
              "district", "city", "state")
    form = {k: getattr(partner, k) or "" for k in fields}
    form.update(overrides)
    return form


def test_profile_basics_save(db, login_as, manager, partner):
    client = login_as(manager)
    assert client.get("/meus-dados").status_code == 200
    response = client.post("/meus-dados", data=_partner_form(partner, trade_name="Revenda Renovada",
                                                              phone="(21) 99999-8888"))
    assert response.status_code == 302
    assert (partner.trade_name, partner.phone) == ("Revenda Renovada", "21999998888")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "partner.updated"))
    assert "Revenda Renovada" in html_of(client.get("/meus-dados"))


@pytest.mark.parametrize("overrides, field", [({"cnpj": "11.222.333/0001-00"}, "cnpj"), ({"legal_name": ""}, "legal_name"),
                                              ({"email": "x"}, "email"), ({"trade_name": "t" * 5000}, "trade_name")])
def test_profile_basics_invalid(db, login_as, manager, partner, committed, overrides, field):
    committed()
    before = (partner.cnpj, partner.legal_name, partner.email)
    response = login_as(manager).post("/meus-dados", data=_partner_form(partner, **overrides))
    _assert_rejected(response, field)
    db.session.expire_all()
    assert (partner.cnpj, partner.legal_name, partner.email) == before


def test_profile_cnpj_of_another_partner(db, login_as, manager, partner, other_partner, committed):
    committed()
    response = login_as(manager).post("/meus-dados", data=_partner_form(partner, cnpj=other_partner.cnpj))
    _assert_rejected(response, "cnpj", "Este CNPJ já pertence a outra revenda.")


def test_linked_emails_add_remove(db, login_as, manager, partner):
    client = login_as(manager)
    response = client.post("/meus-dados/emails", data={"email": "Contabil@Revenda.example"})
    assert response.status_code == 302
    linked = db.session.scalar(select(PartnerEmail).where(PartnerEmail.partner_id == partner.id))
    assert linked.email == "contabil@revenda.example"
    assert "contabil@revenda.example" in html_of(client.get("/meus-dados?tab=emails"))
    assert client.post(f"/meus-dados/emails/{linked.id}/remover").status_code == 302
    assert count(PartnerEmail) == 0
    assert "contabil@revenda.example" not in html_of(client.get("/meus-dados?tab=emails"))


@pytest.mark.parametrize("email, message", [("nao-e-email", "E-mail inválido."), ("", "Informe o e-mail."),
                                            ("dup@revenda.example", "Este e-mail já está vinculado a uma revenda.")])
def test_linked_emails_invalid_or_duplicate(db, login_as, manager, other_partner, committed, email, message):
    other = PartnerEmail(partner_id=other_partner.id, email="dup@revenda.example")
    db.session.add(other)
    committed()
    response = login_as(manager).post("/meus-dados/emails", data={"email": email})
    _assert_rejected(response, "email", message, banner=False)
    assert count(PartnerEmail) == 1


def test_cannot_remove_another_partners_email(db, login_as, manager, other_partner, committed):
    other = PartnerEmail(partner_id=other_partner.id, email="deles@revenda.example")
    db.session.add(other)
    committed()
    assert login_as(manager).post(f"/meus-dados/emails/{other.id}/remover").status_code == 404
    assert count(PartnerEmail) == 1


def test_api_token_create_once_hashed_and_revoke(db, app, login_as, manager, partner, client_row):
    client = login_as(manager)
    response = client.post("/meus-dados/api/tokens", data={"name": "ERP"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"  # the one page with the token is not kept
    shown = re.search(r'id="new-token" value="(rvp_[^"]+)"', html_of(response)).group(1)
    token = db.session.scalar(select(ApiToken).where(ApiToken.partner_id == partner.id))
    assert token.name == "ERP" and shown.startswith(token.prefix)
    # stored hashed: the plaintext appears in no column of any api_tokens row
    rows = db.session.execute(select(ApiToken.__table__)).all()
    assert all(shown not in str(value) for row in rows for value in row)
    assert shown not in html_of(client.get("/meus-dados?tab=api"))  # shown once

    headers = {"Authorization": f"Bearer {shown}"}
    assert client.get("/api/v1/clients", headers=headers).status_code == 200
    revoke = client.post(f"/meus-dados/api/tokens/{token.id}/revogar")
    assert revoke.status_code == 302
    assert token.revoked_at is not None
    assert client.get("/api/v1/clients", headers=headers).status_code == 401
    assert "Revogado" in html_of(client.get("/meus-dados?tab=api"))


def test_api_token_needs_a_name_and_others_tokens_are_404(db, login_as, manager, other_partner, committed):
    from partner.services import create_api_token

    theirs, _plaintext = create_api_token(other_partner, "Deles")
    committed()
    client = login_as(manager)
    _assert_rejected(client.post("/meus-dados/api/tokens", data={"name": ""}), "name", banner=False)
    assert client.post(f"/meus-dados/api/tokens/{theirs.id}/revogar").status_code == 404
    db.session.expire_all()
    assert theirs.revoked_at is None
    assert db.session.scalar(select(func.count(ApiToken.id)).where(ApiToken.partner_id == manager.partner_id)) == 0


# -- language ---------------------------------------------------------------------------------------------


def test_language_switch(login_as, manager):
    client = login_as(manager)
    assert '<html lang="pt-BR">' in html_of(client.get("/painel"))
    response = client.post("/idioma/en", data={"next": "/painel"})
    assert response.status_code == 302 and response.headers["Location"] == "/painel"
    with client.session_transaction() as session:
        assert session["lang"] == "en"
    assert '<html lang="en">' in html_of(client.get("/painel"))
    client.post("/idioma/pt_BR", data={"next": "https://evil.example/"})
    assert '<html lang="pt-BR">' in html_of(client.get("/painel"))
    client.post("/idioma/xx")
    with client.session_transaction() as session:
        assert session["lang"] == "pt_BR"

