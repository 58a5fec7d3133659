"""Every main page of every role on a 390 px phone, in real Chromium (issue 9):

- nothing scrolls sideways: ``document.documentElement.scrollWidth <= 390`` on each page, and the
  dashboard's "Gerenciar" button is inside the viewport;
- axe-core (tests/browser/vendor/axe.min.js, 4.14) finds no serious or critical WCAG 2.1 AA
  violation on the same pages, plus the states after a failed form submit, where the focus also
  lands on the first invalid field.

Each role's pages are visited once (module cache); the width and axe tests read the results."""

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.services import client_users
from billing.models import Invoice
from billing.run import Month, local_today, run_monthly_billing
from certificates import services as certificates
from contracts import services as contracts
from core.db import db
from partner.models import Client, Partner
from tests.browser.two_factor_steps import pass_two_factor

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PASSWORD = "revenda-demo-2026"
ROLES = ("manager", "accountant", "client", "finance", "admin", "public", "multi")


@pytest.fixture(scope="module")
def site(live_app, demo_logins):
    """URLs of the pages to visit, from the demo data (billed for this month, a signup link, an
    integration key in its grace period, a self-paying client's user with a password)."""
    with live_app.app_context():
        run_monthly_billing(Month.of(local_today()))
        alfa = db.session.scalar(select(Partner).where(Partner.cnpj == "11222333000181"))
        bread = db.session.scalar(select(Client).where(Client.cnpj == "34028316000103"))  # Pão Quente, accountant's
        own = db.session.scalar(select(Client).where(Client.cnpj == "58193746000149"))  # pays its own invoices
        own_user = client_users(own.id, active_only=False)[0]
        own_user.set_password(PASSWORD)
        partner_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{alfa.id}")
                                            .order_by(Invoice.id.desc()).limit(1))
        own_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"client:{own.id}")
                                        .order_by(Invoice.id.desc()).limit(1))
        manager = db.session.scalar(select(User).where(User.email == demo_logins["users"]["manager"]["email"]))
        link = contracts.create_signup_link(alfa, {"plan_id": bread.plan_id, "payer": "client"}, actor=manager)
        if not certificates.keys_in_grace(bread.id):  # the tab's widest state: an old key still accepted
            certificates.ensure_integration_key(bread, actor=manager)
            certificates.rotate_integration_key(bread, 24 * 3600, actor=manager)
        token = contracts.link_token(link)
        db.session.commit()
        data = {"client": bread.id, "partner_invoice": partner_invoice.id, "own_invoice": own_invoice.id,
                "link": link.id, "token": token, "own_user": own_user.email}
        db.session.remove()
    return data


def pages_for(role: str, site: dict) -> list[tuple[str, str]]:
    c = site["client"]
    if role == "manager":
        return [
            ("dashboard", "/painel"), ("gerenciar", f"/clientes/{c}"),
            ("certificado", f"/clientes/{c}?tab=certificado"), ("chave", f"/clientes/{c}?tab=chave-integracao"),
            ("contrato", f"/clientes/{c}?tab=contrato"), ("software", f"/clientes/{c}?tab=software"),
            ("editar", f"/clientes/{c}/editar"), ("novo cadastro", "/clientes/novo"),
            ("links", "/links-de-contratacao"), ("link", f"/links-de-contratacao/{site['link']}"),
            ("meus dados", "/meus-dados?tab=basicos"), ("e-mails", "/meus-dados?tab=emails"),
            ("senha do perfil", "/meus-dados?tab=senha"), ("segurança", "/meus-dados?tab=seguranca"),
            ("api", "/meus-dados?tab=api"),
            ("pagamento", "/meus-dados/pagamento"), ("fatura", f"/faturas/{site['partner_invoice']}"),
            ("alterar senha", "/senha"), ("duas etapas", "/conta/verificacao-em-duas-etapas"),
            ("ativar duas etapas", "/conta/verificacao-em-duas-etapas/ativar"), ("usuários", "/meus-dados?tab=usuarios"),
            ("integrações", "/integracoes/webhooks"), ("pedidos", "/pedidos"), ("novo pedido", "/pedidos/novo"),
            ("novo pedido, novo titular", "/pedidos/novo?holder=new"),
        ]
    if role == "accountant":
        return [("dashboard", "/painel"), ("cliente", f"/clientes/{c}"), ("alterar senha", "/senha"),
                ("notas", f"/contador/notas?empresa=c{c}"), ("exportar", f"/contador/exportar?empresa=c{c}"),
                ("empresas", "/contador/empresas"), ("integrações", "/contador/webhooks")]
    if role == "client":
        return [("minha empresa", "/cliente"), ("fatura", f"/faturas/{site['own_invoice']}"),
                ("alterar senha", "/senha"), ("usuários", "/cliente/usuarios")]
    if role == "multi":  # one person, two companies: the chooser and the top bar's switcher
        return [("escolher empresa", "/empresas"), ("minha empresa", "/cliente"), ("usuários", "/cliente/usuarios")]
    if role == "finance":
        return [("início", "/admin/"), ("faturas", "/admin/invoices/"),
                ("fatura", f"/admin/invoices/details/?id={site['partner_invoice']}"),
                ("pagamentos", "/admin/payments/"), ("webhooks", "/admin/webhook_events/"),
                ("e-mails", "/admin/outbox/")]
    if role == "admin":
        return [("início", "/admin/"), ("usuários", "/admin/users/"), ("novo usuário", "/admin/users/new/"),
                ("revendas", "/admin/partners/"), ("planos", "/admin/plans/"), ("software", "/admin/software/"),
                ("auditoria", "/admin/audit/"), ("faturas", "/admin/invoices/"),
                ("duas etapas", "/conta/verificacao-em-duas-etapas")]
    return [("login", "/login"), ("cadastro por link", f"/contratar/{site['token']}"),
            ("esqueci a senha", "/esqueci-senha")]


