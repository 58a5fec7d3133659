"""The contract status machine: every pair of states, reasons, history rows, dunning hooks, the tab."""

import itertools

import pytest
from sqlalchemy import select

from contracts import services
from contracts.models import ALLOWED_TRANSITIONS, ContractEvent, EventKind, ForbiddenTransition, StatusReason
from core.audit import AuditEvent
from core.validators import ValidationError
from partner.models import ContractStatus as S
from tests.factories import ClientFactory

PAIRS = list(itertools.product(list(S), repeat=2))
ALLOWED = [(a, b) for a, b in PAIRS if b in ALLOWED_TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in PAIRS if b not in ALLOWED_TRANSITIONS[a]]


def test_the_table_is_the_documented_one():
    assert ALLOWED_TRANSITIONS == {
        S.TRIAL: {S.ACTIVE, S.BLOCKED, S.CANCELLED},
        S.ACTIVE: {S.BLOCKED, S.CANCELLED},
        S.BLOCKED: {S.ACTIVE, S.CANCELLED},
        S.CANCELLED: {S.ACTIVE},
    }
    assert len(ALLOWED) == 8 and len(FORBIDDEN) == 8


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition(db, partner, plan, manager, current, target):
    client = ClientFactory(partner=partner, plan=plan, status=current)
    reason = StatusReason.MANUAL if target in (S.BLOCKED, S.CANCELLED) else None
    event = services.change_status(client, target, reason, actor=manager, note="combinado por telefone")

    assert client.status == target
    assert client.status_reason == (reason.value if reason else None)
    assert (event.kind, event.from_value, event.to_value) == (EventKind.STATUS, current.value, target.value)
    assert event.actor_id == manager.id and event.actor_label == manager.email
    assert event.reason == (reason.value if reason else None) and event.note == "combinado por telefone"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.client_id == client.id,
                                                       AuditEvent.action == "contract.status_changed"))
    assert audit.before["status"] == current.value and audit.after["status"] == target.value
    assert audit.actor_label == manager.email and audit.partner_id == partner.id


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_forbidden_transition(db, partner, plan, current, target):
    client = ClientFactory(partner=partner, plan=plan, status=current)
    with pytest.raises(ForbiddenTransition) as info:
        services.change_status(client, target, StatusReason.MANUAL)
    assert info.value.current == current and info.value.target == target
    assert set(info.value.allowed) == ALLOWED_TRANSITIONS[current]
    assert client.status == current
    assert db.session.scalar(select(ContractEvent).where(ContractEvent.client_id == client.id)) is None


@pytest.mark.parametrize("target", [S.BLOCKED, S.CANCELLED])
@pytest.mark.parametrize("reason", [None, ""])
def test_blocking_and_cancelling_need_a_reason(db, client_row, target, reason):
    with pytest.raises(services.ReasonRequired) as info:
        services.change_status(client_row, target, reason)
    assert "motivo" in info.value.fields["reason"]
    assert client_row.status == S.ACTIVE


def test_an_unknown_reason_or_status_is_a_validation_error(db, client_row):
    with pytest.raises(ValidationError) as info:
        services.change_status(client_row, S.BLOCKED, "preguiça")
    assert "reason" in info.value.fields
    with pytest.raises(ValidationError) as info:
        services.change_status(client_row, "suspenso", StatusReason.MANUAL)
    assert "status" in info.value.fields


def test_reactivating_clears_the_reason(db, client_row):
    services.change_status(client_row, S.BLOCKED, StatusReason.FRAUD)
    assert client_row.status_reason == "fraud"
    services.change_status(client_row, S.ACTIVE, "fraud")  # a reason given for active is not kept
    assert client_row.status_reason is None


def test_forbidden_message_names_the_allowed_states(db, partner, plan):
    client = ClientFactory(partner=partner, plan=plan, status=S.CANCELLED)
    with pytest.raises(ForbiddenTransition) as info:
        services.change_status(client, S.BLOCKED, StatusReason.MANUAL)
    assert info.value.message == "Não é possível passar o contrato de Cancelado para Bloqueado. Permitido: Efetivado."


