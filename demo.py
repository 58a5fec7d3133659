"""Demo data for a newcomer: idempotent, prints working logins every run."""

import hashlib
import hmac

from flask import current_app
from sqlalchemy import select

from accounts.models import User
from core.db import db
from core.permissions import Role
from partner.models import ApiToken, Client, ContractStatus, Partner, PartnerEmail, Payer, Plan, Software
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
                partner_id=partners[pkey].id, legal_name=legal, trade_name=trade, cnpj=cnpj, email=email,
                phone="1133334444", cep="01001000", street="Praça da Sé", number=str(100 + i), district="Sé",
                city="São Paulo", state="SP", software_id=software.id, plan_id=plans[plan].id, payer=payer,
                status=status, accountant_email=accountant_email if with_accountant else None,
            )
            db.session.add(client)
            db.session.flush()
            user = User(email=email, role=Role.CLIENT, name=legal, client_id=client.id)
            db.session.add(user)
        client_user = db.session.scalar(select(User).where(User.client_id == client.id))
        if client_user is not None and i == 0:
            client_user.set_password(PASSWORD)
            logins["users"]["client"] = {"email": client_user.email, "password": PASSWORD}

    for key, partner in partners.items():
        plaintext = demo_token(key)
        _get_or_create(ApiToken, token_hash=hash_token(plaintext),
                       defaults={"partner_id": partner.id, "name": "Demo", "prefix": plaintext[:10]})
        logins["partner_api_tokens"][key] = plaintext
    db.session.flush()
    return logins
