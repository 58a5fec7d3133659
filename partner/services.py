"""Partner rules: registering and editing clients, searching them, profile, tokens, linked e-mails."""

import hashlib
import math
import secrets
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session, joinedload

from accounts.models import Membership, User
from accounts.services import client_users, create_user, request_email_change
from accounts.sessions import end_sessions_of_users, turned_off
from core import audit
from core.db import db, utcnow
from core.permissions import Role
from core.text import fold, like_pattern
from core.validators import (
    ValidationError,
    clean_cep,
    clean_cnpj,
    clean_email,
    clean_phone,
    clean_text,
    clean_uf,
    collect,
)
from partner import accountants, signals
from partner.models import ApiToken, Client, ContractStatus, Partner, PartnerEmail, Payer, Plan, Software
from partner.pricing import price_for
from partner.tabs import dashboard_filters

CLIENT_FIELDS = (
    "legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
    "complement", "district", "city", "state", "software_id", "plan_id", "payer", "status",
    "accountant_email",
)
#: Changed through contracts.services (change_plan / change_payer), which keep the contract history.
CONTRACT_CHANGE_FIELDS = ("software_id", "plan_id", "payer")
ADDRESS_FIELDS = ("cep", "street", "number", "complement", "district", "city", "state")


class DuplicateError(Exception):
    """A unique business value (e-mail, CNPJ) already taken: 409 in the API."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _choice(enum_cls, label):
    def rule(value):
        try:
            return enum_cls((value or "").strip())
        except ValueError:
            raise ValueError(_("Escolha uma opção válida para %(label)s.", label=label)) from None

    return rule


def _int_id(label):
    def rule(value):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(_("Escolha %(label)s.", label=label)) from None

    return rule


def client_rules() -> dict:
    return {
        "legal_name": lambda v: clean_text(v, label=_("Razão social"), max_len=200),
        "trade_name": lambda v: clean_text(v, label=_("Nome fantasia"), max_len=200, required=False),
        "cnpj": clean_cnpj,
        "email": clean_email,
        "phone": lambda v: clean_phone(v, required=False),
        "cep": clean_cep,
        "street": lambda v: clean_text(v, label=_("Logradouro"), max_len=200),
        "number": lambda v: clean_text(v, label=_("Número"), max_len=20),
        "complement": lambda v: clean_text(v, label=_("Complemento"), max_len=100, required=False),
        "district": lambda v: clean_text(v, label=_("Bairro"), max_len=100),
        "city": lambda v: clean_text(v, label=_("Cidade"), max_len=100),
        "state": clean_uf,
        "software_id": _int_id(_("o software")),
        "plan_id": _int_id(_("o plano")),
        "payer": _choice(Payer, _("Responsável pelo pagamento")),
        "accountant_email": lambda v: clean_email(v, required=False),
    }


def _resolve_plan(software_id: int, plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None or not plan.is_active or plan.software_id != software_id:
        raise ValidationError({"plan_id": _("Escolha um plano ativo do software selecionado.")})
    software = db.session.get(Software, software_id)
    if software is None or not software.is_active:
        raise ValidationError({"software_id": _("Escolha um software ativo.")})
    return plan


def check_unique(partner_id: int, email: str | None, cnpj: str | None, exclude_id=None) -> None:
    if email:
        users = select(User.id).where(func.lower(User.email) == email)
        if exclude_id is not None:
            # the client's own login keeps its e-mail; any other user's (manager, staff…) is taken
            users = users.where(~select(Membership.id).where(Membership.user_id == User.id,
                                                             Membership.client_id == exclude_id).exists())
        taken = db.session.scalar(
            select(Client.id).where(func.lower(Client.email) == email, Client.id != (exclude_id or 0))
        ) or db.session.scalar(users)
        if taken:
            raise DuplicateError("email", _("Este e-mail já está cadastrado. Use o e-mail do próprio cliente."))
    if cnpj:
        taken = db.session.scalar(
            select(Client.id).where(
                Client.partner_id == partner_id, Client.cnpj == cnpj, Client.id != (exclude_id or 0)
            )
        )
        if taken:
            raise DuplicateError("cnpj", _("Já existe um cliente com este CNPJ."))


def monthly_price(plan: Plan, payer: Payer) -> int:
    """What the payer pays per month: the plan's price, half when the partner pays."""
    return price_for(plan.price_cents, Payer(payer).value)


