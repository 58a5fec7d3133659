"""Demo data for a newcomer: idempotent, prints working logins every run.

Beyond the catalogue, partners, clients and users, :func:`lived_in` gives the panel a past: invoices
of the last three months (paid, overdue, open), a valid certificate and one expiring within 30 days
(generated PFX files, see certificates/samples.py), a used and a pending signup link, an accepted
contract, and the history rows those leave. Everything goes through the domain services, with dates
relative to today, so the demo looks the same whenever it is loaded; a second run changes nothing."""

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from accounts.models import Membership, User
from accounts.services import client_users
from core.db import db, utcnow
from core.permissions import Role
from partner.models import (
    AccountantLink,
    ApiToken,
    Client,
    ContractStatus,
    LinkStatus,
    Partner,
    PartnerEmail,
    Payer,
    Plan,
    Software,
)
from partner.services import TOKEN_PREFIX, hash_token

PASSWORD = "revenda-demo-2026"

USERS = {
    "admin": ("admin@revenda.local", Role.ADMIN, None),
    "finance": ("financeiro@revenda.local", Role.FINANCE, None),
    "manager": ("gestor@alfa.example", Role.MANAGER, "a"),
    "manager_b": ("gestor@beta.example", Role.MANAGER, "b"),
    "accountant": ("contador@contabil.example", Role.ACCOUNTANT, None),
}

PARTNERS = {
    "a": dict(legal_name="Alfa Sistemas Ltda", trade_name="Alfa Sistemas", cnpj="11222333000181",
              email="contato@alfa.example", phone="11987654321", cep="01310100", street="Av. Paulista",
              number="1000", district="Bela Vista", city="São Paulo", state="SP"),
    "b": dict(legal_name="Beta Revenda de Software Ltda", trade_name="Beta Revendas", cnpj="45723174000110",
              email="contato@beta.example", phone="5132123456", cep="90010000", street="Rua dos Andradas",
              number="500", district="Centro", city="Porto Alegre", state="RS"),
}

PLANS = [("Bronze", 4990), ("Prata", 7990), ("Ouro", 11990), ("Diamante", 19990)]

# CNPJs generated for the demo (valid check digits), never real companies from the fixtures.
CLIENTS = [
    ("a", "Padaria Pão Quente Ltda", "Pão Quente", "34028316000103", ContractStatus.ACTIVE, Payer.PARTNER, "Ouro", True),
    ("a", "Mercado Bom Preço Ltda", "Bom Preço", "34028316000294", ContractStatus.TRIAL, Payer.CLIENT, "Bronze", True),
    ("a", "Oficina Roda Viva ME", "Roda Viva", "34028316000375", ContractStatus.BLOCKED, Payer.CLIENT, "Prata", False),
    ("a", "Farmácia Saúde Já Ltda", "Saúde Já", "34028316000456", ContractStatus.CANCELLED, Payer.PARTNER, "Bronze", False),
    ("a", "Loja Alfanumérica Ltda", "Loja Alfa", "12ABC34501DE35", ContractStatus.ACTIVE, Payer.PARTNER, "Diamante", False),
    ("b", "Restaurante Sabor do Sul Ltda", "Sabor do Sul", "58193746000149", ContractStatus.ACTIVE, Payer.CLIENT, "Prata", False),
    ("b", "Auto Peças Gaúcha Ltda", "Peças Gaúcha", "58193746000220", ContractStatus.TRIAL, Payer.PARTNER, "Ouro", False),
]


def demo_token(key: str) -> str:
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"demo-api-token-{key}".encode(), hashlib.sha256)
    return TOKEN_PREFIX + digest.hexdigest()[:43]


