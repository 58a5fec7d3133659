"""Contracts: the status machine, signup links, terms and acceptance evidence, contract history.

The contract's current state lives on the ``clients`` row (``status``, ``status_reason``, ``plan_id``,
``payer``, ``trial_*``); this module holds the rules table and the rows around it."""

import enum
import hashlib
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow
from partner.models import REASON_LABELS, ContractStatus, Payer, StatusReason  # noqa: F401 - re-exported

S = ContractStatus

#: The contract status machine. ``trial`` is only ever an initial state (a client never goes back to
#: testing); a cancelled contract may be reactivated ("Reativar"), which is how a client that returns
#: is taken back without a new registration (its history stays on the same row).
ALLOWED_TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    S.TRIAL: frozenset({S.ACTIVE, S.BLOCKED, S.CANCELLED}),
    S.ACTIVE: frozenset({S.BLOCKED, S.CANCELLED}),
    S.BLOCKED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset({S.ACTIVE}),
}

#: Targets that need a reason (kept on the client row while the state lasts).
REASON_REQUIRED = frozenset({S.BLOCKED, S.CANCELLED})

STATUS_LABELS = {
    S.TRIAL: _l("Teste"),
    S.ACTIVE: _l("Efetivado"),
    S.BLOCKED: _l("Bloqueado"),
    S.CANCELLED: _l("Cancelado"),
}

#: The verb on the button that blocks or cancels (activating depends on where from: see the views).
STATUS_VERBS = {
    S.BLOCKED: _l("Bloquear"),
    S.CANCELLED: _l("Cancelar contrato"),
}


#: Reasons a person may pick; ``trial_ended`` is only set by the trial task.
MANUAL_REASONS = tuple(r for r in StatusReason if r is not StatusReason.TRIAL_ENDED)


class ContractError(Exception):
    """Base of the contract rule errors (a 409 in the API)."""

    code = "contract_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ForbiddenTransition(ContractError):
    """The status machine does not allow ``current`` → ``target``."""

    code = "forbidden_transition"

    def __init__(self, current: ContractStatus, target: ContractStatus, allowed):
        self.current, self.target = ContractStatus(current), ContractStatus(target)
        self.allowed = sorted(ContractStatus(a) for a in allowed)
        names = ", ".join(str(STATUS_LABELS[a]) for a in self.allowed) or "—"
        super().__init__(
            str(
                _l(
                    "Não é possível passar o contrato de %(current)s para %(target)s. Permitido: %(allowed)s.",
                    current=STATUS_LABELS[self.current], target=STATUS_LABELS[self.target], allowed=names,
                )
            )
        )


class EventKind(enum.StrEnum):
    """What a ContractEvent records. Billing reads ``status``, ``plan`` and ``payer`` (with
    ``effective_at``) to prorate; the rest are history for people."""

    CREATED = "created"
    STATUS = "status"
    PLAN = "plan"
    PLAN_SCHEDULED = "plan_scheduled"
    PLAN_SCHEDULE_CANCELLED = "plan_schedule_cancelled"
    PAYER = "payer"
    TRIAL = "trial"
    ACCEPTANCE = "acceptance"
    ACCEPTANCE_REQUESTED = "acceptance_requested"


EVENT_LABELS = {
    EventKind.CREATED: _l("Contratação"),
    EventKind.STATUS: _l("Status"),
    EventKind.PLAN: _l("Plano"),
    EventKind.PLAN_SCHEDULED: _l("Troca de plano agendada"),
    EventKind.PLAN_SCHEDULE_CANCELLED: _l("Troca de plano cancelada"),
    EventKind.PAYER: _l("Responsável pelo pagamento"),
    EventKind.TRIAL: _l("Período de teste"),
    EventKind.ACCEPTANCE: _l("Aceite do contrato"),
    EventKind.ACCEPTANCE_REQUESTED: _l("E-mail de aceite enviado"),
}


class ContractEvent(db.Model):
    """One change of a client's contract: who, when (recorded and effective), what before and after.

    ``from_value``/``to_value`` hold status values, plan ids (as text) or payer values by ``kind``."""

    __tablename__ = "contract_events"
    __table_args__ = (Index("ix_contract_events_client_effective", "client_id", "effective_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="sistema")
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, "contract_event_kind"))
    from_value: Mapped[str | None] = mapped_column(String(64))
    to_value: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))

    client = relationship("Client")

    @property
    def kind_label(self) -> str:
        return str(EVENT_LABELS.get(self.kind, self.kind))

    @property
    def reason_label(self) -> str:
        try:
            return StatusReason(self.reason).label if self.reason else ""
        except ValueError:
            return self.reason or ""

    @property
    def note_label(self) -> str:
        """The note in words: an acceptance records its channel's code (``signup``…) there."""
        if self.kind == EventKind.ACCEPTANCE and self.note in CHANNEL_LABELS:
            return str(CHANNEL_LABELS[self.note])
        return self.note or ""