def clean_new_client(partner: Partner, data: dict) -> dict:
    """Novo cadastro's checks, writing nothing: every field's rule (ValidationError naming each bad
    field), an active plan of the chosen software, then an e-mail and CNPJ not taken (DuplicateError).
    Also used by forms that register a client beside something else (orders' "Novo titular")."""
    clean = collect(client_rules(), data)
    _resolve_plan(clean["software_id"], clean["plan_id"])
    check_unique(partner.id, clean["email"], clean["cnpj"])
    return clean


def register_client(partner: Partner, data: dict, *, actor=None, initial_status=None) -> Client:
    """Create a client, its login (first-access e-mail) and the audit event; nothing on bad input."""
    clean = clean_new_client(partner, data)
    status = initial_status or ContractStatus.ACTIVE
    client = Client(partner_id=partner.id, status=status, **clean)
    db.session.add(client)
    db.session.flush()
    create_user(client.email, Role.CLIENT, name=client.legal_name, client_id=client.id)
    audit.record(
        "client.created", client, actor=actor, client_id=client.id,
        after=audit.snapshot(client, CLIENT_FIELDS),
    )
    # No separate welcome e-mail: the acceptance e-mail (contracts, answering the signal) carries the
    # first-access link, so the client gets one message, in the partner's name; the contract shows
    # "Aguardando aceite" until accepted.
    signals.client_registered.send(client, actor=actor)
    accountants.accountant_email_named(client, None, actor=actor)  # the named accountant is invited
    return client


def update_client(client: Client, data: dict, *, actor=None) -> Client:
    """Change the given company fields (a PATCH); an e-mail change asks the client's login to follow
    (accounts.services.request_email_change), it does not move it.

    Plan, software and payer are contract changes: contracts.services.change_plan / change_payer."""
    rules = {k: v for k, v in client_rules().items() if k not in CONTRACT_CHANGE_FIELDS}
    unknown = set(data) - set(rules)
    if unknown:
        raise ValidationError({k: _("Campo desconhecido.") for k in sorted(unknown)})
    clean = collect({k: rules[k] for k in data}, data)
    check_unique(client.partner_id, clean.get("email"), clean.get("cnpj"), exclude_id=client.id)
    before = audit.snapshot(client, CLIENT_FIELDS)
    for key, value in clean.items():
        setattr(client, key, value)
    db.session.flush()
    if "accountant_email" in clean:
        accountants.accountant_email_named(client, before["accountant_email"], actor=actor)
    if "email" in clean:
        # The company's e-mail changes now; its login only when the new address confirms (with the
        # client's password): a manager typing an address of their own must not get the client's login.
        for user in client_users(client.id, active_only=False):
            request_email_change(user, clean["email"], actor=actor)
    old, new = audit.changed(before, audit.snapshot(client, CLIENT_FIELDS))
    if new:
        audit.record("client.updated", client, actor=actor, client_id=client.id, before=old, after=new)
    return client


# -- searching ---------------------------------------------------------------------------

