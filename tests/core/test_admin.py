"""Staff admin (Flask-Admin at /admin): Portuguese, local-time and R$ presentation, raw CSV exports,
staff user management with the first-access e-mail, role checks, CSRF and the logout button."""

import csv
import io
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from accounts.models import User
from billing.models import Invoice, InvoiceStatus
from core.admin import LIST_TYPE_FORMATTERS, enum_label
from core.audit import AuditEvent
from core.mail import OutboxEmail
from core.permissions import Role
from partner.models import Payer, Plan, Software
from tests.conftest import login_id
from tests.factories import PlanFactory

#: 18:07 UTC is 15:07 in São Paulo (UTC-3, no daylight saving since 2019).
RECORDED = datetime(2026, 11, 23, 18, 7, 27, 386778, tzinfo=UTC)
RAW_UTC = "2026-11-23 18:07:27"
LOCAL = "23/11/2026 15:07"


def text(response) -> str:
    return response.get_data(as_text=True)


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text(response))))


@pytest.fixture
def priced_plan(db):
    plan = PlanFactory(name="Ouro", price_cents=123456)
    plan.created_at = RECORDED
    db.session.flush()
    return plan


@pytest.fixture
def invoice(db, partner):
    row = Invoice(number="2026-000777", payer=Payer.PARTNER, payer_key=Invoice.key_for(Payer.PARTNER, partner.id),
                  partner_id=partner.id, month="2026-11", due_date=date(2026, 12, 10), status=InvoiceStatus.PAID,
                  total_cents=498765, issued_at=RECORDED, paid_at=RECORDED)
    db.session.add(row)
    db.session.flush()
    return row


def new_user_form(**values) -> dict:
    form = {"email": "nova.gestora@revenda.example", "name": "Nova Gestora", "role": "manager",
            "partner": "__None", "is_active": "y"}
    form.update(values)
    return form


def user_count(email: str) -> int:
    from core.db import db

    return db.session.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email.lower()))


def field_errors(html: str, field: str) -> str:
    """The text of the form group of ``field`` (where Flask-Admin puts the field's errors)."""
    match = re.search(rf'<div class="form-group[^"]*">\s*<label for="{field}".*?</div>\s*(?=<div class="form-group|<hr>)',
                      html, re.S)
    assert match, f"no form group for {field}"
    return match.group(0)


# -- presentation ---------------------------------------------------------------------------------------


def test_list_and_details_show_local_time_and_reais(db, login_as, admin_user, priced_plan):
    http = login_as(admin_user)
    listing = text(http.get("/admin/plans/"))
    details = text(http.get(f"/admin/plans/details/?id={priced_plan.id}"))
    for html in (listing, details):
        assert "R$ 1.234,56" in html and LOCAL in html
        assert RAW_UTC not in html and "123456" not in html and "+00:00" not in html


def test_other_domains_inherit_the_formats(db, login_as, finance_user, invoice):
    listing = text(login_as(finance_user).get("/admin/invoices/"))
    row = listing[listing.index("2026-000777"):]
    assert "10/12/2026" in row and "R$ 4.987,65" in row and LOCAL in row
    assert "2026-12-10" not in listing and RAW_UTC not in listing


def test_date_and_enum_formatters(app):
    fmt = LIST_TYPE_FORMATTERS
    assert fmt[date](None, date(2026, 3, 5), "due_date") == "05/03/2026"
    with app.app_context():
        assert fmt[datetime](None, datetime(2026, 1, 1, 2, 30, tzinfo=UTC), "at") == "31/12/2025 23:30"
    assert [enum_label(r) for r in Role] == ["Administrador", "Financeiro", "Gestor", "Contador", "Cliente"]


def test_csv_export_keeps_raw_utc_and_integer_cents(db, login_as, admin_user, priced_plan, manager):
    http = login_as(admin_user)
    [row] = [r for r in csv_rows(http.get("/admin/plans/export/csv/")) if r["Nome"] == "Ouro"]
    assert row["Preço mensal"] == "123456"
    assert row["Criado em"] == RECORDED.isoformat() == "2026-11-23T18:07:27.386778+00:00"
    users = {r["E-mail"]: r for r in csv_rows(http.get("/admin/users/export/csv/"))}
    assert users[manager.email]["Papel"] == "manager" and users[manager.email]["Revenda (código)"] == str(manager.partner_id)