def _get_or_create(model, defaults=None, **where):
    row = db.session.scalar(select(model).filter_by(**where))
    if row is None:
        row = model(**where, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def load_demo() -> dict:
    software = _get_or_create(Software, name="FazNota", defaults={"url": current_app.config["PUBLIC_URL"] + "/software-demo"})
    plans = {
        name: _get_or_create(Plan, software_id=software.id, name=name, defaults={"price_cents": price})
        for name, price in PLANS
    }
    partners = {key: _get_or_create(Partner, cnpj=data["cnpj"], defaults={k: v for k, v in data.items() if k != "cnpj"})
                for key, data in PARTNERS.items()}
    _get_or_create(PartnerEmail, email="contabil@alfa.example", defaults={"partner_id": partners["a"].id})

    logins = {"users": {}, "partner_api_tokens": {}}
    for key, (email, role, partner_key) in USERS.items():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role=role, name=key.replace("_", " ").title(),
                        partner_id=partners[partner_key].id if partner_key else None)
            db.session.add(user)
        user.set_password(PASSWORD)
        user.is_active = True
        logins["users"][key] = {"email": email, "password": PASSWORD}
    db.session.flush()

    accountant_email = USERS["accountant"][0]
    for i, (pkey, legal, trade, cnpj, status, payer, plan, with_accountant) in enumerate(CLIENTS):
        client = db.session.scalar(select(Client).where(Client.cnpj == cnpj, Client.partner_id == partners[pkey].id))
        if client is None:
            email = f"cliente{i + 1}@{'alfa' if pkey == 'a' else 'beta'}-clientes.example"
            client = Client(
                created_at=utcnow() - timedelta(days=CLIENT_AGE_DAYS),  # customers for a few months already
                partner_id=partners[pkey].id, legal_name=legal, trade_name=trade, cnpj=cnpj, email=email,
                phone="1133334444", cep="01001000", street="Praça da Sé", number=str(100 + i), district="Sé",
                city="São Paulo", state="SP", software_id=software.id, plan_id=plans[plan].id, payer=payer,
                status=status, accountant_email=accountant_email if with_accountant else None,
            )
            db.session.add(client)
            db.session.flush()
            user = User(email=email, role=Role.CLIENT, name=legal, client_id=client.id)
            db.session.add(user)
        if with_accountant:  # the demo accountant accepted these companies' invitations long ago
            accountant = db.session.scalar(select(User).where(User.email == accountant_email))
            _get_or_create(AccountantLink, client_id=client.id, email=accountant_email,
                           defaults={"user_id": accountant.id, "status": LinkStatus.ACCEPTED,
                                     "accepted_at": utcnow() - timedelta(days=CLIENT_AGE_DAYS)})
        client_user = next(iter(client_users(client.id, active_only=False)), None)
        if client_user is not None and i == 0:
            client_user.set_password(PASSWORD)
            logins["users"]["client"] = {"email": client_user.email, "password": PASSWORD}

    logins["users"]["multi"] = _multi_person()

    for key, partner in partners.items():
        plaintext = demo_token(key)
        _get_or_create(ApiToken, token_hash=hash_token(plaintext),
                       defaults={"partner_id": partner.id, "name": "Demo", "prefix": plaintext[:10]})
        logins["partner_api_tokens"][key] = plaintext
    db.session.flush()
    lived_in(partners)
    return logins


#: One person, two firms under two resellers: a user of a client of partner A and of a client of partner B
#: (one login; the top bar's "Selecione a empresa" switches between them).
MULTI = ("socio@duas-empresas.example", ("34028316000294", "58193746000149"))


def _multi_person() -> dict:
    email, cnpjs = MULTI
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name="Sócio de Duas Empresas")
        db.session.add(user)
    user.set_password(PASSWORD)
    user.is_active = True
    held = {m.client_id for m in user.memberships}
    for cnpj in cnpjs:
        client = db.session.scalar(select(Client).where(Client.cnpj == cnpj))
        if client.id not in held:
            user.memberships.append(Membership(role=Role.CLIENT, client_id=client.id))
    db.session.flush()
    return {"email": email, "password": PASSWORD}


# -- a past for the panel ---------------------------------------------------------------------------

CLIENT_AGE_DAYS = 130
VALID_CERTIFICATE = "34028316000103"  # Padaria Pão Quente: certificate valid for most of a year
EXPIRING_CERTIFICATE = "12ABC34501DE35"  # Loja Alfanumérica: certificate expiring in 20 days
EXPIRING_IN_DAYS = 20
ACCEPTED_CONTRACT = "34028316000103"
SIGNUP = dict(legal_name="Sorveteria Gelato Ltda", trade_name="Gelato", cnpj="34028316000537",
              email="contato@gelato-clientes.example", phone="1133335555", cep="01001000", street="Praça da Sé",
              number="200", district="Sé", city="São Paulo", state="SP")


