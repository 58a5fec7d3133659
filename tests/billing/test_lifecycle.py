"""The invoice state machine, frozen paid invoices, refunds as separate records, and manual
payments that need a second finance user."""

from datetime import date

import pytest
from sqlalchemy import select

from billing import services
from billing.errors import (
    InvalidTransition,
    InvoiceImmutable,
    NotPayable,
    PaymentAlreadyPending,
    PaymentNotPending,
    SameApprover,
)
from billing.models import TRANSITIONS, InvoiceLine, InvoiceStatus, PaymentStatus
from core.audit import AuditEvent
from core.permissions import Role
from core.validators import ValidationError
from partner.models import ContractStatus, Payer
from tests.factories import UserFactory

S = InvoiceStatus


@pytest.fixture
def draft(db, make_client):
    client = make_client(Payer.CLIENT)
    invoice = services.create_draft(Payer.CLIENT, client, "2025-06", date(2025, 7, 10))
    services.add_line(invoice, description="Plano Ouro — junho", list_price_cents=11990,
                      period_start=date(2025, 6, 1), period_end=date(2025, 6, 30), client_id=client.id,
                      plan_id=client.plan_id)
    return invoice


@pytest.fixture
def open_invoice(draft):
    return services.finalize_invoice(draft)


@pytest.fixture
def second_finance(db):
    return UserFactory(role=Role.FINANCE)


def test_transition_table_is_explicit():
    assert TRANSITIONS[S.DRAFT] == {S.OPEN, S.VOID}
    assert TRANSITIONS[S.OPEN] == {S.PAID, S.VOID, S.UNCOLLECTIBLE}
    assert TRANSITIONS[S.UNCOLLECTIBLE] == {S.PAID, S.VOID}
    assert TRANSITIONS[S.PAID] == TRANSITIONS[S.VOID] == frozenset()


def test_finalize_assigns_the_next_number_and_the_total(draft):
    assert draft.number is None and draft.status == S.DRAFT
    services.finalize_invoice(draft)
    assert draft.status == S.OPEN and draft.issued_at is not None
    year, serial = draft.number.split("-")
    assert len(year) == 4 and len(serial) == 6
    assert draft.total_cents == 11990


@pytest.mark.parametrize(("start", "target"), [
    (S.DRAFT, S.PAID), (S.DRAFT, S.UNCOLLECTIBLE), (S.OPEN, S.DRAFT), (S.OPEN, S.OPEN),
    (S.PAID, S.OPEN), (S.PAID, S.VOID), (S.PAID, S.UNCOLLECTIBLE), (S.VOID, S.OPEN), (S.VOID, S.PAID),
    (S.UNCOLLECTIBLE, S.OPEN),
])
def test_forbidden_transitions_raise_a_named_error(draft, start, target):
    path = {S.DRAFT: [], S.OPEN: [S.OPEN], S.PAID: [S.OPEN, S.PAID], S.VOID: [S.VOID],
            S.UNCOLLECTIBLE: [S.OPEN, S.UNCOLLECTIBLE]}[start]
    for step in path:
        services.transition(draft, step)
    with pytest.raises(InvalidTransition) as info:
        services.transition(draft, target)
    assert info.value.code == "invalid_transition"
    assert draft.status == start


def test_every_allowed_transition_is_audited(open_invoice):
    services.mark_uncollectible(open_invoice)
    services.mark_paid(open_invoice, notify=False)
    actions = [e.action for e in services.db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "invoice", AuditEvent.object_id == open_invoice.id)
        .order_by(AuditEvent.id))]
    assert actions == ["invoice.draft", "invoice.open", "invoice.uncollectible", "invoice.paid"]


def test_paid_invoice_is_immutable(db, open_invoice):
    services.mark_paid(open_invoice, notify=False)
    with pytest.raises(InvoiceImmutable):
        services.add_line(open_invoice, description="x", list_price_cents=1, period_start=date(2025, 6, 1),
                          period_end=date(2025, 6, 1))
    with pytest.raises(InvoiceImmutable):
        services.void_invoice(open_invoice, "engano")
    # Even code that bypasses the services cannot change it: the flush guard refuses.
    open_invoice.total_cents = 1
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()


def test_lines_of_a_paid_invoice_cannot_change(db, open_invoice):
    services.mark_paid(open_invoice, notify=False)
    db.session.flush()
    line = db.session.scalar(select(InvoiceLine).where(InvoiceLine.invoice_id == open_invoice.id))
    line.amount_cents = 0
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()


def test_open_invoice_lines_are_frozen_too(open_invoice):
    with pytest.raises(InvoiceImmutable):
        services.add_line(open_invoice, description="x", list_price_cents=1, period_start=date(2025, 6, 1),
                          period_end=date(2025, 6, 1))


