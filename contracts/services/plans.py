"""Plan changes (now or from the next cycle) and the payer of the monthly fee."""

import calendar
from datetime import UTC, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from contracts.models import (
    ContractEvent,
    EventKind,
    PendingPlanChange,
)
from contracts.services.common import (
    NothingToChange,
    _audit,
    _event,
    _local_tz,
    _who,
)
from core.db import db, utcnow
from core.security import parse_id
from core.validators import ValidationError
from partner import services as partner_services
from partner.models import Client, Payer, Plan

# -- plan and payer -------------------------------------------------------------------------------

WHEN_NOW, WHEN_NEXT_CYCLE = "now", "next_cycle"


def next_cycle_start(now: datetime | None = None) -> datetime:
    """Midnight (local time) of the 1st of next month, in UTC: when a "próximo ciclo" change applies."""
    local = (now or utcnow()).astimezone(_local_tz())
    days = calendar.monthrange(local.year, local.month)[1]
    first = (local.replace(day=1) + timedelta(days=days)).date()
    return datetime.combine(first, time.min, tzinfo=_local_tz()).astimezone(UTC)


def pending_plan_change(client: Client) -> PendingPlanChange | None:
    return db.session.scalar(select(PendingPlanChange).where(PendingPlanChange.client_id == client.id))


def resolve_plan(plan_id) -> Plan:
    """An active plan of an active software, or a ValidationError on ``plan_id``."""
    plan_id = parse_id(plan_id)  # within the id column's range, or no plan
    plan = db.session.get(Plan, plan_id) if plan_id else None
    if plan is None or not plan.is_active or not plan.software.is_active:
        raise ValidationError({"plan_id": _("Escolha um plano ativo.")})
    return plan


def change_plan(client: Client, plan: Plan, *, when: str = WHEN_NOW, actor=None, label=None):
    """Change the client's plan now (returns the ContractEvent) or from the next cycle
    (returns the PendingPlanChange, replacing any other pending one)."""
    if when not in (WHEN_NOW, WHEN_NEXT_CYCLE):
        raise ValidationError({"when": _("Escolha quando a troca vale: agora ou no próximo ciclo.")})
    pending = pending_plan_change(client)
    if plan.id == client.plan_id and not (when == WHEN_NOW and pending is not None):
        raise ValidationError({"plan_id": _("Este já é o plano atual do cliente.")})
    if when == WHEN_NOW:
        if pending is not None:
            _drop_pending(client, pending, actor=actor, label=label, note=_("Substituída por troca imediata"))
        if plan.id == client.plan_id:
            return None
        return _apply_plan(client, plan, actor=actor, label=label)
    if pending is not None:
        db.session.delete(pending)
        db.session.flush()
    pending = PendingPlanChange(client_id=client.id, plan_id=plan.id, effective_at=next_cycle_start())
    pending.requested_by_id, pending.requested_by_label = _who(actor, label)
    db.session.add(pending)
    db.session.flush()
    _event(client, EventKind.PLAN_SCHEDULED, before=client.plan_id, after=plan.id, actor=actor, label=label,
           effective_at=pending.effective_at)
    _audit("contract.plan_change_scheduled", client, before={"plan": str(client.plan)},
           after={"plan": str(plan), "effective_at": pending.effective_at}, actor=actor, label=label)
    return pending


def _apply_plan(client: Client, plan: Plan, *, actor=None, label=None, effective_at=None) -> ContractEvent:
    before = {"plan": str(client.plan), "plan_id": client.plan_id,
              "monthly_price_cents": partner_services.monthly_price(client.plan, client.payer)}
    event = _event(client, EventKind.PLAN, before=client.plan_id, after=plan.id, actor=actor, label=label,
                   effective_at=effective_at)
    client.plan_id, client.software_id = plan.id, plan.software_id
    client.plan = plan
    db.session.flush()
    after = {"plan": str(plan), "plan_id": plan.id,
             "monthly_price_cents": partner_services.monthly_price(plan, client.payer)}
    _audit("contract.plan_changed", client, before=before, after=after, actor=actor, label=label)
    return event


def _drop_pending(client, pending, *, actor=None, label=None, note=None) -> None:
    _event(client, EventKind.PLAN_SCHEDULE_CANCELLED, before=pending.plan_id, actor=actor, label=label, note=note)
    _audit("contract.plan_change_cancelled", client, before={"plan": str(pending.plan),
                                                             "effective_at": pending.effective_at},
           actor=actor, label=label)
    db.session.delete(pending)
    db.session.flush()


def cancel_pending_plan_change(client: Client, *, actor=None, label=None) -> None:
    """Drop the plan change scheduled for the next cycle."""
    pending = pending_plan_change(client)
    if pending is None:
        raise NothingToChange(_("Não há troca de plano agendada."))
    _drop_pending(client, pending, actor=actor, label=label)


def apply_due_plan_changes(now: datetime | None = None) -> int:
    """The cycle task: apply the scheduled plan changes whose date has come (effective on that date)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(PendingPlanChange).where(PendingPlanChange.effective_at <= now).order_by(PendingPlanChange.id)
    ).all()
    for pending in due:
        client, plan, effective_at = pending.client, pending.plan, pending.effective_at
        label = f"{pending.requested_by_label} (agendada)"
        db.session.delete(pending)
        db.session.flush()
        if plan.id != client.plan_id:
            _apply_plan(client, plan, label=label, effective_at=effective_at)
    return len(due)


def change_payer(client: Client, payer, *, actor=None, label=None) -> ContractEvent:
    """"Responsável pelo pagamento da mensalidade": the partner (50% off) or the client, from now on."""
    try:
        payer = Payer(payer)
    except ValueError:
        raise ValidationError({"payer": _("Escolha quem paga: a revenda (partner) ou o cliente (client).")}) from None
    if payer == client.payer:
        raise ValidationError({"payer": _("Este já é o responsável pelo pagamento.")})
    before = {"payer": client.payer, "monthly_price_cents": partner_services.monthly_price(client.plan, client.payer)}
    event = _event(client, EventKind.PAYER, before=client.payer.value, after=payer.value, actor=actor, label=label)
    client.payer = payer
    db.session.flush()
    after = {"payer": payer, "monthly_price_cents": partner_services.monthly_price(client.plan, payer)}
    _audit("contract.payer_changed", client, before=before, after=after, actor=actor, label=label)
    return event
