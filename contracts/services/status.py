"""The contract status machine, the dunning hooks and trials that end by themselves."""

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from contracts import signals
from contracts.models import (
    ALLOWED_TRANSITIONS,
    REASON_REQUIRED,
    ContractEvent,
    EventKind,
    ForbiddenTransition,
    StatusReason,
)
from contracts.services.common import (
    TRIAL_WARNING_DAYS,
    NothingToChange,
    ReasonRequired,
    _audit,
    _event,
    _local_tz,
    _notify_managers,
    external_url,
)
from core import audit
from core.db import db, utcnow
from core.validators import ValidationError
from partner.models import Client, ContractStatus

# -- status machine -------------------------------------------------------------------------------


def allowed_targets(current: ContractStatus) -> frozenset[ContractStatus]:
    return ALLOWED_TRANSITIONS[ContractStatus(current)]


def _parse_status(value) -> ContractStatus:
    try:
        return ContractStatus(value)
    except ValueError:
        raise ValidationError({"status": _("Status inválido: use trial, active, blocked ou cancelled.")}) from None


def _parse_reason(value, target: ContractStatus) -> StatusReason | None:
    if value in (None, ""):
        if target in REASON_REQUIRED:
            raise ReasonRequired(target)
        return None
    try:
        return StatusReason(value)
    except ValueError:
        raise ValidationError({"reason": _("Motivo inválido.")}) from None


def check_transition(current, target, reason=None) -> tuple[ContractStatus, StatusReason | None]:
    """Validate ``current`` → ``target`` with ``reason``; raise ForbiddenTransition / ReasonRequired."""
    current, target = ContractStatus(current), _parse_status(target)
    if target not in allowed_targets(current):
        raise ForbiddenTransition(current, target, allowed_targets(current))
    reason = _parse_reason(reason, target)
    # Leaving for an active contract carries no reason on the row: it would linger and mislead dunning.
    return target, reason if target in REASON_REQUIRED else None


def change_status(client: Client, target, reason=None, *, actor=None, note=None, label=None,
                  effective_at=None) -> ContractEvent:
    """Move the contract through the status machine, recording who, when and why."""
    target, clean_reason = check_transition(client.status, target, reason)
    note = (note or "").strip()[:500] or None
    before = {"status": client.status, "status_reason": client.status_reason}
    event = _event(client, EventKind.STATUS, before=client.status.value, after=target.value, reason=clean_reason,
                   note=note, actor=actor, label=label, effective_at=effective_at)
    client.status = target
    client.status_reason = clean_reason.value if clean_reason else None
    db.session.flush()
    after = {"status": client.status, "status_reason": client.status_reason}
    if note:
        after["note"] = note
    _audit("contract.status_changed", client, before=before, after=after, actor=actor, label=label)
    signals.status_changed.send(client, before=before["status"].value if before["status"] else None,
                                after=target.value, reason=client.status_reason)
    return event


def block_for_non_payment(client: Client, *, label: str = "sistema (cobrança)") -> bool:
    """Dunning: block a trial/active contract for non-payment; any other state is left alone."""
    if client.status not in (ContractStatus.TRIAL, ContractStatus.ACTIVE):
        return False
    change_status(client, ContractStatus.BLOCKED, StatusReason.NON_PAYMENT, label=label)
    return True


def unblock_after_payment(client: Client, *, label: str = "sistema (cobrança)") -> bool:
    """Dunning: lift a block made for non-payment — never a manual, fraud or other block."""
    if client.status != ContractStatus.BLOCKED or client.status_reason != StatusReason.NON_PAYMENT.value:
        return False
    change_status(client, ContractStatus.ACTIVE, note=_("Pagamento recebido"), label=label)
    return True


# -- trials ---------------------------------------------------------------------------------------


def has_payment_method(client: Client) -> bool:
    """Ask (billing answers) whether the payer of ``client`` has a payment method on file."""
    return any(answer for _receiver, answer in signals.payment_method_asked.send(client))