SORTS = {
    # sort_name is the folded legal name: "Ótica" before "Zé", as people read them (core/text.py)
    "name": (Client.sort_name, Client.id),
    "-name": (Client.sort_name.desc(), Client.id.desc()),
    "created": (Client.created_at, Client.id),
    "-created": (Client.created_at.desc(), Client.id.desc()),
    "status": (Client.status, Client.sort_name, Client.id),
}


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    #: per client id, what the registered dashboard columns computed in the page's query
    extras: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and ``around`` either side of the current one;
        None where a run is left out ("1 2 3 … 10")."""
        shown = sorted({1, self.pages, *range(self.page - around, self.page + around + 1)} & set(range(1, self.pages + 1)))
        numbers: list[int | None] = []
        for n in shown:
            if numbers and n - numbers[-1] > 1:
                numbers.append(n - 1 if n - numbers[-1] == 2 else None)
            numbers.append(n)
        return numbers


def search_condition(q: str):
    """Accent- and case-insensitive "contains" on name, trade name, CNPJ (with or without
    punctuation) and e-mail, through the folded ``search_text`` column; None for an empty search."""
    needle = fold(q)
    if not needle:
        return None
    conditions = [Client.search_text.like(like_pattern(needle), escape="\\")]
    characters = "".join(ch for ch in needle if ch.isalnum())
    if characters != needle and any(ch.isdigit() for ch in characters):  # 11.222.333/0001-81
        conditions.append(Client.search_text.like(like_pattern(characters), escape="\\"))
    return or_(*conditions)


def filter_clients(query, params: dict):
    """Apply search (name, trade name, CNPJ, e-mail) and filters (status, software, plan, payer, and the
    filters other domains register, e.g. the certificate's)."""
    condition = search_condition((params.get("q") or "").strip()[:100])
    if condition is not None:
        query = query.where(condition)
    for field_name, enum_cls in (("status", ContractStatus), ("payer", Payer)):
        value = params.get(field_name)
        if value in {m.value for m in enum_cls}:
            query = query.where(getattr(Client, field_name) == value)
    for field_name in ("software_id", "plan_id"):
        value = params.get(field_name)
        if value and str(value).isdigit():
            query = query.where(getattr(Client, field_name) == int(value))
    for dashboard_filter in dashboard_filters():
        value = params.get(dashboard_filter.key)
        if value in dashboard_filter.choices:
            query = query.where(dashboard_filter.condition(value))
    return query


#: While searching, the name order must not walk the (partner, sort_name) index: for a rare match that
#: walk visits every client of the partner (a table lookup each) before it fills a page. Ordering by an
#: expression makes the database filter first (the trigram index on PostgreSQL) and sort what matched.
SEARCH_SORTS = {
    "name": (func.lower(Client.sort_name), Client.id),
    "-name": (func.lower(Client.sort_name).desc(), Client.id.desc()),
}


def paginate(query, *, page, per_page: int, sort: str | None, columns=(), searching: bool = False) -> Page:
    """One page of ``query``; ``columns`` (registered dashboard columns) are computed in the same query."""
    try:
        page = min(max(1, int(page or 1)), 1_000_000)  # the offset must fit the database's integer
    except ValueError:
        page = 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    key = sort if sort in SORTS else "name"
    order = (SEARCH_SORTS.get(key) if searching else None) or SORTS[key]
    # The page's ids first, from the index alone (a late page skips index entries, not table rows),
    # then those rows with their software and plan names joined in (no lazy load per plan).
    page_ids = query.with_only_columns(Client.id).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    page_query = (select(Client).where(Client.id.in_(page_ids))
                  .options(joinedload(Client.software), joinedload(Client.plan)).order_by(*order))
    if not columns:
        items = db.session.scalars(page_query).all()
        return Page(items=list(items), total=total, page=page, per_page=per_page)
    rows = db.session.execute(page_query.add_columns(*(c.expression() for c in columns))).all()
    extras = {row[0].id: {c.key: c.present(value) for c, value in zip(columns, row[1:], strict=True)} for row in rows}
    return Page(items=[row[0] for row in rows], total=total, page=page, per_page=per_page, extras=extras)


# -- partner profile ----------------------------------------------------------------------

PARTNER_FIELDS = ("legal_name", "trade_name", "cnpj", "email", "phone", *ADDRESS_FIELDS)


def update_partner(partner: Partner, data: dict, *, actor=None) -> Partner:
    rules = {k: v for k, v in client_rules().items() if k in PARTNER_FIELDS}
    clean = collect(rules, data)
    if clean["cnpj"] != partner.cnpj and db.session.scalar(
        select(Partner.id).where(Partner.cnpj == clean["cnpj"], Partner.id != partner.id)
    ):
        raise ValidationError({"cnpj": _("Este CNPJ já pertence a outra revenda.")})
    before = audit.snapshot(partner, PARTNER_FIELDS)
    for key, value in clean.items():
        setattr(partner, key, value)
    db.session.flush()
    old, new = audit.changed(before, audit.snapshot(partner, PARTNER_FIELDS))
    if new:
        audit.record("partner.updated", partner, actor=actor, partner_id=partner.id, before=old, after=new)
    return partner


def add_linked_email(partner: Partner, email: str, *, actor=None) -> PartnerEmail:
    try:
        email = clean_email(email)
    except ValueError as exc:
        raise ValidationError({"email": str(exc)}) from None
    if db.session.scalar(select(PartnerEmail.id).where(PartnerEmail.email == email)):
        raise ValidationError({"email": _("Este e-mail já está vinculado a uma revenda.")})
    linked = PartnerEmail(partner_id=partner.id, email=email)
    db.session.add(linked)
    db.session.flush()
    audit.record("partner.email_added", linked, actor=actor, after={"email": email})
    return linked


def remove_linked_email(linked: PartnerEmail, *, actor=None) -> None:
    audit.record("partner.email_removed", linked, actor=actor, before={"email": linked.email})
    db.session.delete(linked)
    db.session.flush()


def partner_for_linked_email(email: str | None) -> Partner | None:
    """The partner an e-mail typed by a client links it to, if any."""
    if not email:
        return None
    linked = db.session.scalar(select(PartnerEmail).where(PartnerEmail.email == email.strip().lower()))
    return linked.partner if linked else None


# -- API tokens -----------------------------------------------------------------------------

TOKEN_PREFIX = "rvp_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(partner: Partner, name: str, *, actor=None) -> tuple[ApiToken, str]:
    """A new partner API token; the plaintext is returned once and never stored."""
    try:
        name = clean_text(name, label=_("Nome"), max_len=100)
    except ValueError as exc:
        raise ValidationError({"name": str(exc)}) from None
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        partner_id=partner.id, name=name, prefix=plaintext[:10], token_hash=hash_token(plaintext),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, actor=actor, after={"name": name, "prefix": token.prefix})
    return token, plaintext


