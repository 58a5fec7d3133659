"""pt-BR is the default; English is selectable (POST /idioma/en) and covers pages and messages."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale, refresh

from billing.run import run_monthly_billing
from certificates import pfx
from certificates.services import certificate_error_message
from core.extensions import babel
from partner.models import Payer
from tests.factories import ClientFactory

CATALOG = Path(__file__).resolve().parent.parent / "translations" / "en" / "LC_MESSAGES"


@pytest.fixture(scope="module", autouse=True)
def english_catalog(app):
    """Compile the English catalog when ``make`` has not (``.mo`` files are git-ignored)."""
    po, mo = CATALOG / "messages.po", CATALOG / "messages.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalog)
        with app.app_context():
            babel.domain_instance.cache.clear()  # an earlier request may have cached an empty catalog


def test_portuguese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Entrar no painel" in page
    assert 'lang="pt-BR"' in page


def test_switching_to_english_translates_the_login_page(client):
    response = client.post("/idioma/en", data={"next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in to the panel" in page
    assert "Forgot your password?" in page
    assert "Entrar no painel" not in page

    wrong = client.post("/login", data={"email": "ninguem@example.com", "password": "x"})
    assert wrong.status_code == 401
    assert "Incorrect e-mail or password." in wrong.get_data(as_text=True)


def test_validation_messages_follow_the_language(login_as, manager, plan):
    client = login_as(manager)
    client.post("/idioma/en")
    response = client.post("/clientes/novo", data={
        "payer": "client", "software_id": plan.software_id, "plan_id": plan.id, "legal_name": "Empresa X",
        "cnpj": "11.222.333/0001-00", "email": "x@empresa.example", "cep": "01310100", "street": "Rua A",
        "number": "1", "district": "Centro", "city": "São Paulo", "state": "SP",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Invalid CNPJ: check the check digits." in page
    assert "Check the highlighted fields. Nothing was saved." in page


def test_switching_back_to_portuguese(client):
    client.post("/idioma/en")
    client.post("/idioma/pt_BR")
    assert "Entrar no painel" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/idioma/xx")
    assert "Entrar no painel" in client.get("/login").get_data(as_text=True)


# -- the English catalogue is complete -------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%|\{[a-z_]+\}")


def test_the_english_catalogue_has_no_untranslated_or_fuzzy_entry():
    with (CATALOG / "messages.po").open("rb") as source:
        catalog = read_po(source)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {message.id!r}")
        elif any(sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(ids[-1])) for s in strings):
            problems.append(f"placeholders differ: {message.id!r}")
    assert problems == []


# -- whole pages in English ------------------------------------------------------------------------

#: Portuguese words of the panel's own text (not data): none may be left on an English page.
PORTUGUESE_WORDS = (
    "Salvar", "Cancelar", "Clientes", "Cliente", "Plano", "Planos", "Situação", "Vencimento", "Fatura", "Faturas",
    "Contrato", "Sair", "Buscar", "Filtrar", "Gerenciar", "Cadastrar", "Cadastro", "Configurações", "Razão social",
    "Nome fantasia", "Endereço", "Pagador", "Enviar", "Pendente", "Vencida", "Paga", "Efetivado", "Teste", "Bloqueado",
    "Histórico", "Motivo", "Nenhum", "Nenhuma", "Dados", "Novo", "Editar", "Período", "Valor", "Número",
    "Responsável", "Aceite", "Desconto", "Quando", "Quem", "Antes", "Depois", "Escolha", "Todos", "Qualquer",
    "Mensalidade", "Telefone", "Bairro", "Cidade", "Logradouro", "Complemento", "Pagamento", "Cartão", "Referência",
    "Bloquear", "Reenviar", "Chave", "Certificado", "Você", "Sim", "Não", "não", "para", "com", "pelo", "ou", "já",
    "mês", "dias",
)
_WORD = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in PORTUGUESE_WORDS) + r")(?!\w)")


class _VisibleText(HTMLParser):
    """Text a person reads: text nodes (not scripts or styles) and the attributes read out or shown."""

    ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm"}

    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")
        self.parts += [value for name, value in attrs if name in self.ATTRIBUTES and value]

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def leftover_portuguese(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    text = "\n".join(parser.parts).replace("Português", "")  # the switch back to Portuguese
    text = re.sub(r"\S+@\S+", "", text)  # e-mail addresses are data
    return sorted(set(_WORD.findall(text)))


def fetch(client, method: str, url: str, **kwargs):
    # The tests and their requests share one app context, and Flask-Babel caches the locale in
    # ``g``: forget it so each request picks the language of the session again.
    refresh()
    return client.open(url, method=method, **kwargs)


def in_english(client):
    assert fetch(client, "POST", "/idioma/en").status_code == 302
    return client


JULY_11 = datetime(2025, 7, 11, 12, tzinfo=UTC)  # the June invoice (due 10/07) is overdue


@pytest.fixture
def billed_client(db, partner, plan):
    """A client the partner pays for, with English-neutral data, and the June invoice issued."""
    client = ClientFactory(partner=partner, plan=plan, payer=Payer.PARTNER, legal_name="Acme Tools Ltda",
                           trade_name="Acme", street="Rua Augusta", district="Consolação", email="acme@acme.example",
                           created_at=datetime(2024, 1, 1, 12, tzinfo=UTC))
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    return client


def english_page(login_as, user, url: str) -> str:
    with time_machine.travel(JULY_11, tick=False):
        response = fetch(in_english(login_as(user)), "GET", url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_dashboard_in_english(login_as, manager, billed_client):
    page = english_page(login_as, manager, "/painel")
    assert 'lang="en"' in page
    for text in ("Clients", "Send signup link", "New client", "Search by name, trade name, CNPJ or e-mail",
                 "All statuses", "Legal name", "Reseller (manager)", "Overdue invoice", "Manage", "Sign out"):
        assert text in page
    assert leftover_portuguese(page) == []


def test_new_client_page_in_english(login_as, manager, plan):
    page = english_page(login_as, manager, "/clientes/novo")
    for text in ("Subscription", "Reseller (manager) — 50% discount", "Client data", "Legal name", "Trade name",
                 "CEP (postal code)", "District", "The linked accountant sees this client and its XML files.",
                 "Register", "Cancel"):
        assert text in page
    assert leftover_portuguese(page) == []


def test_manage_page_contract_tab_in_english(login_as, manager, billed_client):
    page = english_page(login_as, manager, f"/clientes/{billed_client.id}?tab=contrato")
    for text in ("Settings", "Digital certificate", "Integration key", "Contract", "Client status", "Active",
                 "Non-payment", "Cancel contract", "Payer of the monthly fee", "Contract acceptance",
                 "Awaiting acceptance", "Resend acceptance e-mail", "Contract history", "Change history"):
        assert text in page
    assert leftover_portuguese(page) == []


@pytest.fixture
def online_payments(app, monkeypatch):
    """Stripe keys set (no call is made by these pages): the payment methods are offered."""
    for key, value in (("STRIPE_SECRET_KEY", "sk_test_i18n"), ("STRIPE_WEBHOOK_SECRET", "whsec_i18n"),
                       ("STRIPE_PUBLISHABLE_KEY", "pk_test_i18n")):
        monkeypatch.setitem(app.config, key, value)
    yield
    app.extensions["billing_gateway"] = {}


def test_my_invoices_in_english(login_as, manager, billed_client, online_payments):
    page = english_page(login_as, manager, "/meus-dados/pagamento")
    for text in ("My invoices", "Due date", "Amount", "Overdue", "Payment method", "Boleto (bank slip)",
                 "Credit card"):
        assert text in page
    assert leftover_portuguese(page) == []


def test_billing_error_in_english(login_as, manager, billed_client):
    client = in_english(login_as(manager))
    response = fetch(client, "POST", "/meus-dados/pagamento/cartao", data={"payment_method_id": "pm_123"})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Online payments are not configured; finance records the payment manually." in page
    assert "Pagamentos online" not in page


def test_certificate_refusal_in_english(login_as, manager, client_row):
    client = in_english(login_as(manager))
    response = fetch(client, "POST", f"/clientes/{client_row.id}/certificado", content_type="multipart/form-data",
                     data={"password": "x", "file": (io.BytesIO(b"not a certificate"), "cert.pfx")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The file is not an A1 certificate in PFX format (.pfx or .p12)." in page
    assert "O arquivo não é um certificado" not in page
    assert leftover_portuguese(page.replace(client_row.legal_name, "")) == []


def _refusals() -> list[pfx.CertificateError]:
    """One refusal per code, with the detailed messages the checks write (size, dates, CNPJs)."""
    refusals = [pfx.CertificateError(code) for code in pfx.ErrorCode]
    moment = datetime(2026, 6, 1, 12, tzinfo=UTC)
    info = pfx.CertificateInfo(subject="CN=X", common_name="X", cnpj="11222333000181", serial="1", issuer="CN=CA",
                               fingerprint_sha256="00", not_before=moment, not_after=moment + timedelta(days=365))
    checks = [
        lambda: pfx._check_size(b"x" * 70_000, 64 * 1024),
        lambda: pfx._check_validity(info, moment - timedelta(days=1)),
        lambda: pfx._check_validity(info, moment + timedelta(days=400)),
        lambda: pfx._check_company("11222333000181", "11444777000161"),
    ]
    for check in checks:
        with pytest.raises(pfx.CertificateError) as refused:
            check()
        refusals.append(refused.value)
    return refusals


def test_certificate_messages_are_the_pfx_texts_in_portuguese_and_translated_in_english(app):
    refusals = _refusals()
    with app.test_request_context():
        with force_locale("pt_BR"):
            assert [certificate_error_message(e) for e in refusals] == [e.message for e in refusals]
        with force_locale("en"):
            english = [certificate_error_message(e) for e in refusals]
    assert english[-4:] == [
        "The file exceeds the maximum size of 64 KB.",
        "The certificate is not valid yet (valid from 01/06/2026).",
        "The certificate expired on 01/06/2027.",
        "The certificate's CNPJ (11.222.333/0001-81) does not match the client's CNPJ (11.444.777/0001-61).",
    ]
    assert all(leftover_portuguese(text) == [] for text in english)


def test_portuguese_stays_the_default_on_panel_pages(login_as, manager, billed_client, online_payments):
    with time_machine.travel(JULY_11, tick=False):
        client = login_as(manager)
        dashboard = fetch(client, "GET", "/painel").get_data(as_text=True)
        invoices = fetch(client, "GET", "/meus-dados/pagamento").get_data(as_text=True)
    assert 'lang="pt-BR"' in dashboard
    assert "Gerenciar" in dashboard and "Fatura vencida" in dashboard and "Manage" not in dashboard
    assert "Minhas faturas" in invoices and "Vencida" in invoices and "Boleto bancário" in invoices
    assert "My invoices" not in invoices