#: Forms sent with errors (their error state is checked too), and whether they show field errors.
FIELD_ERRORS = {"novo cadastro com erros", "cadastro por link com erros", "convite com erros", "webhook com erros",
                "novo pedido com erros"}


def failed_submits(role: str, site: dict) -> list[tuple[str, str, str]]:
    """(name, page, the submit button's accessible name): forms sent empty or wrong."""
    if role == "manager":
        return [("novo cadastro com erros", "/clientes/novo", "Cadastrar"),
                ("webhook com erros", "/integracoes/webhooks", "Criar webhook"),
                ("novo pedido com erros", "/pedidos/novo?holder=new", "Avançar")]
    if role == "multi":
        return [("convite com erros", "/cliente/usuarios", "Ativar acesso")]
    if role == "public":
        return [("login recusado", "/login", "Entrar"),
                ("cadastro por link com erros", f"/contratar/{site['token']}", "Contratar")]
    return []


def credentials(role: str, site: dict, demo_logins: dict) -> tuple[str, str] | None:
    if role == "public":
        return None
    if role == "client":
        return site["own_user"], PASSWORD
    user = demo_logins["users"][role]
    return user["email"], user["password"]


def sign_in(page, base: str, email: str, password: str) -> None:
    from app import limiter

    limiter.reset()  # many sign-ins from one address in this session
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Entrar", exact=True).click()
    pass_two_factor(page, email, password)  # staff: a code, or enrolment the first time
    page.wait_for_url(lambda url: "/login" not in url)


def run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                       targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""", WCAG_TAGS)
    return [v for v in result if v["impact"] in ("serious", "critical")]


def measure(page) -> dict:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll("body *")]
        .filter(e => e.getBoundingClientRect().right > 391 && getComputedStyle(e).position !== "fixed")
        .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
             (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\\s+/).join(".") : "")
             + " (" + Math.round(e.getBoundingClientRect().right) + ")")""")
    return {"width": width, "wide": wide, "axe": run_axe(page)}


_VISITS: dict[str, dict] = {}


@pytest.fixture
def visit(browser, live_server, site, demo_logins):
    """``visit(role)``: {page name: {width, wide, axe[, focus]}} for every page of the role (once)."""

    def do(role: str) -> dict:
        if role in _VISITS:
            return _VISITS[role]
        context = browser.new_context(viewport=PHONE, locale="pt-BR", bypass_csp=True)
        page = context.new_page()
        results = {}
        try:
            login = credentials(role, site, demo_logins)
            if login:
                sign_in(page, live_server, *login)
            for name, url in pages_for(role, site):
                response = page.goto(f"{live_server}{url}")
                assert response.status == 200, (role, name, url, response.status)
                page.wait_for_load_state("load")
                results[name] = measure(page)
                if name == "dashboard" and role == "manager":
                    box = page.get_by_role("link", name=re.compile("Gerenciar")).first.bounding_box()
                    results[name]["gerenciar"] = box
            for name, url, button in failed_submits(role, site):
                page.goto(f"{live_server}{url}")
                if name == "login recusado":
                    page.fill("#email", f"ninguem-{uuid.uuid4().hex[:6]}@example.com")
                    page.fill("#password", "senha-errada")
                page.locator("main").get_by_role("button", name=button, exact=True).click()
                page.wait_for_load_state("load")
                results[name] = measure(page)
                results[name]["focus"] = page.evaluate(
                    "() => { const f = document.querySelector('[aria-invalid=true]');"
                    " const ids = f ? (f.getAttribute('aria-describedby') || '').split(' ').filter(Boolean) : [];"
                    " return {active: document.activeElement && document.activeElement.id,"
                    " firstInvalid: f ? f.id : null,"
                    " describedBy: ids.some(i => document.getElementById(i)"
                    " && document.getElementById(i).textContent.trim())}; }")
        finally:
            context.close()
        _VISITS[role] = results
        return results

    return do


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_390px_phone(visit, role):
    results = visit(role)
    too_wide = {name: (r["width"], r["wide"]) for name, r in results.items() if r["width"] > PHONE["width"]}
    assert too_wide == {}, f"{role}: pages wider than {PHONE['width']} px: {too_wide}"


def test_dashboard_manage_button_is_on_screen(visit):
    box = visit("manager")["dashboard"]["gerenciar"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


@pytest.mark.parametrize("role", ROLES)
def test_no_serious_or_critical_accessibility_violation(visit, role):
    results = visit(role)
    found = {name: [(v["id"], v["impact"], v["nodes"], v["targets"]) for v in r["axe"]]
             for name, r in results.items() if r["axe"]}
    rules = sorted({rule for items in found.values() for rule, *_ in items})
    assert found == {}, f"{role}: axe rule ids {rules}; by page: {found}"


@pytest.mark.parametrize("role", ["manager", "public", "multi"])
def test_a_failed_submit_moves_the_focus_to_the_first_invalid_field(visit, role):
    checked = {name: r["focus"] for name, r in visit(role).items() if name in FIELD_ERRORS}
    assert checked
    for name, focus in checked.items():
        assert focus["firstInvalid"] and focus["active"] == focus["firstInvalid"], (name, focus)
        assert focus["describedBy"], (name, focus)  # the message is tied to the field
