"""The public signup page: the offer, one transaction on submit, clear pages for dead links."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from accounts.models import User
from accounts.services import client_users
from contracts import services
from contracts.models import Acceptance, AcceptanceChannel, ContractEvent, EventKind, LinkState, TermsVersion
from contracts.services import links
from core.audit import AuditEvent
from core.permissions import Role
from partner.models import Client, ContractStatus, Payer
from tests.contracts.helpers import SIGNUP_PASSWORD, path_of, signup_form


def counts(db):
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Client, User, Acceptance))


def url_of(link):
    return path_of(services.link_url(link))


def test_page_shows_plan_price_terms_and_prefills_email(db, client, make_link):
    link = make_link(client_email="dono@cliente.example")
    page = client.get(url_of(link))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ouro" in html and 'data-testid="signup-price">R$ 119,90 por mês' in html
    assert link.partner.trade_name in html
    assert "TERMOS DE CONTRATAÇÃO DO SOFTWARE" in html and "Li e aceito os termos" in html
    assert 'value="dono@cliente.example"' in html and 'name="csrf_token"' in html


def test_partner_payer_page_says_the_partner_pays(db, client, make_link):
    html = client.get(url_of(make_link(payer="partner"))).get_data(as_text=True)
    assert "A mensalidade é paga pela revenda." in html and "R$ 119,90" not in html


def test_signup_creates_everything_and_logs_the_client_in(db, client, make_link, manager, inbox, deliver_mail):
    link = make_link()
    before = counts(db)
    response = client.post(url_of(link), data=signup_form(), headers={"User-Agent": "Navegador/1.0"},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 302 and response.headers["Location"] == "/cliente"
    assert counts(db) == tuple(n + 1 for n in before)

    new = db.session.scalar(select(Client).where(Client.email == "dono1@empresanova.example"))
    assert (new.partner_id, new.plan_id, new.software_id, new.payer) == (
        link.partner_id, link.plan_id, link.software_id, Payer.CLIENT)
    assert new.status == ContractStatus.ACTIVE and new.trial_ends_at is None
    assert new.cnpj == signup_form()["cnpj"] and new.phone == "11987654321" and new.cep == "01310100"
    user = client_users(new.id, active_only=False)[0]
    assert user.role == Role.CLIENT and user.email == new.email and user.check_password(SIGNUP_PASSWORD)

    db.session.refresh(link)
    assert link.state == LinkState.USED and link.used_by_client_id == new.id

    acceptance = db.session.scalar(select(Acceptance).where(Acceptance.client_id == new.id))
    terms = services.current_terms()
    assert (acceptance.terms_version_id, acceptance.text_sha256) == (terms.id, terms.sha256)
    assert (acceptance.ip, acceptance.user_agent, acceptance.user_id) == ("198.51.100.7", "Navegador/1.0", user.id)
    assert acceptance.channel == AcceptanceChannel.SIGNUP

    kinds = set(db.session.scalars(select(ContractEvent.kind).where(ContractEvent.client_id == new.id)))
    assert kinds == {EventKind.CREATED, EventKind.ACCEPTANCE}
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.client_id == new.id)))
    assert {"client.created", "signup_link.used", "contract.accepted"} <= actions

    area = client.get("/cliente")  # logged in as the new client
    assert area.status_code == 200
    html = area.get_data(as_text=True)
    assert "Empresa Nova 1 Ltda" in html and 'data-testid="client-accepted"' in html

    assert deliver_mail() == 1  # the manager is told; the client chose its own password (no welcome)
    inbox.wait_for(1)
    [notice] = inbox.to(manager.email)
    assert "Novo cliente pelo link de contratação" in notice["Subject"]
    assert f"/clientes/{new.id}" in notice.get_body(("plain",)).get_content()


def test_trial_link_creates_a_trial(db, client, make_link):
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        link = make_link(trial_days="14")
        assert client.post(url_of(link), data=signup_form()).status_code == 302
    new = db.session.scalar(select(Client).where(Client.email == "dono1@empresanova.example"))
    assert new.status == ContractStatus.TRIAL and new.trial_ends_at == start + timedelta(days=14)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"cnpj": "11.111.111/1111-11"}, "cnpj", "CNPJ inválido: confira os dígitos verificadores."),
    ({"legal_name": ""}, "legal_name", "Campo obrigatório: Razão social."),
    ({"cep": "123"}, "cep", "CEP inválido: use 8 dígitos, por exemplo 01310-100."),
    ({"state": "XX"}, "state", "UF inválida: use a sigla do estado, por exemplo SP."),
    ({"email": "x"}, "email", "E-mail inválido."),
    ({"password": "curta", "confirm_password": "curta"}, "password", "A senha deve ter pelo menos 8 caracteres."),
    ({"confirm_password": "outra-senha-123"}, "confirm_password", "A confirmação não confere com a nova senha."),
    ({"accept_terms": ""}, "accept_terms", "Para contratar, leia e aceite os termos do contrato."),
])
def test_invalid_form_is_422_next_to_the_field_and_saves_nothing(db, client, make_link, committed, overrides,
                                                                  field, message):
    link = make_link()
    committed()
    before = counts(db)
    response = client.post(url_of(link), data=signup_form(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-field-error="{field}">{message}' in html
    assert counts(db) == before
    db.session.refresh(link)
    assert link.state == LinkState.PENDING


def test_duplicate_email_is_rejected_with_the_panel_message(db, client, make_link, client_row, committed):
    link = make_link()
    committed()
    response = client.post(url_of(link), data=signup_form(email=client_row.email))
    assert response.status_code == 422
    assert "Este e-mail já está cadastrado. Use o e-mail do próprio cliente." in response.get_data(as_text=True)


def test_double_submit_creates_one_client(db, client, make_link, committed):
    link = make_link()
    committed()
    first = client.post(url_of(link), data=signup_form())
    assert first.status_code == 302
    committed()
    before = counts(db)
    second = client.post(url_of(link), data=signup_form())
    assert second.status_code == 410
    assert "Este link de contratação já foi utilizado" in second.get_data(as_text=True)
    assert counts(db) == before


def test_used_link_page(db, client, make_link, client_row):
    link = make_link()
    link.used_at, link.used_by_client_id = datetime.now(UTC), client_row.id
    db.session.flush()
    page = client.get(url_of(link))
    assert page.status_code == 410 and "já foi utilizado" in page.get_data(as_text=True)


def test_expired_link_page(db, client, make_link, committed):
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        link = make_link(expires_in_days="2")
        committed()
    url = url_of(link)
    with time_machine.travel(start + timedelta(days=2, seconds=1), tick=False):
        page = client.get(url)
        posted = client.post(url, data=signup_form())
    assert page.status_code == 410 and "Este link de contratação expirou" in page.get_data(as_text=True)
    assert posted.status_code == 410
    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert client.get(url).status_code == 200


def test_revoked_link_page(db, client, make_link, committed):
    link = make_link()
    url = url_of(link)
    services.revoke_signup_link(link)
    committed()
    page = client.get(url)
    assert page.status_code == 410 and "foi cancelado pela revenda" in page.get_data(as_text=True)
    assert client.post(url, data=signup_form()).status_code == 410


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature broken
    lambda t: "x" + t,
    lambda t: "nada",
    lambda t: t.split(".")[0],  # payload only
])
def test_tampered_link_is_a_clear_404(db, client, make_link, mangle):
    link = make_link()
    token = services.link_token(link)
    page = client.get("/contratar/" + mangle(token))
    assert page.status_code == 404
    assert "Link de contratação inválido" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


def test_a_token_signed_for_another_link_row_is_rejected(db, client, make_link):
    """The stored hash must match: a token re-signed with an old nonce (e.g. leaked) does not work."""
    link = make_link()
    serializer = links._link_serializer()
    forged = serializer.dumps({"l": link.id, "n": "0" * 32})
    assert client.get("/contratar/" + forged).status_code == 404


def test_plan_withdrawn_after_the_link_was_made(db, client, make_link, plan):
    link = make_link()
    plan.is_active = False
    db.session.flush()
    page = client.get(url_of(link))
    assert page.status_code == 410 and "O plano deste link não está mais disponível" in page.get_data(as_text=True)


def test_signup_needs_the_csrf_token(db, csrf_client, make_link, committed):
    link = make_link()
    committed()
    before = counts(db)
    response = csrf_client.post(url_of(link), data=signup_form())
    assert response.status_code == 400
    assert counts(db) == before


def test_terms_version_shown_is_the_one_recorded(db, client, make_link):
    """A new version published while the client reads the page: the evidence names what was read."""
    link = make_link()
    shown = services.current_terms()
    newer = TermsVersion(version="v99", text="Novo texto", sha256=TermsVersion.hash_text("Novo texto"),
                         published_at=datetime.now(UTC))
    db.session.add(newer)
    db.session.flush()
    response = client.post(url_of(link), data=signup_form(terms_version_id=str(shown.id)))
    assert response.status_code == 302
    acceptance = db.session.scalar(select(Acceptance).order_by(Acceptance.id.desc()))
    assert acceptance.terms_version_id == shown.id and acceptance.text_sha256 == shown.sha256


def test_after_an_error_the_terms_stay_ticked_and_the_passwords_stay_typed(db, client, make_link, committed):
    link = make_link()
    committed()
    response = client.post(url_of(link), data=signup_form(cnpj="11.111.111/1111-11"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and response.headers["Cache-Control"] == "no-store"
    assert 'id="accept-terms" required checked' in html
    assert html.count(f'value="{SIGNUP_PASSWORD}"') == 2


def test_a_refused_password_is_cleared_from_both_fields(db, client, make_link, committed):
    link = make_link()
    committed()
    html = client.post(url_of(link), data=signup_form(confirm_password="outra-senha-123")).get_data(as_text=True)
    assert SIGNUP_PASSWORD not in html and "outra-senha-123" not in html
    assert 'id="accept-terms" required checked' in html