def lived_in(partners: dict) -> None:
    """Certificates, signup links, an acceptance and three months of invoices (each step only once)."""
    alfa = partners["a"]
    manager = db.session.scalar(select(User).where(User.email == USERS["manager"][0]))
    finance = db.session.scalar(select(User).where(User.email == USERS["finance"][0]))
    clients = {c.cnpj: c for c in db.session.scalars(select(Client).where(Client.partner_id == alfa.id))}
    _certificates(clients, manager)
    _signup_links(alfa, manager)
    _acceptance(clients[ACCEPTED_CONTRACT])
    _invoices(finance)
    for cnpj in FISCAL_CLIENTS:
        _fiscal_notes(clients[cnpj])
    _services_and_orders(partners, manager)


def _certificates(clients: dict, manager) -> None:
    from certificates import samples, services

    now = utcnow()
    wanted = {
        VALID_CERTIFICATE: (now - timedelta(days=60), now + timedelta(days=300)),
        EXPIRING_CERTIFICATE: (now - timedelta(days=345), now + timedelta(days=EXPIRING_IN_DAYS)),
    }
    for cnpj, (not_before, not_after) in wanted.items():
        client = clients[cnpj]
        if services.active_certificate(client.id) is None:
            data = samples.ecnpj_pfx(cnpj, not_before=not_before, not_after=not_after)
            services.upload_certificate(client, data, samples.PASSWORD, actor=manager)


def _signup_links(partner, manager) -> None:
    from contracts.models import SignupLink
    from contracts.services import links
    from contracts.services.acceptance import current_terms

    existing = db.session.scalars(select(SignupLink).where(SignupLink.partner_id == partner.id)).all()
    if existing:
        return
    plan = db.session.scalar(select(Plan).where(Plan.name == "Prata"))
    used = links.create_signup_link(partner, {"plan_id": plan.id, "payer": Payer.CLIENT.value}, actor=manager)
    links.signup_client(used, {**SIGNUP, "password": PASSWORD, "confirm_password": PASSWORD, "accept_terms": "1",
                               "terms_version_id": current_terms().id},
                        ip="203.0.113.20", user_agent="Mozilla/5.0 (demo)")
    links.create_signup_link(partner, {"plan_id": plan.id, "payer": Payer.PARTNER.value, "trial_days": "15",
                                       "client_email": "compras@novocliente.example"}, actor=manager)


def _acceptance(client) -> None:
    from contracts.models import AcceptanceChannel
    from contracts.services.acceptance import accept_terms

    accept_terms(client, channel=AcceptanceChannel.EMAIL_LINK, ip="203.0.113.10",
                 user_agent="Mozilla/5.0 (demo)")  # once per terms version


def _invoices(finance) -> None:
    """Bill the last three months as the monthly run does; the oldest month is paid, the middle one
    overdue, the last one open (issued today, due in the coming days)."""
    from billing import services
    from billing.models import Invoice, InvoiceStatus
    from billing.run import Month, local_today, run_monthly_billing

    today = local_today()
    last = Month.of(today).previous()
    months = [last.previous().previous(), last.previous(), last]
    for month in months:
        if db.session.scalar(select(Invoice.id).where(Invoice.month == str(month)).limit(1)) is None:
            run_monthly_billing(month, today=today if month == last else month.next().first_day)
    oldest = db.session.scalars(select(Invoice).where(Invoice.month == str(months[0]),
                                                      Invoice.status == InvoiceStatus.OPEN)).all()
    for invoice in oldest:
        services.mark_paid(invoice, actor=finance, notify=False)


# -- the service catalogue and a few orders (issue 13) ----------------------------------------------------

