"""Trials end by themselves: warned 3 days ahead (once), then active or blocked (time travel)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from contracts import services, tasks
from contracts.models import ContractEvent, EventKind
from contracts.signals import payment_method_asked
from core.tasks import BEAT_SCHEDULE
from partner.models import ContractStatus as S
from tests.factories import ClientFactory

#: The trial's end, ten days from now at 15:00 UTC (noon in São Paulo: the same calendar day there).
END = (datetime.now(UTC) + timedelta(days=10)).replace(hour=15, minute=0, second=0, microsecond=0)
LATER = END + timedelta(days=10)  # a new last day
PAST = END - timedelta(days=19)


@pytest.fixture
def trial(db, partner, plan, manager):
    return ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=END)


@pytest.fixture
def billing_says():
    """Answer contracts' ``payment_method_asked`` question in billing's place (billing's own receiver is
    disconnected meanwhile: without online payments it says yes for every payer), so the answer set here
    decides."""
    from billing.receivers import _payer_has_payment_method

    answers = []

    def receiver(client, **_):
        return bool(answers and answers[-1])

    payment_method_asked.disconnect(_payer_has_payment_method)
    payment_method_asked.connect(receiver)
    yield answers.append
    payment_method_asked.disconnect(receiver)
    payment_method_asked.connect(_payer_has_payment_method)


def test_trial_with_payment_method_becomes_active(db, trial, billing_says, manager, inbox, deliver_mail):
    billing_says(True)
    with time_machine.travel(END + timedelta(minutes=15), tick=False):
        counts = services.end_due_trials()
    assert counts == {"warned": 0, "activated": 1, "blocked": 0}
    assert (trial.status, trial.status_reason) == (S.ACTIVE, None)
    event = db.session.scalar(select(ContractEvent).where(ContractEvent.client_id == trial.id,
                                                          ContractEvent.kind == EventKind.STATUS))
    assert (event.from_value, event.to_value, event.actor_label) == ("trial", "active", "sistema")
    assert event.effective_at == END  # billing prorates from the trial's end, not from the task's run
    deliver_mail()
    inbox.wait_for(1)
    [notice] = inbox.to(manager.email)
    assert "Período de teste encerrado" in notice["Subject"]
    assert "O contrato foi efetivado." in notice.get_body(("plain",)).get_content()


def test_trial_the_manager_chose_to_activate(db, trial, billing_says):
    billing_says(False)
    trial.trial_auto_activate = True
    services.end_due_trials(END + timedelta(seconds=1))
    assert trial.status == S.ACTIVE


def test_trial_without_payment_method_is_blocked(db, trial, billing_says, manager, inbox, deliver_mail):
    billing_says(False)
    counts = services.end_due_trials(END)
    assert counts == {"warned": 0, "activated": 0, "blocked": 1}
    assert (trial.status, trial.status_reason) == (S.BLOCKED, "trial_ended")
    deliver_mail()
    inbox.wait_for(1)
    body = inbox.to(manager.email)[0].get_body(("plain",)).get_content()
    assert "foi bloqueado (motivo: fim do período de teste)" in body


def test_without_an_answer_there_is_no_payment_method(db, trial):
    with payment_method_asked.muted():  # nobody answers contracts' question
        assert services.has_payment_method(trial) is False


def test_trial_not_due_is_left_alone(db, trial, billing_says):
    billing_says(True)
    services.end_due_trials(END - timedelta(seconds=1))
    assert trial.status == S.TRIAL


def test_trial_without_end_date_never_ends(db, partner, plan, billing_says):
    billing_says(False)
    open_trial = ClientFactory(partner=partner, plan=plan, status=S.TRIAL, trial_ends_at=None)
    services.end_due_trials(datetime(2099, 1, 1, tzinfo=UTC))
    assert open_trial.status == S.TRIAL


def test_warning_three_days_before_and_only_once(db, trial, manager, inbox, deliver_mail):
    with time_machine.travel(END - timedelta(days=3, minutes=1), tick=False):
        assert services.end_due_trials()["warned"] == 0  # not yet
    with time_machine.travel(END - timedelta(days=3) + timedelta(minutes=15), tick=False):
        assert services.end_due_trials()["warned"] == 1
        assert services.end_due_trials()["warned"] == 0  # the next hourly run stays quiet
    with time_machine.travel(END - timedelta(days=1), tick=False):
        assert services.end_due_trials()["warned"] == 0
    assert trial.trial_warning_sent_at == END - timedelta(days=3) + timedelta(minutes=15)
    assert trial.status == S.TRIAL
    assert deliver_mail() == 1
    inbox.wait_for(1)
    [warning] = inbox.to(manager.email)
    assert "termina em breve" in warning["Subject"]
    body = warning.get_body(("plain",)).get_content()
    assert f"{END:%d/%m/%Y}" in body and f"/clientes/{trial.id}?tab=contrato" in body


def test_a_new_end_date_gets_a_new_warning(db, trial, login_as, manager):
    services.end_due_trials(END - timedelta(days=2))
    assert trial.trial_warning_sent_at is not None
    with time_machine.travel(END - timedelta(days=2), tick=False):
        response = login_as(manager).post(f"/clientes/{trial.id}/contrato/teste",
                                          data={"trial_ends_on": f"{LATER:%Y-%m-%d}", "trial_auto_activate": "1"})
    assert response.status_code == 302
    assert trial.trial_warning_sent_at is None and trial.trial_auto_activate is True
    # the last day is LATER in São Paulo: the trial ends at the next midnight local time (03:00 UTC)
    assert trial.trial_ends_at == (LATER + timedelta(days=1)).replace(hour=3)
    event = db.session.scalar(select(ContractEvent).where(ContractEvent.kind == EventKind.TRIAL))
    assert event.client_id == trial.id and event.actor_id == manager.id


def test_trial_date_in_the_past_is_rejected(db, trial, login_as, manager, committed):
    committed()
    with time_machine.travel(END - timedelta(days=2), tick=False):
        response = login_as(manager).post(f"/clientes/{trial.id}/contrato/teste", data={"trial_ends_on": f"{PAST:%Y-%m-%d}"})
        bad = login_as(manager).post(f"/clientes/{trial.id}/contrato/teste", data={"trial_ends_on": "01/04"})
    assert response.status_code == 422 and "Escolha uma data de hoje em diante." in response.get_data(as_text=True)
    assert bad.status_code == 422 and "Data inválida" in bad.get_data(as_text=True)
    db.session.refresh(trial)
    assert trial.trial_ends_at == END


def test_tab_shows_trial_end_and_auto_activation(db, trial, login_as, manager):
    trial.trial_auto_activate = True
    html = login_as(manager).get(f"/clientes/{trial.id}?tab=contrato").get_data(as_text=True)
    assert f"Teste até {END:%d/%m/%Y}." in html and "Será efetivado automaticamente" in html
    assert f'name="trial_ends_on" value="{END:%Y-%m-%d}"' in html


def test_the_tasks_are_registered_and_scheduled(db, trial, billing_says):
    billing_says(False)
    assert tasks.end_trials.name == "contracts.end_trials"
    assert BEAT_SCHEDULE["apply-plan-changes"]["task"] == "contracts.apply_plan_changes"
    with time_machine.travel(END, tick=False):
        assert tasks.end_trials.run() == {"warned": 0, "activated": 0, "blocked": 1}