CONTRACT_DOCUMENT = "contract"


class TermsVersion(db.Model):
    """A published version of the contract terms. The text never changes once published: a new
    text is a new version, and each acceptance keeps the hash of the text it accepted."""

    __tablename__ = "terms_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which document: ``contract`` (the platform contract every client accepts) or another one a
    #: higher domain publishes, e.g. a service's terms (``service:3``), accepted the same way.
    document: Mapped[str] = mapped_column(String(40), default=CONTRACT_DOCUMENT, server_default=CONTRACT_DOCUMENT,
                                          index=True)
    version: Mapped[str] = mapped_column(String(20), unique=True)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __str__(self) -> str:
        return self.version

    @staticmethod
    def hash_text(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AcceptanceChannel(enum.StrEnum):
    SIGNUP = "signup"  # the public signup page
    EMAIL_LINK = "email_link"  # the signed link of the acceptance e-mail
    CLIENT_AREA = "client_area"  # the "Aceitar contrato" button of the client area


CHANNEL_LABELS = {
    AcceptanceChannel.SIGNUP: _l("na página de contratação"),
    AcceptanceChannel.EMAIL_LINK: _l("pelo link do e-mail de aceite"),
    AcceptanceChannel.CLIENT_AREA: _l("na área do cliente"),
}


class Acceptance(db.Model):
    """Evidence that a client accepted a terms version: when, from where, by whom, which text."""

    __tablename__ = "acceptances"
    __table_args__ = (UniqueConstraint("client_id", "terms_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    terms_version_id: Mapped[int] = mapped_column(ForeignKey("terms_versions.id"))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[AcceptanceChannel] = mapped_column(str_enum(AcceptanceChannel, "acceptance_channel"))

    client = relationship("Client")
    terms_version = relationship("TermsVersion")
    user = relationship("User")


class LinkState(enum.StrEnum):
    PENDING = "pending"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


LINK_STATE_LABELS = {
    LinkState.PENDING: _l("Pendente"),
    LinkState.USED: _l("Utilizado"),
    LinkState.EXPIRED: _l("Expirado"),
    LinkState.REVOKED: _l("Revogado"),
}

MAX_TRIAL_DAYS = 90


class SignupLink(TimestampMixin, db.Model):
    """A single-use, expiring signup link ("link de contratação") with the plan preset.

    The URL carries a token signed with the app's secret (payload: id and ``nonce``); only its
    SHA-256 is stored to find and check it. A database dump alone therefore yields no working URL,
    while the panel can still show a pending link's URL again (it signs id + nonce anew)."""

    __tablename__ = "signup_links"
    __table_args__ = (
        CheckConstraint(f"trial_days >= 0 AND trial_days <= {MAX_TRIAL_DAYS}", name="trial_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    payer: Mapped[Payer] = mapped_column(str_enum(Payer, "payer"))
    trial_days: Mapped[int] = mapped_column(default=0)
    client_email: Mapped[str | None] = mapped_column(String(254))
    nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner = relationship("Partner")
    software = relationship("Software")
    plan = relationship("Plan")
    created_by = relationship("User")
    used_by = relationship("Client")

    def state_at(self, now: datetime) -> LinkState:
        if self.used_at is not None:
            return LinkState.USED
        if self.revoked_at is not None:
            return LinkState.REVOKED
        if now >= self.expires_at:
            return LinkState.EXPIRED
        return LinkState.PENDING

    @property
    def state(self) -> LinkState:
        return self.state_at(utcnow())

    @property
    def state_label(self) -> str:
        return str(LINK_STATE_LABELS[self.state])


class PendingPlanChange(TimestampMixin, db.Model):
    """A plan change chosen "no próximo ciclo": one per client, applied by the
    ``contracts.apply_plan_changes`` task at ``effective_at`` (the 1st of the next month)."""

    __tablename__ = "pending_plan_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_by_label: Mapped[str] = mapped_column(String(254), default="sistema")

    client = relationship("Client")
    plan = relationship("Plan")