def test_finance_invoice_export_is_not_formatted_for_people(db, login_as, finance_user, invoice):
    body = text(login_as(finance_user).get("/admin/invoices/export/csv/"))
    assert "R$" not in body and "10/12/2026" not in body and "2026-12-10" in body and RECORDED.isoformat() in body


ENGLISH = ("Created At", "Is Active", "Price Cents", "Legal Name", "Trade Name", "Last Login At", "Actor Label",
           "Object Type", "Body Text", ">Role<", ">Url<", ">Subject<", ">Status<", ">Partner<", ">Email<")


@pytest.mark.parametrize("view, expected", [
    ("software", ("Nome", "Endereço (URL)", "Ativo", "Criado em")),
    ("plans", ("Software", "Nome", "Preço mensal", "Ativo", "Criado em")),
    ("partners", ("Razão social", "Nome fantasia", "CNPJ", "E-mail de cobrança", "Ativo", "Criado em")),
    ("users", ("E-mail", "Nome", "Papel", "Revenda", "Ativo", "Último acesso")),
    ("audit", ("Quando", "Quem", "Ação", "Revenda", "Cliente", "Antes", "Depois")),
    ("outbox", ("Criado em", "Para", "Assunto", "Tipo", "Situação", "Tentativas", "Enviado em")),
])
def test_core_views_speak_portuguese(db, login_as, admin_user, view, expected):
    html = text(login_as(admin_user).get(f"/admin/{view}/"))
    headers = re.findall(r'<th class="column-header[^"]*">(.*?)</th>', html, re.S)
    titles = [re.sub(r"<[^>]+>|\s+", " ", h).strip() for h in headers]
    assert all(any(title.startswith(e) for title in titles) for e in expected), titles
    for english in ENGLISH:
        assert english not in html, english


def test_roles_show_in_portuguese_and_filter_by_role(db, login_as, admin_user, manager, finance_user):
    http = login_as(admin_user)
    html = text(http.get("/admin/users/"))
    assert "Gestor" in html and "Financeiro" in html and "Administrador" in html
    assert ">MANAGER<" not in re.sub(r"\s+", "", html) and "FINANCE" not in html.split("filter-groups-data")[0]
    view = next(v for v in http.application.extensions["revenda_admin"]._views if v.endpoint == "users")
    index = next(i for i, f in enumerate(view._filters) if str(f.name) == "Papel")
    filtered = http.get(f"/admin/users/?flt0_{view.get_filter_arg(index, view._filters[index])}=FINANCE")
    assert filtered.status_code == 200
    assert finance_user.email in text(filtered) and manager.email not in text(filtered)


def test_audit_list_is_in_words_and_details_keep_the_record(db, login_as, admin_user, client_row, plan):
    long_value = "x" * 300
    event = AuditEvent(action="contract.plan_changed", object_type="client", object_id=client_row.id,
                       partner_id=client_row.partner_id, client_id=client_row.id,
                       before={"note": long_value}, after={"plan_id": plan.id, "monthly_price_cents": 5995})
    db.session.add(event)
    db.session.flush()
    http = login_as(admin_user)
    listing = text(http.get("/admin/audit/"))
    row = listing.split('<td class="col-before">', 1)[1].split("</tr>", 1)[0]
    assert "x" * 40 not in row and "…" in row  # long values cut short
    assert "Plano:</span> " + str(plan) in unescape(row) and "Mensalidade:</span> R$ 59,95" in unescape(row)
    assert "Plano alterado" in listing and client_row.legal_name in listing and str(client_row.partner) in listing
    assert "contract.plan_changed" not in listing and "monthly_price_cents" not in listing
    assert '<div class="table-responsive">' in listing and ".table-responsive { overflow-x: auto; }" in listing
    details = text(http.get(f"/admin/audit/details/?id={event.id}"))
    assert long_value in details and "audit-json-full" in details and "contract.plan_changed" in details


# -- catalogue forms ------------------------------------------------------------------------------------