def test_refund_is_a_separate_record_and_the_invoice_stays_paid(open_invoice):
    services.mark_paid(open_invoice, notify=False)
    refund = services.record_refund(open_invoice, 1990, reason="cortesia")
    assert refund.id and open_invoice.status == S.PAID and open_invoice.total_cents == 11990
    with pytest.raises(ValidationError):
        services.record_refund(open_invoice, 10001)  # more than what is left
    assert [r.amount_cents for r in open_invoice.refunds] == [1990]


def test_refund_of_unpaid_invoice_is_refused(open_invoice):
    with pytest.raises(NotPayable):
        services.record_refund(open_invoice, 100)


def test_void_needs_a_reason(open_invoice):
    with pytest.raises(ValidationError) as info:
        services.void_invoice(open_invoice, "  ")
    assert "reason" in info.value.fields
    services.void_invoice(open_invoice, "Cobrança em duplicidade")
    assert open_invoice.status == S.VOID and open_invoice.void_reason == "Cobrança em duplicidade"
    assert open_invoice.number  # the number stays: no gap


def test_manual_payment_needs_a_second_finance_user(open_invoice, finance_user, second_finance):
    payment = services.record_manual_payment(open_invoice, "TED 123456", actor=finance_user)
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert open_invoice.status == S.OPEN  # no effect yet
    with pytest.raises(SameApprover):
        services.approve_manual_payment(payment, actor=finance_user)
    assert open_invoice.status == S.OPEN
    services.approve_manual_payment(payment, actor=second_finance)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.approved_by_id == second_finance.id
    assert open_invoice.status == S.PAID and open_invoice.paid_at is not None
    with pytest.raises(PaymentNotPending):
        services.approve_manual_payment(payment, actor=second_finance)


def test_manual_payment_approver_must_be_finance(open_invoice, finance_user, manager):
    payment = services.record_manual_payment(open_invoice, "PIX e2e", actor=finance_user)
    with pytest.raises(services.BillingError):
        services.approve_manual_payment(payment, actor=manager)
    assert payment.status == PaymentStatus.PENDING_APPROVAL


def test_the_database_refuses_self_approval_too(db, open_invoice, finance_user):
    from sqlalchemy.exc import IntegrityError

    payment = services.record_manual_payment(open_invoice, "TED 1", actor=finance_user)
    payment.approved_by_id = finance_user.id
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_reject_then_record_again(open_invoice, finance_user, second_finance):
    payment = services.record_manual_payment(open_invoice, "TED 1", actor=finance_user)
    with pytest.raises(PaymentAlreadyPending):
        services.record_manual_payment(open_invoice, "TED 2", actor=finance_user)
    services.reject_manual_payment(payment, actor=second_finance, reason="valor não encontrado no extrato")
    assert payment.status == PaymentStatus.REJECTED and open_invoice.status == S.OPEN
    again = services.record_manual_payment(open_invoice, "TED 2", actor=finance_user)
    assert again.status == PaymentStatus.PENDING_APPROVAL


def test_manual_payment_requires_a_reference(open_invoice, finance_user):
    with pytest.raises(ValidationError) as info:
        services.record_manual_payment(open_invoice, "", actor=finance_user)
    assert "reference" in info.value.fields


def test_paying_unblocks_only_non_payment_blocks(db, make_client, finance_user, second_finance):
    owed = make_client(Payer.PARTNER, ContractStatus.BLOCKED, status_reason="non_payment")
    manual = make_client(Payer.PARTNER, ContractStatus.BLOCKED, status_reason="manual")
    invoice = services.create_draft(Payer.PARTNER, owed.partner, "2025-06", date(2025, 7, 10))
    for c in (owed, manual):
        services.add_line(invoice, description=c.legal_name, list_price_cents=1000, discount_cents=500,
                          period_start=date(2025, 6, 1), period_end=date(2025, 6, 30), client_id=c.id)
    services.finalize_invoice(invoice)
    payment = services.record_manual_payment(invoice, "TED", actor=finance_user)
    services.approve_manual_payment(payment, actor=second_finance)
    assert owed.status == ContractStatus.ACTIVE and owed.status_reason is None
    assert manual.status == ContractStatus.BLOCKED and manual.status_reason == "manual"


def test_has_payment_method(db, make_client, partner, stripe_app):
    client = make_client(Payer.PARTNER)
    assert services.has_payment_method(client) is False
    services.set_payment_method(partner, "boleto")
    assert services.has_payment_method(client) is True
    services.set_payment_method(partner, "card")
    assert services.has_payment_method(client) is False  # card chosen, none saved yet
    with pytest.raises(ValidationError):
        services.set_payment_method(partner, "pix")
