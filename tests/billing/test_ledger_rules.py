"""billing/ledger.py on exact examples: what a row keeps, its audit event, the balance of one and of several
partners, the movement since the last settlement, pages, and paying from the balance at its limit.
(tests/orders/test_properties.py checks the sums over random sequences.) Pinned for `make mutation`."""

import pytest
from sqlalchemy import func, select

from billing import ledger
from billing.errors import InsufficientBalance
from billing.models import CreditKind, PartnerCreditEntry
from core.audit import AuditEvent
from core.permissions import Role
from tests.factories import PartnerFactory, UserFactory


@pytest.fixture
def two(db):
    return PartnerFactory(), PartnerFactory()


def _audit_after(db, mark):
    db.session.flush()
    return [(e.action, e.object_type, e.object_id, e.actor_id, e.actor_label, e.partner_id, e.after)
            for e in db.session.scalars(select(AuditEvent).where(AuditEvent.id > mark).order_by(AuditEvent.id))]


def test_a_row_keeps_what_moved_and_is_audited(db, two):
    partner, _ = two
    staff = UserFactory(role=Role.FINANCE)
    mark = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    entry = ledger.post(partner.id, 1_500, CreditKind.ADJUSTMENT, "r" * 70, description="d" * 310, actor=staff)
    assert entry.id is not None  # flushed
    assert (entry.partner_id, entry.amount_cents, entry.kind, entry.created_by_id) == (
        partner.id, 1_500, CreditKind.ADJUSTMENT, staff.id)
    assert entry.reference == "r" * 60 and entry.description == "d" * 300
    assert _audit_after(db, mark) == [("ledger.entry", "partnercreditentry", entry.id, staff.id, staff.email,
                                       partner.id, {"kind": "adjustment", "amount_cents": 1_500,
                                                    "reference": "r" * 60})]
    system = ledger.post(partner.id, -200, "order", "order:1")
    assert system.created_by_id is None and system.kind == CreditKind.ORDER and system.description == ""


def test_a_row_must_move_money_except_a_settlement(db, two):
    partner, _ = two
    with pytest.raises(ValueError, match="^a ledger row moves money: amount_cents must not be 0$"):
        ledger.post(partner.id, 0, CreditKind.ORDER, "x")
    with pytest.raises(TypeError, match="^amount_cents must be an int"):
        ledger.post(partner.id, 1.5, CreditKind.ADJUSTMENT, "x")
    for kind in (CreditKind.INVOICE_APPLIED, CreditKind.INVOICE_CHARGED):
        assert ledger.post(partner.id, 0, kind, f"invoice:{kind}").amount_cents == 0
    assert db.session.scalar(select(func.count()).select_from(PartnerCreditEntry)
                             .where(PartnerCreditEntry.partner_id == partner.id)) == 2


def test_balances_one_and_several(db, two):
    a, b = two
    assert ledger.balance(a.id) == 0 and ledger.balances([]) == {}
    ledger.post(a.id, 1_000, CreditKind.ADJUSTMENT, "a1")
    ledger.post(a.id, -300, CreditKind.ORDER, "a2")
    ledger.post(b.id, -50, CreditKind.ORDER, "b1")
    assert (ledger.balance(a.id), ledger.balance(b.id)) == (700, -50)
    assert ledger.balances(iter([a.id, b.id])) == {a.id: 700, b.id: -50}
    assert ledger.balances([a.id]) == {a.id: 700}


def test_entries_and_pages_newest_first(db, two):
    a, b = two
    rows = [ledger.post(a.id, n, CreditKind.ADJUSTMENT, f"a{n}") for n in (1, 2, 3, 4, 5)]
    ledger.post(b.id, 9, CreditKind.ADJUSTMENT, "b")
    newest_first = [r.id for r in reversed(rows)]
    assert [e.id for e in ledger.entries(a.id)] == newest_first
    assert [e.id for e in ledger.entries(a.id, limit=2)] == newest_first[:2]
    assert [e.id for e in ledger.entries(a.id, limit=0)] == newest_first  # no limit
    total, page = ledger.page_of(a.id, 1, 2)
    assert total == 5 and [e.id for e in page] == newest_first[:2]
    assert [e.id for e in ledger.page_of(a.id, 2, 2)[1]] == newest_first[2:4]
    assert [e.id for e in ledger.page_of(a.id, 3, 2)[1]] == newest_first[4:]
    assert ledger.page_of(a.id, 4, 2) == (5, [])
    assert ledger.page_of(PartnerFactory().id, 1, 10) == (0, [])