# -- dunning hooks -------------------------------------------------------------------------------------


def test_block_and_unblock_for_non_payment(db, client_row):
    assert services.block_for_non_payment(client_row) is True
    assert (client_row.status, client_row.status_reason) == (S.BLOCKED, "non_payment")
    assert services.block_for_non_payment(client_row) is False  # already blocked: nothing new
    assert services.unblock_after_payment(client_row) is True
    assert (client_row.status, client_row.status_reason) == (S.ACTIVE, None)
    events = db.session.scalars(select(ContractEvent).where(ContractEvent.client_id == client_row.id)
                                .order_by(ContractEvent.id)).all()
    assert [(e.to_value, e.reason, e.actor_label) for e in events] == [
        ("blocked", "non_payment", "sistema (cobrança)"), ("active", None, "sistema (cobrança)")]


@pytest.mark.parametrize("reason", [r for r in StatusReason if r is not StatusReason.NON_PAYMENT])
def test_payment_never_lifts_another_block(db, client_row, reason):
    services.change_status(client_row, S.BLOCKED, reason)
    assert services.unblock_after_payment(client_row) is False
    assert (client_row.status, client_row.status_reason) == (S.BLOCKED, reason.value)


@pytest.mark.parametrize("status", [S.CANCELLED])
def test_non_payment_does_not_touch_a_cancelled_contract(db, partner, plan, status):
    client = ClientFactory(partner=partner, plan=plan, status=status)
    assert services.block_for_non_payment(client) is False
    assert client.status == status


# -- the Contrato tab --------------------------------------------------------------------------------------


def test_contract_tab_shows_status_actions_and_history(db, login_as, manager, client_row):
    services.change_status(client_row, S.BLOCKED, StatusReason.CLIENT_REQUEST, actor=manager)
    page = login_as(manager).get(f"/clientes/{client_row.id}?tab=contrato")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="tab-contract"' in html
    assert "Motivo: Pedido do cliente" in html
    assert 'data-testid="status-form-active"' in html and 'data-testid="status-form-cancelled"' in html
    assert 'data-testid="status-form-trial"' not in html  # never back to trial
    assert "Confirma deixar o contrato" in html  # cancelling asks for confirmation
    assert "Responsável pelo pagamento da mensalidade" in html
    assert "Histórico do contrato" in html and "contract.status_changed" in html  # audit history below


def test_status_form_changes_and_records(db, login_as, manager, client_row):
    response = login_as(manager).post(f"/clientes/{client_row.id}/contrato/status",
                                      data={"status": "blocked", "reason": "manual", "note": "inadimplente"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clientes/{client_row.id}?tab=contrato#configuracoes")
    assert (client_row.status, client_row.status_reason) == (S.BLOCKED, "manual")
    history = login_as(manager).get(f"/clientes/{client_row.id}").get_data(as_text=True)
    assert "contract.status_changed" in history and "inadimplente" in history


def test_status_form_without_reason_is_422_and_saves_nothing(db, login_as, manager, client_row, committed):
    committed()
    response = login_as(manager).post(f"/clientes/{client_row.id}/contrato/status",
                                      data={"status": "cancelled", "reason": ""})
    assert response.status_code == 422
    assert "Informe o motivo para deixar o contrato como Cancelado" in response.get_data(as_text=True)
    db.session.refresh(client_row)
    assert client_row.status == S.ACTIVE


def test_status_form_forbidden_is_409_with_message(db, login_as, manager, partner, plan, committed):
    client = ClientFactory(partner=partner, plan=plan, status=S.ACTIVE)
    committed()
    response = login_as(manager).post(f"/clientes/{client.id}/contrato/status", data={"status": "trial"})
    assert response.status_code == 409
    assert "Permitido: Bloqueado, Cancelado" in response.get_data(as_text=True)