def test_plan_form_in_centavos_with_validation(db, login_as, admin_user, plan):
    http = login_as(admin_user)
    form_page = text(http.get("/admin/plans/new/"))
    assert "Preço mensal (centavos)" in form_page and "4990 = R$ 49,90" in form_page
    response = http.post("/admin/plans/new/", data={"software": str(plan.software_id), "name": "Prata",
                                                    "price_cents": "-1", "is_active": "y"})
    assert response.status_code == 200 and "O preço não pode ser negativo." in field_errors(text(response), "price_cents")
    response = http.post("/admin/plans/new/", data={"software": str(plan.software_id), "name": "Prata",
                                                    "price_cents": "dez"})
    assert re.findall(r"<li>(.*?)</li>", field_errors(text(response), "price_cents")) == ["O valor inteiro não é válido."]
    response = http.post("/admin/plans/new/", data={"software": str(plan.software_id), "name": "",
                                                    "price_cents": "100"})
    assert "Informe o nome do plano." in field_errors(text(response), "name")
    response = http.post("/admin/plans/new/", data={"software": "__None", "name": "Prata", "price_cents": "100"})
    assert "Escolha o software do plano." in field_errors(text(response), "software")
    response = http.post("/admin/plans/new/", data={"software": str(plan.software_id), "name": plan.name.upper(),
                                                    "price_cents": "100"})
    assert "já tem um plano com este nome" in field_errors(text(response), "name")
    assert db.session.scalar(select(func.count()).select_from(Plan).where(Plan.name == "Prata")) == 0
    response = http.post("/admin/plans/new/", data={"software": str(plan.software_id), "name": "Prata",
                                                    "price_cents": "4990", "is_active": "y"})
    assert response.status_code == 302
    saved = db.session.scalar(select(Plan).where(Plan.name == "Prata"))
    assert saved.price_cents == 4990 and "R$ 49,90" in text(http.get("/admin/plans/"))


@pytest.mark.parametrize("url, ok", [("https://app.exemplo.com.br", True), ("http://10.0.0.5:8080/x", True),
                                     ("ftp://exemplo.com", False), ("javascript:alert(1)", False),
                                     ("exemplo.com", False)])
def test_software_url_must_be_http(db, login_as, admin_user, url, ok):
    response = login_as(admin_user).post("/admin/software/new/", data={"name": "Emissor", "url": url, "is_active": "y"})
    saved = db.session.scalar(select(Software).where(Software.name == "Emissor"))
    if ok:
        assert response.status_code == 302 and saved.url == url
    else:
        assert saved is None and "http:// ou https://" in field_errors(text(response), "url")


def test_partner_form_cleans_cnpj_and_refuses_an_invalid_one(db, login_as, admin_user):
    from partner.models import Partner

    http = login_as(admin_user)
    data = {"legal_name": "Revenda Nova Ltda", "cnpj": "11.222.333/0001-00", "email": "fin@nova.example",
            "is_active": "y"}
    response = http.post("/admin/partners/new/", data=data)
    assert "CNPJ inválido" in field_errors(text(response), "cnpj")
    assert db.session.scalar(select(Partner).where(Partner.legal_name == "Revenda Nova Ltda")) is None
    response = http.post("/admin/partners/new/", data={**data, "cnpj": "11.222.333/0001-81", "email": "FIN@Nova.example"})
    assert response.status_code == 302
    saved = db.session.scalar(select(Partner).where(Partner.legal_name == "Revenda Nova Ltda"))
    assert saved.cnpj == "11222333000181" and saved.email == "fin@nova.example"
    assert "11.222.333/0001-81" in text(http.get("/admin/partners/"))


# -- users ------------------------------------------------------------------------------------------------


def test_user_form_has_no_password_and_portuguese_roles(db, login_as, admin_user):
    html = text(login_as(admin_user).get("/admin/users/new/"))
    assert "password" not in html.lower() and "senha" not in html.lower()
    assert '<option value="manager">Gestor</option>' in html and '<option value="admin">Administrador</option>' in html


def test_manager_without_partner_is_refused_and_nothing_saved(db, login_as, admin_user, inbox, deliver_mail):
    response = login_as(admin_user).post("/admin/users/new/", data=new_user_form())
    assert response.status_code == 200
    assert "Escolha a revenda do gestor." in field_errors(text(response), "partner")
    assert "Nada foi salvo: corrija os campos destacados." in text(response) and "Failed" not in text(response)
    assert user_count("nova.gestora@revenda.example") == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    deliver_mail()
    assert inbox.to("nova.gestora@revenda.example") == []


