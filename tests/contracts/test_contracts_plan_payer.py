"""The Software tab (plan now or at the next cycle, the task that applies it) and the payer change."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from contracts import services, tasks
from contracts.models import ContractEvent, EventKind, PendingPlanChange
from core.audit import AuditEvent
from partner.models import Payer
from tests.factories import PlanFactory

_TODAY = datetime.now(UTC).date()
NOW = datetime(_TODAY.year, _TODAY.month, 20, 14, 0, tzinfo=UTC)  # the 20th of this month
_FIRST = (NOW + timedelta(days=15)).date().replace(day=1)
NEXT_CYCLE = datetime(_FIRST.year, _FIRST.month, 1, 3, 0, tzinfo=UTC)  # the 1st of next month, 00:00 in São Paulo


@pytest.fixture
def diamante(db, plan):
    return PlanFactory(software=plan.software, name="Diamante", price_cents=19990)


def events(db, client, kind):
    return db.session.scalars(select(ContractEvent).where(ContractEvent.client_id == client.id,
                                                          ContractEvent.kind == kind)).all()


def test_next_cycle_is_the_first_of_next_month_local_time(db):
    assert services.next_cycle_start(NOW) == NEXT_CYCLE
    year = _TODAY.year
    assert services.next_cycle_start(datetime(year, 12, 31, 12, tzinfo=UTC)) == datetime(year + 1, 1, 1, 3, tzinfo=UTC)
    # the last day of the month 23:30 in São Paulo is already the 1st in UTC, but the cycle is local
    assert services.next_cycle_start(NEXT_CYCLE - timedelta(minutes=30)) == NEXT_CYCLE


def test_tab_lists_plans_with_the_payers_price(db, login_as, manager, client_row, diamante):
    client_row.payer = Payer.PARTNER
    html = login_as(manager).get(f"/clientes/{client_row.id}?tab=software").get_data(as_text=True)
    assert 'data-testid="tab-software"' in html
    assert "Diamante — R$ 99,95" in html  # half of R$ 199,90: the partner pays
    assert "Salvar software" in html and "No próximo ciclo" in html


def test_change_plan_now(db, login_as, manager, client_row, diamante):
    with time_machine.travel(NOW, tick=False):
        response = login_as(manager).post(f"/clientes/{client_row.id}/software",
                                          data={"plan_id": diamante.id, "when": "now"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("?tab=software#configuracoes")
    assert client_row.plan_id == diamante.id and client_row.software_id == diamante.software_id
    [event] = events(db, client_row, EventKind.PLAN)
    assert event.to_value == str(diamante.id) and event.effective_at == NOW and event.actor_id == manager.id
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.plan_changed"))
    assert audit.after["monthly_price_cents"] == 19990 and audit.before["monthly_price_cents"] == 11990


def test_change_plan_next_cycle_then_the_task_applies_it(db, login_as, manager, client_row, plan, diamante):
    with time_machine.travel(NOW, tick=False):
        response = login_as(manager).post(f"/clientes/{client_row.id}/software",
                                          data={"plan_id": diamante.id, "when": "next_cycle"})
    assert response.status_code == 302
    assert client_row.plan_id == plan.id  # not yet
    pending = services.pending_plan_change(client_row)
    assert (pending.plan_id, pending.effective_at) == (diamante.id, NEXT_CYCLE)
    html = login_as(manager).get(f"/clientes/{client_row.id}?tab=software").get_data(as_text=True)
    assert 'data-testid="pending-plan"' in html and f"{NEXT_CYCLE:%d/%m/%Y}" in html

    assert services.apply_due_plan_changes(NEXT_CYCLE - timedelta(seconds=1)) == 0
    with time_machine.travel(NEXT_CYCLE + timedelta(minutes=5), tick=False):
        assert tasks.apply_plan_changes.run() == 1
    assert client_row.plan_id == diamante.id
    assert services.pending_plan_change(client_row) is None
    [applied] = events(db, client_row, EventKind.PLAN)
    assert applied.effective_at == NEXT_CYCLE and applied.actor_label == f"{manager.email} (agendada)"
    assert len(events(db, client_row, EventKind.PLAN_SCHEDULED)) == 1
    assert services.apply_due_plan_changes(NEXT_CYCLE + timedelta(days=1)) == 0  # nothing twice


def test_cancel_the_scheduled_change(db, login_as, manager, client_row, diamante):
    services.change_plan(client_row, diamante, when="next_cycle", actor=manager)
    response = login_as(manager).post(f"/clientes/{client_row.id}/software/cancelar-agendamento")
    assert response.status_code == 302
    assert services.pending_plan_change(client_row) is None
    assert len(events(db, client_row, EventKind.PLAN_SCHEDULE_CANCELLED)) == 1
    assert services.apply_due_plan_changes(datetime(2099, 1, 1, tzinfo=UTC)) == 0


def test_cancel_without_a_scheduled_change_is_409(db, login_as, manager, client_row, committed):
    committed()
    response = login_as(manager).post(f"/clientes/{client_row.id}/software/cancelar-agendamento")
    assert response.status_code == 409 and "Não há troca de plano agendada." in response.get_data(as_text=True)


def test_a_new_schedule_replaces_the_old_one_and_now_clears_it(db, client_row, plan, diamante):
    bronze = PlanFactory(software=plan.software, name="Bronze", price_cents=4990)
    services.change_plan(client_row, diamante, when="next_cycle")
    services.change_plan(client_row, bronze, when="next_cycle")
    assert db.session.scalar(select(PendingPlanChange.plan_id)) == bronze.id
    services.change_plan(client_row, diamante, when="now")
    assert services.pending_plan_change(client_row) is None and client_row.plan_id == diamante.id


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"plan_id": "999999", "when": "now"}, "plan_id", "Escolha um plano ativo."),
    ({"plan_id": "", "when": "now"}, "plan_id", "Escolha um plano ativo."),
    ({"when": "ontem"}, "when", "Escolha quando a troca vale"),
    ({"when": "now"}, "plan_id", "Este já é o plano atual do cliente."),
])
def test_invalid_plan_change_is_422(db, login_as, manager, client_row, diamante, committed, data, field, message):
    data = {"plan_id": client_row.plan_id if field == "plan_id" and "plan_id" not in data else diamante.id, **data}
    committed()
    response = login_as(manager).post(f"/clientes/{client_row.id}/software", data=data)
    assert response.status_code == 422
    assert f'data-field-error="{field}">{message}' in response.get_data(as_text=True)
    db.session.refresh(client_row)
    assert client_row.plan_id != diamante.id


def test_change_payer(db, login_as, manager, client_row):
    response = login_as(manager).post(f"/clientes/{client_row.id}/contrato/pagador", data={"payer": "partner"})
    assert response.status_code == 302
    assert client_row.payer == Payer.PARTNER
    [event] = events(db, client_row, EventKind.PAYER)
    assert (event.from_value, event.to_value) == ("client", "partner")
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.payer_changed"))
    assert audit.before == {"payer": "client", "monthly_price_cents": 11990}
    assert audit.after == {"payer": "partner", "monthly_price_cents": 5995}


def test_same_payer_is_422(db, login_as, manager, client_row, committed):
    committed()
    response = login_as(manager).post(f"/clientes/{client_row.id}/contrato/pagador", data={"payer": "client"})
    assert response.status_code == 422 and "Este já é o responsável pelo pagamento." in response.get_data(as_text=True)


def test_another_partners_client_is_404(db, login_as, other_manager, client_row, diamante, committed):
    committed()
    client = login_as(other_manager)
    for url, data in (
        (f"/clientes/{client_row.id}/software", {"plan_id": diamante.id}),
        (f"/clientes/{client_row.id}/contrato/pagador", {"payer": "partner"}),
        (f"/clientes/{client_row.id}/contrato/status", {"status": "blocked", "reason": "manual"}),
    ):
        assert client.post(url, data=data).status_code == 404
    db.session.refresh(client_row)
    assert (client_row.plan_id, client_row.payer, client_row.status.value) != (diamante.id, Payer.PARTNER, "blocked")
    assert client_row.payer == Payer.CLIENT
