"""Shared pieces of the contract services: named errors, history/audit writers, URLs, notices."""

from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from accounts.services import manager_emails as active_manager_emails
from contracts.models import (
    STATUS_LABELS,
    ContractError,
    ContractEvent,
    EventKind,
    LinkState,
)
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.urls import public_url
from core.validators import ValidationError
from partner.models import Client, ContractStatus, Partner

TERMS_DIR = Path(__file__).resolve().parents[2] / "templates" / "contracts"
DEFAULT_LINK_DAYS = 7
MAX_LINK_DAYS = 30
TRIAL_WARNING_DAYS = 3
ACCEPTANCE_LINK_MAX_AGE = 30 * 24 * 3600


# -- errors ---------------------------------------------------------------------------------------


class ReasonRequired(ValidationError):
    """Blocking or cancelling without a valid reason (a 422 with the ``reason`` field)."""

    def __init__(self, target: ContractStatus):
        self.target = ContractStatus(target)
        super().__init__({"reason": _("Informe o motivo para deixar o contrato como %(s)s.",
                                      s=STATUS_LABELS[self.target])})


class AlreadyAccepted(ContractError):
    code = "already_accepted"


class NothingToChange(ContractError):
    code = "nothing_to_change"


class LinkInvalid(Exception):
    """A signup token that was never issued here (tampered or made up): answered with 404."""


class LinkUnavailable(Exception):
    """A real signup link that can no longer be used: answered with 410 and a clear message."""

    def __init__(self, state: LinkState | str):
        self.state = state
        super().__init__(str(state))

    @property
    def message(self) -> str:
        return {
            LinkState.USED: _("Este link de contratação já foi utilizado. Se você já concluiu o cadastro, "
                              "entre com seu e-mail e senha."),
            LinkState.EXPIRED: _("Este link de contratação expirou. Peça um novo link à sua revenda."),
            LinkState.REVOKED: _("Este link de contratação foi cancelado pela revenda. Peça um novo link."),
            "plan": _("O plano deste link não está mais disponível. Peça um novo link à sua revenda."),
            "partner": _("Este link de contratação está indisponível: a revenda que o criou não está ativa no "
                         "momento. Fale com a sua revenda."),
        }.get(self.state, _("Este link de contratação não pode mais ser usado."))


class AcceptanceLinkInvalid(Exception):
    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


# -- shared helpers -------------------------------------------------------------------------------


def _who(actor, label) -> tuple[int | None, str]:
    actor = actor or audit.current_actor()
    return getattr(actor, "id", None), label or (actor.email if actor is not None else "sistema")


def _event(client: Client, kind: EventKind, *, before=None, after=None, reason=None, note=None,
           actor=None, label=None, effective_at=None) -> ContractEvent:
    actor_id, actor_label = _who(actor, label)
    now = utcnow()
    event = ContractEvent(
        client_id=client.id, partner_id=client.partner_id, kind=kind, at=now, effective_at=effective_at or now,
        actor_id=actor_id, actor_label=actor_label,
        from_value=None if before is None else str(before), to_value=None if after is None else str(after),
        reason=None if reason is None else str(reason), note=note or None,
    )
    db.session.add(event)
    return event


def _audit(action: str, client: Client, *, before=None, after=None, actor=None, label=None, obj=None):
    return audit.record(action, obj if obj is not None else client, before=before, after=after, actor=actor,
                        label=label, partner_id=client.partner_id, client_id=client.id)


def external_url(endpoint: str, **values) -> str:
    """An absolute URL on PUBLIC_URL, never on the request's Host (see core.urls)."""
    return public_url(endpoint, **values)


def manager_emails(partner_id: int) -> list[str]:
    """Where a partner's notices go: its active managers, else the partner's contact e-mail."""
    emails = active_manager_emails(partner_id)
    if emails:
        return list(emails)
    partner = db.session.get(Partner, partner_id)
    return [partner.email] if partner is not None and partner.email else []


def _notify_managers(partner_id: int, subject: str, template: str, *, kind: str, **context) -> None:
    for email in manager_emails(partner_id):
        queue_email(email, subject, template, kind=kind, partner_id=partner_id, **context)


def _local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "America/Sao_Paulo"))