XML_STORAGE = "Armazenamento de XML fiscal"
EXTRA_USERS = "Usuários adicionais do emissor"
#: name → kind, description, terms text, {months: price of the term}, {starter kit GB: monthly price},
#: [(add-on code, label, unit monthly price)]
SERVICES = {
    XML_STORAGE: ("xml_storage", "Guarda dos XML de NF-e e NFC-e do cliente, emitidos e recebidos, pelo prazo legal.",
                  "Termos do Armazenamento de XML fiscal: os XML autorizados, cancelados e recebidos são guardados "
                  "por cinco anos, nunca apagados nem recusados por falta de espaço; avisos em 70%, 90% e 100% do "
                  "espaço contratado.",
                  {12: 59_900, 24: 107_900, 36: 149_900}, {5: 990, 20: 2_990, 50: 5_990},
                  [("gb", "GB adicional", 150)]),
    EXTRA_USERS: ("extra_users", "Acessos além dos incluídos no plano do emissor.",
                  "Termos dos Usuários adicionais: cada usuário tem login próprio, pessoal e intransferível.",
                  {12: 12_000, 24: 21_600}, {}, [("user", "Usuário adicional", 990)]),
}
#: The demo orders: (partner, client CNPJ, service, term, kit GB, add-ons, payment, renewal, state, days into
#: the term). "active" and "expiring" are accepted by the client; "awaiting" waits for its acceptance.
ORDERS = [  # the one paid from the balance first: orders charged "on the next invoice" are debits of it too
    ("a", "12ABC34501DE35", XML_STORAGE, 24, 5, {}, "balance", "manual", "awaiting", 0),
    ("a", "34028316000103", XML_STORAGE, 12, 20, {}, "invoice", "invoice", "active", 100),
    ("a", "34028316000294", XML_STORAGE, 12, 5, {}, "invoice", "manual", "expiring", 345),
    ("b", "58193746000149", EXTRA_USERS, 12, 0, {"user": 2}, "invoice", "invoice", "active", 40),
]
WELCOME_CREDIT = 150_000  # Alfa's credit balance pays its order awaiting documentation
ACTIVE_STORAGE_GB = 5  # bought mid-term on the active XML order ("Histórico de espaço")


def _services_and_orders(partners: dict, manager) -> None:
    """The catalogue's two services (audited as the staff admin does), then orders in believable
    states through the order services: active with 5 GB bought mid-term, awaiting documentation
    (paid from a welcome credit), one expiring in 20 days, one of partner B; terms dated back from
    today. Only once: a partner with orders is left as is."""
    from billing import ledger
    from billing.run import local_today
    from contracts.models import AcceptanceChannel
    from contracts.services.acceptance import accept_terms
    from core import audit
    from orders import pricing, schedule, services
    from orders.admin import catalogue_snapshot
    from orders.models import AddonPrice, Order, Service, ServiceKind, ServiceTerm, StarterKit

    catalogue = {}
    for name, (kind, description, terms_text, terms, kits, addons) in SERVICES.items():
        service = db.session.scalar(select(Service).where(Service.name == name))
        if service is None:
            service = Service(name=name, kind=ServiceKind(kind), description=description, terms_text=terms_text)
            service.terms = [ServiceTerm(months=m, price_cents=p) for m, p in terms.items()]
            service.kits = [StarterKit(gb=gb, monthly_price_cents=p) for gb, p in kits.items()]
            service.addons = [AddonPrice(code=c, label=label, unit_monthly_cents=p) for c, label, p in addons]
            db.session.add(service)
            db.session.flush()
            audit.record("service.created", service, label="demo", after=catalogue_snapshot(service))
        catalogue[name] = service

    if db.session.scalar(select(Order.id).where(Order.partner_id.in_([p.id for p in partners.values()])).limit(1)):
        return
    today = local_today()
    alfa = partners["a"]
    ledger.post(alfa.id, WELCOME_CREDIT, ledger.CreditKind.ADJUSTMENT, "demo:boas-vindas",
                description="Crédito de boas-vindas (demonstração)")
    managers = {"a": manager, "b": db.session.scalar(select(User).where(User.email == USERS["manager_b"][0]))}
    for pkey, cnpj, name, months, kit, addons, payment, renewal, state, days_in in ORDERS:
        partner = partners[pkey]
        client = db.session.scalar(select(Client).where(Client.cnpj == cnpj, Client.partner_id == partner.id))
        service = catalogue[name]
        order = services.place_order(partner, {
            "client_id": client.id, "service_id": service.id, "term_months": months, "starter_kit_gb": kit,
            "addons": addons, "payment": payment, "renewal": renewal}, actor=managers[pkey])
        if state == "awaiting":
            continue
        accept_terms(client, channel=AcceptanceChannel.EMAIL_LINK, ip="203.0.113.30",
                     user_agent="Mozilla/5.0 (demo)", terms=service.terms_version)  # activates the order
        order.term_start = today - timedelta(days=days_in)  # the term began that long ago
        order.renews_at = pricing.add_months(order.term_start, months)
        order.activated_at = utcnow() - timedelta(days=days_in)
        db.session.flush()
        if state == "active" and kit:
            services.add_storage(order, ACTIVE_STORAGE_GB, "invoice", actor=managers[pkey])
    schedule.run_daily(today)  # the expiring one becomes "A vencer" and its partner is reminded