@pytest.mark.parametrize("values, field, message", [
    ({"role": "finance", "partner": "{partner}"}, "partner", "Só gestores pertencem a uma revenda"),
    ({"email": "não é e-mail", "partner": "{partner}"}, "email", "E-mail inválido."),
    ({"email": "", "partner": "{partner}"}, "email", "Informe o e-mail."),
    ({"email": "{taken}", "partner": "{partner}"}, "email", "Já existe um usuário com este e-mail."),
    ({"role": "client"}, "role", "criados pelo cadastro do cliente"),
    ({"role": "chefe", "partner": "{partner}"}, "role", ""),
])
def test_bad_user_input_shows_the_error_next_to_the_field(db, login_as, admin_user, partner, manager, values, field,
                                                          message):
    before = db.session.scalar(select(func.count()).select_from(User))
    data = new_user_form(**{k: v.format(partner=partner.id, taken=manager.email.upper()) for k, v in values.items()})
    response = login_as(admin_user).post("/admin/users/new/", data=data)
    assert response.status_code == 200
    group = field_errors(text(response), field)
    assert "invalid-feedback" in group or "has-error" in group or "is-invalid" in group
    assert message in group
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_creating_a_manager_sends_the_first_access_email(db, login_as, admin_user, partner, inbox, deliver_mail):
    http = login_as(admin_user)
    response = http.post(
        "/admin/users/new/", data=new_user_form(email="Nova.Gestora@Revenda.example", partner=str(partner.id)))
    assert response.status_code == 302
    assert "E-mail de primeiro acesso enviado para nova.gestora@revenda.example." in text(http.get("/admin/users/"))
    user = db.session.scalar(select(User).where(User.email == "nova.gestora@revenda.example"))
    assert user.role == Role.MANAGER and user.partner_id == partner.id and user.password_hash is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
    assert event.object_id == user.id and event.after["role"] == "manager" and event.actor_label == admin_user.email
    deliver_mail()
    inbox.wait_for(1)
    [message] = inbox.to("nova.gestora@revenda.example")
    assert "/primeiro-acesso/" in message.get_body(("plain",)).get_content()


def test_creating_finance_staff_needs_no_partner(db, login_as, admin_user, inbox, deliver_mail):
    response = login_as(admin_user).post("/admin/users/new/", data=new_user_form(email="caixa@plataforma.example",
                                                                                role="finance"))
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "caixa@plataforma.example")).role == Role.FINANCE
    deliver_mail()
    inbox.wait_for(1)
    assert len(inbox.to("caixa@plataforma.example")) == 1


def test_editing_a_user_is_audited_and_keeps_its_email_unique(db, login_as, admin_user, manager, other_partner):
    http = login_as(admin_user)
    data = new_user_form(email=manager.email, name="Outro Nome", partner=str(other_partner.id))
    assert http.post(f"/admin/users/edit/?id={manager.id}", data=data).status_code == 302
    db.session.refresh(manager)
    assert manager.partner_id == other_partner.id and manager.name == "Outro Nome"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.before["partner_id"] != event.after["partner_id"] == other_partner.id
    assert "email" not in event.after


def test_deactivate_instead_of_delete(db, login_as, admin_user, manager):
    http = login_as(admin_user)
    assert "/admin/users/delete/" not in text(http.get("/admin/users/"))
    response = http.post("/admin/users/action/", data={"action": "deactivate", "rowid": [manager.id, admin_user.id]})
    assert response.status_code == 302
    db.session.refresh(manager)
    db.session.refresh(admin_user)
    assert manager.is_active is False and admin_user.is_active is True
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivated")).object_id == manager.id
    assert "Você não pode desativar o próprio usuário." in text(http.get("/admin/users/"))


def test_admin_cannot_demote_or_deactivate_themselves(db, login_as, admin_user):
    http = login_as(admin_user)
    response = http.post(f"/admin/users/edit/?id={admin_user.id}",
                         data=new_user_form(email=admin_user.email, role="finance"))
    assert "Você não pode mudar o próprio papel." in field_errors(text(response), "role")
    db.session.refresh(admin_user)
    assert admin_user.role == Role.ADMIN


# -- access, CSRF, logout -----------------------------------------------------------------------------------