def test_unbilled_counts_from_the_last_settlement(db, two):
    a, b = two
    assert ledger.unbilled([]) == {}
    fresh = ledger.unbilled([a.id])[a.id]
    assert (fresh.carried, fresh.debits, fresh.credits, fresh.touched) == (0, 0, 0, False)

    ledger.post(a.id, 5_000, CreditKind.ORDER_CANCELLED, "c1")
    ledger.post(a.id, -1_200, CreditKind.ORDER, "o1")
    before = ledger.unbilled([a.id, b.id])
    assert (before[a.id].carried, before[a.id].debits, before[a.id].credits) == (0, 1_200, 5_000)
    assert before[a.id].touched and not before[b.id].touched

    ledger.post(a.id, -3_000, CreditKind.INVOICE_APPLIED, "invoice:1")  # the invoice took 30,00; 8,00 stay
    ledger.post(a.id, -700, CreditKind.ORDER, "o2")
    ledger.post(a.id, 100, CreditKind.CARD_PAYMENT, "o2")
    ledger.post(b.id, -400, CreditKind.ORDER, "b1")
    after = ledger.unbilled([a.id, b.id])
    assert (after[a.id].carried, after[a.id].debits, after[a.id].credits) == (800, 700, 100)
    assert (after[b.id].carried, after[b.id].debits, after[b.id].credits) == (0, 400, 0)

    ledger.post(a.id, 0, CreditKind.INVOICE_CHARGED, "invoice:2")  # a later settlement: only what follows counts
    settled = ledger.unbilled([a.id])[a.id]
    assert (settled.carried, settled.debits, settled.credits) == (200, 0, 0)
    assert settled.touched
    assert ledger.Movement(0, 0, 5).touched and ledger.Movement(0, 5, 0).touched


def test_paying_from_the_balance_up_to_its_last_centavo(db, two):
    a, _ = two
    ledger.post(a.id, 1_000, CreditKind.ADJUSTMENT, "in")
    staff = UserFactory(role=Role.FINANCE)
    with pytest.raises(InsufficientBalance) as refused:
        ledger.pay_from_balance(a.id, 1_001, "order:1")
    assert (refused.value.balance_cents, refused.value.needed_cents) == (1_000, 1_001)
    assert ledger.balance(a.id) == 1_000  # nothing written
    entry = ledger.pay_from_balance(a.id, 1_000, "order:2", description="Pedido #2", actor=staff)
    assert (entry.amount_cents, entry.kind, entry.reference, entry.description, entry.created_by_id) == (
        -1_000, CreditKind.ORDER, "order:2", "Pedido #2", staff.id)
    assert ledger.balance(a.id) == 0


def test_a_balance_back_to_zero_is_zero(db, two):
    a, b = two
    ledger.post(a.id, 700, CreditKind.ADJUSTMENT, "in")
    ledger.post(a.id, -700, CreditKind.ORDER, "out")
    assert ledger.balances([a.id, b.id]) == {a.id: 0}  # b has no rows at all


def test_paying_without_a_description_leaves_it_empty(db, two):
    a, _ = two
    ledger.post(a.id, 100, CreditKind.ADJUSTMENT, "in")
    assert ledger.pay_from_balance(a.id, 100, "order:9").description == ""


def test_unbilled_of_two_partners_each_since_its_own_settlement(db, two):
    a, b = two
    ledger.post(a.id, 1_000, CreditKind.ADJUSTMENT, "a-in")
    ledger.post(a.id, -600, CreditKind.INVOICE_APPLIED, "invoice:a1")  # a carries 4,00
    ledger.post(b.id, 300, CreditKind.ADJUSTMENT, "b-in")
    ledger.post(b.id, -100, CreditKind.INVOICE_APPLIED, "invoice:b1")  # b carries 2,00
    ledger.post(a.id, 1, CreditKind.CARD_PAYMENT, "a-cent")  # one centavo of credit, no debit
    ledger.post(b.id, -250, CreditKind.ORDER, "b-out2")
    moved = ledger.unbilled([a.id, b.id])
    assert (moved[a.id].carried, moved[a.id].debits, moved[a.id].credits) == (400, 0, 1)
    assert (moved[b.id].carried, moved[b.id].debits, moved[b.id].credits) == (200, 250, 0)
