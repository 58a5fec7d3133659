"""factory_boy factories and the common fixtures built from them."""

import factory
import pytest
from stdnum.br import cnpj as stdnum_cnpj

from accounts.models import User
from core.db import db as _db
from core.permissions import Role
from partner.models import AccountantLink, Client, ContractStatus, LinkStatus, Partner, Payer, Plan, Software

PASSWORD = "senha-de-teste-123"


def make_cnpj(n: int) -> str:
    base = f"{(n * 7919) % 10**8:08d}0001"
    return base + stdnum_cnpj.calc_check_digits(base)


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: _db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class SoftwareFactory(Base):
    class Meta:
        model = Software

    name = factory.Sequence(lambda n: f"FazNota {n}")
    url = "https://software.example/app"


class PlanFactory(Base):
    class Meta:
        model = Plan

    software = factory.SubFactory(SoftwareFactory)
    name = factory.Sequence(lambda n: f"Plano {n}")
    price_cents = 9990


class PartnerFactory(Base):
    class Meta:
        model = Partner

    legal_name = factory.Sequence(lambda n: f"Revenda {n} Ltda")
    trade_name = factory.Sequence(lambda n: f"Revenda {n}")
    cnpj = factory.Sequence(lambda n: make_cnpj(n + 500))
    email = factory.Sequence(lambda n: f"contato{n}@revenda.example")
    cep = "01310100"
    street = "Av. Paulista"
    number = "1000"
    district = "Bela Vista"
    city = "São Paulo"
    state = "SP"


class ClientFactory(Base):
    class Meta:
        model = Client

    partner = factory.SubFactory(PartnerFactory)
    legal_name = factory.Sequence(lambda n: f"Cliente {n} Ltda")
    trade_name = factory.Sequence(lambda n: f"Cliente {n}")
    cnpj = factory.Sequence(lambda n: make_cnpj(n + 10000))
    email = factory.Sequence(lambda n: f"cliente{n}@empresa.example")
    phone = "11987654321"
    cep = "01001000"
    street = "Praça da Sé"
    number = "1"
    district = "Sé"
    city = "São Paulo"
    state = "SP"
    plan = factory.SubFactory(PlanFactory)
    software = factory.LazyAttribute(lambda o: o.plan.software)
    payer = Payer.CLIENT
    status = ContractStatus.ACTIVE

    @factory.post_generation
    def accepted_by_accountant(obj, create, extracted, **kwargs):
        """A client naming an existing accountant is linked as if the invitation was accepted."""
        if create and obj.accountant_email and extracted is not False:
            from sqlalchemy import select

            user = _db.session.scalar(select(User).where(User.email == obj.accountant_email.lower()))
            if user is not None and user.role == Role.ACCOUNTANT:
                link_accountant(obj, user)


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"Usuário {n}")
    role = Role.MANAGER
    password_hash = factory.LazyFunction(lambda: _hash(PASSWORD))


class ApiClient:
    """The Flask test client with a bearer token (partner API token or integration key) on every request."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self, kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def open(self, method, url, **kwargs):
        return self.client.open(url, method=method, headers=self._headers(kwargs), **kwargs)

    def get(self, url, **kwargs):
        return self.open("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.open("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.open("PUT", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.open("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.open("DELETE", url, **kwargs)


_HASH_CACHE = {}


def _hash(password):
    # argon2 is slow on purpose; one hash per test run keeps the suite fast.
    if password not in _HASH_CACHE:
        from argon2 import PasswordHasher

        _HASH_CACHE[password] = PasswordHasher().hash(password)
    return _HASH_CACHE[password]


@pytest.fixture
def plan(db):
    return PlanFactory(name="Ouro", price_cents=11990)


@pytest.fixture
def partner(db):
    return PartnerFactory()


@pytest.fixture
def other_partner(db):
    return PartnerFactory()


@pytest.fixture
def manager(partner):
    return UserFactory(role=Role.MANAGER, partner=partner)


@pytest.fixture
def other_manager(other_partner):
    return UserFactory(role=Role.MANAGER, partner=other_partner)


def link_accountant(client, user, status=LinkStatus.ACCEPTED):
    """An accountant link as if the invitation was accepted (the portal's acceptance flow is tested apart)."""
    from core.db import utcnow

    link = AccountantLink(client_id=client.id, email=user.email.lower(), user_id=user.id, status=status,
                          accepted_at=utcnow() if status == LinkStatus.ACCEPTED else None)
    _db.session.add(link)
    _db.session.flush()
    return link


def _link_named_clients(user):
    """Accept the links of the clients naming ``user`` as their accountant (what migration 0013 does)."""
    from sqlalchemy import select

    for client in _db.session.scalars(select(Client).where(Client.accountant_email == user.email)):
        if not _db.session.scalar(select(AccountantLink.id).where(AccountantLink.client_id == client.id,
                                                                  AccountantLink.email == user.email)):
            link_accountant(client, user)


@pytest.fixture
def accountant(db):
    user = UserFactory(role=Role.ACCOUNTANT, email="contador@contabil.example")
    _link_named_clients(user)
    return user


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def finance_user(db):
    return UserFactory(role=Role.FINANCE)


@pytest.fixture
def client_row(partner, plan):
    return ClientFactory(partner=partner, plan=plan, accountant_email="contador@contabil.example")


@pytest.fixture
def other_client(other_partner, plan):
    return ClientFactory(partner=other_partner, plan=plan)


@pytest.fixture
def client_user(client_row):
    return UserFactory(role=Role.CLIENT, email=client_row.email, client_id=client_row.id)