def test_finance_reaches_invoices_but_not_catalogue_or_users(db, login_as, finance_user, manager, plan):
    http = login_as(finance_user)
    for url in ("/admin/software/", "/admin/plans/", "/admin/partners/", "/admin/users/", "/admin/audit/",
                "/admin/users/new/", f"/admin/users/edit/?id={manager.id}", f"/admin/plans/details/?id={plan.id}"):
        assert http.get(url).status_code == 403, url
    assert http.post("/admin/users/new/", data=new_user_form()).status_code == 403
    assert user_count("nova.gestora@revenda.example") == 0
    for url in ("/admin/invoices/", "/admin/payments/", "/admin/outbox/"):
        assert http.get(url).status_code == 200, url
    home = text(http.get("/admin/"))
    assert "Faturas vencidas" in home and "/admin/invoices/?flt0_" in home
    assert "/admin/users/" not in home.split('data-testid="staff-shortcuts"')[1]
    assert "Auditoria" not in home.split('data-testid="staff-shortcuts"')[1]


def test_overdue_shortcut_lists_only_overdue_invoices(db, login_as, finance_user, partner, invoice):
    overdue = Invoice(number="2026-000778", payer=Payer.PARTNER, payer_key="partner:overdue", partner_id=partner.id,
                      month="2026-10", due_date=date(2020, 1, 10), status=InvoiceStatus.OPEN, total_cents=100)
    db.session.add(overdue)
    db.session.flush()
    http = login_as(finance_user)
    home = text(http.get("/admin/"))
    url = unescape(re.search(r'href="([^"]+)"[^>]*>\s*<div class="card-body">\s*<h3[^>]*>Faturas vencidas', home).group(1))
    listing = text(http.get(url))
    assert "2026-000778" in listing and "2026-000777" not in listing


def test_admin_home_offers_the_admin_shortcuts(db, login_as, admin_user):
    html = text(login_as(admin_user).get("/admin/")).split('data-testid="staff-shortcuts"')[1]
    for title in ("Faturas vencidas", "Auditoria", "E-mails enviados", "E-mails com falha", "Usuários"):
        assert title in html


def _login(http, user):
    with http.session_transaction() as session:
        session["_user_id"] = login_id(user)
        session["_fresh"] = True
    return http


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_admin_posts_need_the_csrf_token(db, csrf_client, admin_user, plan, manager):
    http = _login(csrf_client, admin_user)
    form = {"software": str(plan.software_id), "name": "Bronze", "price_cents": "990", "is_active": "y"}
    page = text(http.get("/admin/plans/new/"))
    assert 'name="csrf_token"' in page
    assert http.post("/admin/plans/new/", data=form).status_code == 400
    assert db.session.scalar(select(Plan).where(Plan.name == "Bronze")) is None
    assert http.post(f"/admin/users/edit/?id={manager.id}", data=new_user_form(email=manager.email)).status_code == 400
    assert http.post("/admin/users/action/", data={"action": "deactivate", "rowid": manager.id}).status_code == 400
    db.session.refresh(manager)
    assert manager.is_active
    assert 'name="csrf_token"' in text(http.get(f"/admin/users/edit/?id={manager.id}"))
    assert 'name="csrf_token"' in text(http.get("/admin/users/"))  # the actions form
    response = http.post("/admin/plans/new/", data={**form, "csrf_token": _token(page)})
    assert response.status_code == 302
    assert db.session.scalar(select(Plan).where(Plan.name == "Bronze")).price_cents == 990


def test_every_admin_page_has_the_user_and_a_logout_button(db, csrf_client, admin_user, plan, invoice):
    http = _login(csrf_client, admin_user)
    for url in ("/admin/", "/admin/plans/", "/admin/plans/new/", f"/admin/plans/edit/?id={plan.id}",
                f"/admin/plans/details/?id={plan.id}", "/admin/admin_terms/", "/admin/admin_certificates/",
                f"/admin/invoices/details/?id={invoice.id}"):
        html = text(http.get(url))
        nav = html[html.index("<nav"):html.index("</nav>")]
        assert admin_user.email in nav, url
        assert re.search(r'<form method="post" action="/logout"[^>]*>\s*<input type="hidden" name="csrf_token"', nav), url
        assert ">Sair</button>" in nav, url
    response = http.post("/logout", data={"csrf_token": _token(html)})
    assert response.status_code == 302
    assert http.get("/admin/").status_code == 302  # back to the login page



def test_every_csv_export_is_built_inside_the_request(db, login_as, admin_user, manager):
    """Flask-Admin streams its CSV after the view returns; in a real server the session is gone by then.
    StaffModelView builds it in the request, for every view (users here, invoices in billing's tests)."""
    email = manager.email
    response = login_as(admin_user).get("/admin/users/export/csv/", buffered=False)
    db.session.expunge_all()  # what the app context's teardown does in production
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and email in text