# -- fiscal notes: generated (fiscal.synth), never copied from the real fixtures -----------------------

FISCAL_CLIENTS = ("34028316000103", "12ABC34501DE35")
BUYERS = [("27865757000102", "Supermercado Vila Nova Ltda"), ("11444777000161", "Lanchonete Esquina ME"),
          (None, "")]  # an NFC-e to a consumer names nobody
SUPPLIERS = [("60701190000104", "Moinho Trigo Dourado S.A."), ("33000167000101", "Laticínios Serra Azul Ltda")]


def _fiscal_notes(client) -> None:
    """Three months of notes for ``client``: NF-e and NFC-e issued, supplier notes, two cancellations,
    a denial and one NFC-e still in contingency (14 hours old). Only once: a client with notes is left as is."""
    from datetime import UTC, datetime, timedelta

    from fiscal.models import FiscalDocument
    from fiscal.services import ingest_files
    from fiscal.synth import cancellation_xml, key_of, nfe_xml

    if db.session.scalar(select(FiscalDocument.id).where(FiscalDocument.client_id == client.id).limit(1)):
        return
    now = datetime.now(UTC).replace(microsecond=0)
    files, number = [], 1000
    for months_back in (2, 1, 0):
        first = (now.replace(day=1) - timedelta(days=31 * months_back)).replace(day=1, hour=13, minute=0, second=0)
        days = max(1, min(27, (now - first).days if months_back == 0 else 27))
        for i in range(14):
            number += 1
            model = 65 if i % 3 == 0 else 55
            buyer = BUYERS[2] if model == 65 else BUYERS[i % 2]
            issued = first + timedelta(days=i * days // 14, hours=i % 8)
            if issued > now - timedelta(hours=1):
                issued = now - timedelta(hours=2 + i)
            xml = nfe_xml(emitter_cnpj=client.cnpj, emitter_name=client.legal_name, recipient_doc=buyer[0],
                          recipient_name=buyer[1], number=number, issued_at=issued, total_cents=1500 + 737 * i,
                          model=model, items=1 + i % 4, protocol_cstat=302 if (months_back, i) == (1, 5) else 100)
            files.append((f"{number}.xml", xml))
            if i in (4, 11) and months_back > 0:
                files.append((f"{number}-canc.xml", cancellation_xml(key_of(xml), issued + timedelta(hours=3))))
        for j, (doc, name) in enumerate(SUPPLIERS):
            issued = first + timedelta(days=3 + 9 * j)
            if issued < now:
                files.append((f"f{months_back}{j}.xml", nfe_xml(
                    emitter_cnpj=doc, emitter_name=name, recipient_doc=client.cnpj, recipient_name=client.legal_name,
                    number=500 + months_back * 10 + j, issued_at=issued, total_cents=48_900 + 1_250 * j)))
    files.append(("contingencia.xml", nfe_xml(
        emitter_cnpj=client.cnpj, emitter_name=client.legal_name, recipient_doc=None, number=number + 1,
        issued_at=now - timedelta(hours=14), total_cents=2_350, model=65, tp_emis=9, protocol_cstat=None)))
    ingest_files(client, files)
