"""The status machine and the trial task, pinned rule by rule (each test kills mutants the others miss).

Times are relative to now. The trial task is run with an explicit ``now``; the payer has no payment
method (billing's answer with online payments on and nothing on file; without Stripe billing says yes for
every payer, so its receiver is swapped for that answer here), so a due trial ends blocked unless the
manager chose to activate it.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from contracts import services
from contracts.models import ContractEvent, EventKind, ForbiddenTransition
from contracts.services.common import NothingToChange, ReasonRequired
from core.audit import AuditEvent
from core.db import utcnow
from core.mail import OutboxEmail
from core.validators import ValidationError
from partner.models import ContractStatus as S
from tests.factories import ClientFactory


@pytest.fixture(autouse=True)
def payer_without_a_method():
    from billing.receivers import _payer_has_payment_method
    from contracts.signals import payment_method_asked

    def no_method(client, **_):
        return False

    payment_method_asked.disconnect(_payer_has_payment_method)
    payment_method_asked.connect(no_method)
    yield
    payment_method_asked.disconnect(no_method)
    payment_method_asked.connect(_payer_has_payment_method)


def audit_rows(db, action, client=None):
    query = select(AuditEvent).where(AuditEvent.action == action)
    if client is not None:
        query = query.where(AuditEvent.client_id == client.id)
    return db.session.scalars(query.order_by(AuditEvent.id)).all()


def mails(db):
    return db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()


def events(db, client=None):
    query = select(ContractEvent).order_by(ContractEvent.id)
    if client is not None:
        query = query.where(ContractEvent.client_id == client.id)
    return db.session.scalars(query).all()


# -- the trial task ----------------------------------------------------------------------------------


def test_the_trial_task_only_ends_contracts_still_in_trial(db, partner, plan, manager):
    """A manager activated (or blocked, or cancelled) a contract before its trial date: the task must
    not block it as "trial ended" nor warn about it."""
    now = utcnow()
    old = now - timedelta(days=10)
    soon = now + timedelta(days=1)
    activated = ClientFactory(partner=partner, plan=plan, status=S.ACTIVE, trial_ends_at=old)
    blocked = ClientFactory(partner=partner, plan=plan, status=S.BLOCKED, status_reason="manual", trial_ends_at=old)
    cancelled = ClientFactory(partner=partner, plan=plan, status=S.CANCELLED, status_reason="other",
                              trial_ends_at=soon)
    ending_soon = ClientFactory(partner=partner, plan=plan, status=S.ACTIVE, trial_ends_at=soon)

    assert services.end_due_trials(now) == {"warned": 0, "activated": 0, "blocked": 0}

    assert [c.status for c in (activated, blocked, cancelled, ending_soon)] == [S.ACTIVE, S.BLOCKED, S.CANCELLED,
                                                                             S.ACTIVE]
    assert blocked.status_reason == "manual"
    assert ending_soon.trial_warning_sent_at is None
    assert events(db) == [] and mails(db) == [] and audit_rows(db, "contract.status_changed") == []


def test_the_trial_task_boundaries(db, partner, plan, manager):
    now = utcnow()
    due_now = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now)
    due_before = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now - timedelta(days=1))
    not_yet = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now + timedelta(seconds=1))
    warn_edge = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now + timedelta(days=3))
    too_far = ClientFactory(partner=partner, plan=plan, status=S.TRIAL,
                            trial_ends_at=now + timedelta(days=3, seconds=1))
    warned = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now + timedelta(days=2),
                           trial_warning_sent_at=now - timedelta(hours=1))

    assert services.end_due_trials(now) == {"warned": 2, "activated": 0, "blocked": 2}

    assert (due_now.status, due_now.status_reason) == (S.BLOCKED, "trial_ended")
    assert due_before.status == S.BLOCKED
    assert due_now.trial_warning_sent_at is None  # ending now: too late for a warning
    assert not_yet.status == S.TRIAL and not_yet.trial_warning_sent_at == now
    assert warn_edge.trial_warning_sent_at == now
    assert too_far.trial_warning_sent_at is None
    assert warned.trial_warning_sent_at == now - timedelta(hours=1)  # warned once only
    assert {row.client_id for row in audit_rows(db, "contract.trial_warning_sent")} == {not_yet.id, warn_edge.id}


def test_the_warning_e_mail_and_its_audit_row(app, db, partner, plan, manager):
    now = utcnow()
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now + timedelta(days=2),
                          trial_auto_activate=True, legal_name="Padaria do Teste Ltda")
    services.end_due_trials(now)

    [mail] = mails(db)
    assert (mail.to, mail.kind, mail.partner_id) == (manager.email, "trial_ending", partner.id)
    assert mail.subject == "O período de teste de Padaria do Teste Ltda termina em breve"
    assert "O período de teste de Padaria do Teste Ltda (CNPJ " in mail.body_text
    assert "será efetivado automaticamente ao fim do teste" in mail.body_text
    assert f"/clientes/{trial.id}?tab=contrato" in mail.body_text
    assert mail.body_text.splitlines()[-1].startswith(app.config.get("PUBLIC_URL", "http"))
    [row] = audit_rows(db, "contract.trial_warning_sent")
    assert (row.client_id, row.partner_id, row.actor_label) == (trial.id, partner.id, "sistema")
    assert row.after and "trial_ends_at" in row.after


def test_a_due_trial_without_a_payment_method_is_blocked_with_its_record(db, partner, plan, manager):
    now = utcnow()
    ends = now - timedelta(hours=2)
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=ends,
                          legal_name="Mercado Sem Cartão Ltda")
    assert services.end_due_trials(now) == {"warned": 0, "activated": 0, "blocked": 1}

    assert (trial.status, trial.status_reason) == (S.BLOCKED, "trial_ended")
    [event] = events(db)
    assert (event.client_id, event.kind, event.from_value, event.to_value, event.reason, event.actor_label) == (
        trial.id, EventKind.STATUS, "trial", "blocked", "trial_ended", "sistema")
    assert event.effective_at == ends and event.at >= now  # billing prorates from the trial's end
    [row] = audit_rows(db, "contract.status_changed")
    assert row.client_id == trial.id and row.actor_label == "sistema"
    assert row.before == {"status": "trial", "status_reason": None}
    assert row.after == {"status": "blocked", "status_reason": "trial_ended"}
    [mail] = mails(db)
    assert mail.subject == "Período de teste encerrado: Mercado Sem Cartão Ltda"
    assert "O cliente foi bloqueado (motivo: fim do período de teste)" in mail.body_text
    assert "O contrato foi efetivado." not in mail.body_text
    assert f"/clientes/{trial.id}?tab=contrato" in mail.body_text


def test_a_due_trial_the_manager_chose_to_activate_becomes_active(db, partner, plan, manager):
    now = utcnow()
    ends = now - timedelta(minutes=5)
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=ends, trial_auto_activate=True)
    also = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=ends, trial_auto_activate=True)
    assert services.end_due_trials(now) == {"warned": 0, "activated": 2, "blocked": 0}

    assert (trial.status, trial.status_reason, also.status) == (S.ACTIVE, None, S.ACTIVE)
    event = events(db, trial)[0]
    assert event.actor_label == "sistema"
    assert (event.from_value, event.to_value, event.reason, event.note) == ("trial", "active", None,
                                                                           "Fim do período de teste")
    assert event.effective_at == ends
    mail = mails(db)[0]
    assert "O contrato foi efetivado." in mail.body_text and "bloqueado" not in mail.body_text


# -- changing the trial -------------------------------------------------------------------------------


def test_update_trial_records_once_and_resets_the_warning(db, partner, plan, manager):
    now = utcnow()
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now + timedelta(days=2),
                          trial_warning_sent_at=now)
    new_day = (now + timedelta(days=20)).date()
    services.update_trial(trial, new_day, True, actor=manager)

    assert trial.trial_warning_sent_at is None and trial.trial_auto_activate is True
    assert trial.trial_ends_at > now + timedelta(days=19)
    [event] = events(db)
    assert (event.kind, event.actor_id, event.note) == (EventKind.TRIAL, manager.id,
                                                        "Ativar automaticamente ao fim do teste: sim")
    [row] = audit_rows(db, "contract.trial_updated")
    assert row.actor_id == manager.id and set(row.after) == {"trial_ends_at", "trial_auto_activate"}

    services.update_trial(trial, new_day, True, actor=manager)  # nothing changed: nothing recorded
    assert len(events(db)) == 1 and len(audit_rows(db, "contract.trial_updated")) == 1

    services.update_trial(trial, new_day, False, label="api:integração")
    assert events(db)[-1].note == "Ativar automaticamente ao fim do teste: não"
    assert events(db)[-1].actor_label == "api:integração"
    last = audit_rows(db, "contract.trial_updated")[-1]
    assert (last.before, last.after, last.actor_label) == ({"trial_auto_activate": True},
                                                           {"trial_auto_activate": False}, "api:integração")

    ends_at = trial.trial_ends_at
    services.update_trial(trial, None, False, actor=manager)  # no end date any more
    assert trial.trial_ends_at is None
    event = events(db)[-1]
    assert (event.from_value, event.to_value) == (ends_at.isoformat(), None)
    assert audit_rows(db, "contract.trial_updated")[-1].after == {"trial_ends_at": None}


def test_a_trial_may_end_no_earlier_than_the_coming_midnight(db, partner, plan):
    """The last day chosen ends at the following midnight in São Paulo; that moment must be in the future."""
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=None)
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    today = utcnow().astimezone(sao_paulo).date()
    midnight = datetime.combine(today, time.min, tzinfo=sao_paulo)
    with time_machine.travel(midnight, tick=False):
        with pytest.raises(ValidationError):
            services.update_trial(trial, today - timedelta(days=1), False)  # would end right now
        services.update_trial(trial, today, False)
    assert trial.trial_ends_at == midnight + timedelta(days=1)


def test_update_trial_refuses_a_past_day_and_a_contract_out_of_trial(db, partner, plan, client_row):
    now = utcnow()
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=now + timedelta(days=2))
    with pytest.raises(ValidationError) as error:
        services.update_trial(trial, (now - timedelta(days=2)).date(), False)
    assert error.value.fields == {"trial_ends_on": "Escolha uma data de hoje em diante."}
    with pytest.raises(NothingToChange, match="O contrato não está em período de teste."):
        services.update_trial(client_row, (now + timedelta(days=5)).date(), False)
    assert events(db) == []


# -- the status machine -----------------------------------------------------------------------------


def test_change_status_records_event_and_audit(db, client_row, manager):
    note = "  " + "x" * 600 + "  "
    event = services.change_status(client_row, "blocked", "manual", actor=manager, note=note)

    assert (client_row.status, client_row.status_reason) == (S.BLOCKED, "manual")
    assert event.note == "x" * 500 and event.actor_id == manager.id and event.reason == "manual"
    [row] = audit_rows(db, "contract.status_changed", client_row)
    assert row.before == {"status": "active", "status_reason": None}
    assert row.after == {"status": "blocked", "status_reason": "manual", "note": "x" * 500}

    services.change_status(client_row, "active", "manual", note="   ", label="suporte")
    assert (client_row.status, client_row.status_reason) == (S.ACTIVE, None)
    last = audit_rows(db, "contract.status_changed", client_row)[-1]
    assert last.after == {"status": "active", "status_reason": None} and last.actor_label == "suporte"
    assert events(db)[-1].note is None


def test_invalid_status_and_reason_messages(db, client_row):
    with pytest.raises(ValidationError) as error:
        services.change_status(client_row, "pausado")
    assert error.value.fields == {"status": "Status inválido: use trial, active, blocked ou cancelled."}
    with pytest.raises(ValidationError) as error:
        services.change_status(client_row, "blocked", "tedio")
    assert error.value.fields == {"reason": "Motivo inválido."}
    for empty in (None, ""):
        with pytest.raises(ReasonRequired):
            services.change_status(client_row, "cancelled", empty)
    with pytest.raises(ForbiddenTransition):
        services.change_status(client_row, "trial")
    assert client_row.status == S.ACTIVE and events(db) == []


def test_dunning_hooks_return_what_they_did(db, partner, plan):
    trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL)
    assert services.block_for_non_payment(trial) is True
    assert (trial.status, trial.status_reason) == (S.BLOCKED, "non_payment")
    assert (events(db, trial)[-1].actor_label, events(db, trial)[-1].note) == ("sistema (cobrança)", None)
    assert services.block_for_non_payment(trial) is False  # already blocked
    assert services.unblock_after_payment(trial) is True
    assert trial.status == S.ACTIVE
    last = events(db, trial)[-1]
    assert (last.note, last.actor_label) == ("Pagamento recebido", "sistema (cobrança)")
    assert services.unblock_after_payment(trial) is False  # not blocked


def test_status_choices_follow_the_enum_order(db, partner, plan):
    for status, expected in [
        (S.TRIAL, [S.ACTIVE, S.BLOCKED, S.CANCELLED]),
        (S.ACTIVE, [S.BLOCKED, S.CANCELLED]),
        (S.BLOCKED, [S.ACTIVE, S.CANCELLED]),
        (S.CANCELLED, [S.ACTIVE]),
    ]:
        client = ClientFactory(partner=partner, plan=plan, status=status)
        assert services.status_choices(client) == expected


# -- history ----------------------------------------------------------------------------------------


def test_history_holds_only_the_clients_own_events_newest_first(db, partner, plan, client_row):
    other = ClientFactory(partner=partner, plan=plan)
    services.change_status(client_row, "blocked", "manual", note="primeiro")
    services.change_status(other, "blocked", "manual", note="do outro")
    services.change_status(client_row, "active", note="segundo")
    services.change_status(client_row, "cancelled", "other", note="terceiro")

    assert [e.note for e in services.history(client_row)] == ["terceiro", "segundo", "primeiro"]
    assert [e.note for e in services.history(other)] == ["do outro"]
    assert [e.note for e in services.history(client_row, limit=2)] == ["terceiro", "segundo"]
    # Newest first by the event's moment, then by id when two share it.
    first, second, third = sorted(services.history(client_row), key=lambda e: e.id)
    first.at = third.at + timedelta(hours=1)
    second.at = third.at
    db.session.flush()
    assert [e.note for e in services.history(client_row)] == ["primeiro", "terceiro", "segundo"]


def test_history_keeps_the_latest_hundred(db, client_row):
    for n in range(51):
        services.change_status(client_row, "blocked", "manual", note=f"bloqueio {n}")
        services.change_status(client_row, "active", note=f"volta {n}")
    latest = services.history(client_row)
    assert len(latest) == 100
    assert latest[0].note == "volta 50" and latest[-1].note == "bloqueio 1"  # 102 events: the 2 oldest left out