def update_trial(client: Client, ends_on: date | None, auto_activate: bool, *, actor=None, label=None) -> None:
    """Set the trial's last day (ends at the end of that day, local time) and whether it auto-activates."""
    if client.status != ContractStatus.TRIAL:
        raise NothingToChange(_("O contrato não está em período de teste."))
    ends_at = None
    if ends_on is not None:
        ends_at = datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=_local_tz()).astimezone(UTC)
        if ends_at <= utcnow():
            raise ValidationError({"trial_ends_on": _("Escolha uma data de hoje em diante.")})
    before = audit.snapshot(client, ("trial_ends_at", "trial_auto_activate"))
    if ends_at != client.trial_ends_at:
        client.trial_warning_sent_at = None  # a new end date deserves a new warning
    client.trial_ends_at, client.trial_auto_activate = ends_at, bool(auto_activate)
    db.session.flush()
    old, new = audit.changed(before, audit.snapshot(client, ("trial_ends_at", "trial_auto_activate")))
    if not new:
        return
    _event(client, EventKind.TRIAL, before=old.get("trial_ends_at"), after=new.get("trial_ends_at"),
           note=_("Ativar automaticamente ao fim do teste: %(v)s", v=_("sim") if client.trial_auto_activate else _("não")),
           actor=actor, label=label)
    _audit("contract.trial_updated", client, before=old, after=new, actor=actor, label=label)


def end_due_trials(now: datetime | None = None) -> dict:
    """The trial task: warn managers 3 days ahead (once), then end trials that are due —
    to ``active`` when the payer has a payment method or the manager chose so, else ``blocked``."""
    now = now or utcnow()
    counts = {"warned": 0, "activated": 0, "blocked": 0}
    warn_until = now + timedelta(days=TRIAL_WARNING_DAYS)
    to_warn = db.session.scalars(
        select(Client).where(
            Client.status == ContractStatus.TRIAL, Client.trial_ends_at.is_not(None),
            Client.trial_ends_at > now, Client.trial_ends_at <= warn_until, Client.trial_warning_sent_at.is_(None),
        ).order_by(Client.id)
    ).all()
    for client in to_warn:
        _warn_trial_ending(client, now)
        counts["warned"] += 1
    due = db.session.scalars(
        select(Client).where(
            Client.status == ContractStatus.TRIAL, Client.trial_ends_at.is_not(None), Client.trial_ends_at <= now
        ).order_by(Client.id)
    ).all()
    for client in due:
        counts["activated" if _end_trial(client) else "blocked"] += 1
    db.session.flush()
    return counts


def _warn_trial_ending(client: Client, now: datetime) -> None:
    client.trial_warning_sent_at = now
    _notify_managers(
        client.partner_id, _("O período de teste de %(name)s termina em breve", name=client.legal_name),
        "trial_ending", kind="trial_ending", client=client, will_activate=client.trial_auto_activate,
        link=external_url("partner.manage_client", client_id=client.id, tab="contrato"),
    )
    _audit("contract.trial_warning_sent", client, after={"trial_ends_at": client.trial_ends_at}, label="sistema")


def _end_trial(client: Client) -> bool:
    """End one due trial; True when it became active."""
    activate = client.trial_auto_activate or has_payment_method(client)
    if activate:
        change_status(client, ContractStatus.ACTIVE, note=_("Fim do período de teste"), label="sistema",
                      effective_at=client.trial_ends_at)
    else:
        change_status(client, ContractStatus.BLOCKED, StatusReason.TRIAL_ENDED, label="sistema",
                      effective_at=client.trial_ends_at)
    _notify_managers(
        client.partner_id, _("Período de teste encerrado: %(name)s", name=client.legal_name), "trial_ended",
        kind="trial_ended", client=client, activated=activate,
        link=external_url("partner.manage_client", client_id=client.id, tab="contrato"),
    )
    return activate


def history(client: Client, limit: int = 100) -> list[ContractEvent]:
    """The client's contract events, newest first."""
    return list(db.session.scalars(
        select(ContractEvent).where(ContractEvent.client_id == client.id)
        .order_by(ContractEvent.at.desc(), ContractEvent.id.desc()).limit(limit)
    ))


def status_choices(client: Client) -> list[ContractStatus]:
    """The states the contract may move to, in the enum's order (for the panel's buttons)."""
    return sorted(allowed_targets(client.status), key=lambda s: list(ContractStatus).index(s))