def revoke_api_token(token: ApiToken, *, actor=None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token.revoked", token, actor=actor, before={"name": token.name})
        db.session.flush()


def api_token_for(plaintext: str) -> ApiToken | None:
    """The active token (of an active partner) matching ``plaintext``, else None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or token.revoked_at is not None or token.partner is None or not token.partner.is_active:
        return None
    return token


ACCOUNTANT_TOKEN_PREFIX = "rvc_"


def create_accountant_token(user, name: str, *, actor=None) -> tuple[ApiToken, str]:
    """A new accountant API token (same table and hashing as the partner's, another owner and prefix)."""
    try:
        name = clean_text(name, label=_("Nome"), max_len=100)
    except ValueError as exc:
        raise ValidationError({"name": str(exc)}) from None
    plaintext = ACCOUNTANT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plaintext[:10], token_hash=hash_token(plaintext),
                     created_by_id=getattr(actor, "id", None))
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, actor=actor, after={"name": name, "prefix": token.prefix})
    return token, plaintext


def accountant_token_for(plaintext: str) -> ApiToken | None:
    """The active accountant token matching ``plaintext`` (its user active), else None."""
    if not plaintext or not plaintext.startswith(ACCOUNTANT_TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or token.revoked_at is not None or token.user_id is None:
        return None
    user = db.session.get(User, token.user_id)
    return token if user is not None and user.is_active else None


def accountant_tokens(user_id: int) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                   .order_by(ApiToken.created_at.desc())))


def partner_for_token(plaintext: str) -> Partner | None:
    token = api_token_for(plaintext)
    return token.partner if token is not None else None


# -- access to the client's software ------------------------------------------------------------


def software_access_url(client: Client, user) -> str:
    """The client's software URL with a short-lived signed token naming the client and manager."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="revenda.software-access")
    token = serializer.dumps({"client_id": client.id, "cnpj": client.cnpj, "manager": user.email})
    audit.record(
        "client.software_accessed", client, actor=user, client_id=client.id,
        after={"software": client.software.name, "manager": user.email},
    )
    separator = "&" if "?" in client.software.url else "?"
    return f"{client.software.url}{separator}revenda_token={token}"


def load_software_token(token: str) -> dict:
    """For the software side (and tests): the payload if valid and fresh."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="revenda.software-access")
    return serializer.loads(token, max_age=current_app.config["SOFTWARE_TOKEN_MAX_AGE"])


# -- deactivation by staff ------------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _end_sessions_of_deactivated_partners(session, flush_context, instances):
    """A partner deactivated by staff (however it is saved) logs its managers out everywhere.

    ``accounts.sessions.can_log_in`` also refuses them while the partner stays inactive; API tokens
    are refused by ``api_token_for`` and signup links by ``contracts.services.ensure_link_usable``."""
    partner_ids = [obj.id for obj in session.dirty
                   if isinstance(obj, Partner) and obj.id is not None and turned_off(obj)]
    if partner_ids:
        connection = session.connection()
        user_ids = connection.scalars(select(Membership.user_id).where(Membership.partner_id.in_(partner_ids))).all()
        end_sessions_of_users(connection, user_ids)
