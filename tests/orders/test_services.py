"""Orders: placing (summary, snapshot), payment, the transition table, acceptance by the contracts
mechanism, cancellation with credit back, storage mid-term, renewals, reminders."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from billing import ledger
from billing.errors import LedgerImmutable
from billing.models import CreditKind, PartnerCreditEntry
from contracts.models import AcceptanceChannel
from contracts.services import accept_terms, acceptance_for, current_terms
from core.mail import OutboxEmail
from core.validators import ValidationError
from orders import pricing, schedule, services
from orders.models import OrderNotice, OrderStatus, StoragePurchase
from tests.orders.helpers import order_data

S = OrderStatus


def test_summary_prices_every_line_and_snapshot_keeps_them(db, partner, client_row, service, manager):
    order = services.place_order(partner, order_data(client_row, service), actor=manager)
    # term 600,00 + kit 5 GB 10,00 x 12 + 2 users x 5,00 x 12
    assert order.amount_cents == 60000 + 12000 + 12000
    codes = [line["code"] for line in order.snapshot["lines"]]
    assert codes == ["term", "kit", "addon:user"]
    assert order.snapshot["total_cents"] == order.amount_cents
    service.terms[0].price_cents = 99999  # a later catalogue change never touches the order
    db.session.flush()
    db.session.refresh(order)
    assert order.snapshot["lines"][0]["amount_cents"] == 60000


def test_bad_input_names_each_field_and_saves_nothing(db, partner, client_row, other_client, service):
    with pytest.raises(ValidationError) as exc:
        services.place_order(partner, order_data(other_client, service, term_months=7, starter_kit_gb=3,
                                                 addons={"nope": 1, "user": -1}, payment="pix"))
    assert {"term_months", "starter_kit_gb", "addons.nope", "addons.user", "payment"} <= set(exc.value.fields)
    with pytest.raises(ValidationError) as exc:
        services.place_order(partner, order_data(other_client, service))
    assert set(exc.value.fields) == {"client_id"}  # another partner's client is not a holder
    assert db.session.scalar(select(services.Order.id)) is None


def test_new_holder_is_registered_with_novo_cadastro_rules(db, partner, service):
    with pytest.raises(ValidationError) as exc:
        services.place_order(partner, {**order_data(type("C", (), {"id": None})(), service),
                                       "client": {"legal_name": "X", "cnpj": "123"}})
    assert "client.cnpj" in exc.value.fields


def test_not_enough_balance_leaves_the_order_awaiting_payment(db, partner, client_row, service):
    order = services.place_order(partner, order_data(client_row, service, payment="balance"))
    assert order.status == S.AWAITING_PAYMENT
    assert ledger.balance(partner.id) == 0
    ledger.post(partner.id, 100000, CreditKind.ADJUSTMENT, "test")
    services.pay_order(order, "balance")
    assert order.status == S.AWAITING_DOCUMENTATION
    assert ledger.balance(partner.id) == 100000 - order.amount_cents


def test_flow_acceptance_activates_and_cancel_is_refused_after(db, partner, client_row, service, manager):
    order = services.place_order(partner, order_data(client_row, service), actor=manager)
    assert order.status == S.AWAITING_DOCUMENTATION
    assert ledger.balance(partner.id) == -order.amount_cents  # charged on the next invoice
    mail = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "contract_acceptance")).all()
    assert [m.to for m in mail] == [client_row.email]
    assert service.name in mail[-1].subject
    terms = service.terms_version
    assert terms.document == f"service:{service.id}" and current_terms().document == "contract"
    services.resend_acceptance(order, actor=manager)
    accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip="127.0.0.1", user_agent="t", terms=terms)
    db.session.refresh(order)
    assert order.status == S.ACTIVE
    assert order.term_start == services.local_today() and order.renews_at == pricing.add_months(services.local_today(), 12)
    assert acceptance_for(client_row) is None  # the contract itself is still awaiting acceptance
    with pytest.raises(services.OrderError):
        services.cancel_order(order)
    with pytest.raises(services.OrderError):
        services.resend_acceptance(order)


def test_second_order_of_accepted_terms_activates_at_once(db, partner, client_row, service):
    first = services.place_order(partner, order_data(client_row, service))
    accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None,
                 terms=service.terms_version)
    second = services.place_order(partner, order_data(client_row, service))
    assert first.status == second.status == S.ACTIVE


def test_cancel_credits_the_amount_back_once(db, partner, client_row, service):
    order = services.place_order(partner, order_data(client_row, service))
    services.cancel_order(order)
    assert order.status == S.CANCELLED
    assert ledger.balance(partner.id) == 0
    with pytest.raises(services.OrderError):
        services.cancel_order(order)
    credits = db.session.scalars(select(PartnerCreditEntry).where(
        PartnerCreditEntry.kind == CreditKind.ORDER_CANCELLED)).all()
    assert [c.amount_cents for c in credits] == [order.amount_cents]


def test_transition_table_is_the_only_way(db, partner, client_row, service):
    order = services.place_order(partner, order_data(client_row, service))
    for target in (S.ACTIVE, S.AWAITING_DOCUMENTATION):
        services.check_transition(order.status, target) if target == S.ACTIVE else None
    with pytest.raises(services.ForbiddenTransition):
        services.transition(order, S.EXPIRED)
    with pytest.raises(services.ForbiddenTransition):
        services.transition(order, S.AWAITING_PAYMENT)
    assert order.status == S.AWAITING_DOCUMENTATION


def test_ledger_rows_are_never_edited(db, partner):
    entry = ledger.post(partner.id, 500, CreditKind.ADJUSTMENT, "x")
    entry.amount_cents = 900
    with pytest.raises(LedgerImmutable):
        db.session.flush()
    db.session.rollback()


def _active(partner, client_row, service, **kw):
    order = services.place_order(partner, order_data(client_row, service, **kw))
    accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None,
                 terms=service.terms_version)
    return order


def test_storage_mid_term_is_prorated_to_the_centavo(db, partner, client_row, service):
    order = _active(partner, client_row, service)
    day = services.local_today() + timedelta(days=100)
    price, days = services.storage_quote(order, 5, day)
    full = 100 * 5 * 12
    span = (order.renews_at - order.term_start).days
    assert days == span - 100
    assert price == full - (2 * full * 100 + span) // (2 * span)
    purchase = services.add_storage(order, "5", "invoice", today=day)
    assert purchase.amount_cents == price and order.quota_gb == 10
    assert [p.gb for p in db.session.scalars(select(StoragePurchase).where(StoragePurchase.order_id == order.id))] \
        == [5, 5]
    with pytest.raises(ValidationError):
        services.add_storage(order, "0")


def test_renewal_reminders_expiry_and_manual_renewal(db, partner, client_row, service):
    order = _active(partner, client_row, service)
    renews = order.renews_at
    counts = schedule.run_daily(renews - timedelta(days=45))
    assert order.status == S.EXPIRING and counts["reminders"] == 1
    assert schedule.run_daily(renews - timedelta(days=44))["reminders"] == 0  # once per threshold
    assert schedule.run_daily(renews - timedelta(days=7))["reminders"] == 1
    kinds = set(db.session.scalars(select(OrderNotice.kind).where(OrderNotice.order_id == order.id)))
    assert {"renew_60", "renew_30", "renew_7"} <= kinds
    schedule.run_daily(renews)
    assert order.status == S.EXPIRED
    assert services.renewable(order, renews + timedelta(days=59))
    assert not services.renewable(order, renews + timedelta(days=60))
    renewal = services.renew(order, "invoice", today=renews + timedelta(days=10))
    assert order.status == S.ACTIVE and renewal.period_start == renews + timedelta(days=10)


def test_automatic_renewal_from_the_balance(db, partner, client_row, service):
    order = _active(partner, client_row, service, renewal="balance")
    ledger.post(partner.id, 10_000_000, CreditKind.ADJUSTMENT, "x")
    before = ledger.balance(partner.id)
    schedule.run_daily(order.renews_at)
    assert order.status == S.ACTIVE
    assert ledger.balance(partner.id) == before - services.renewal_price(order)
    assert len(order.renewals) == 1 and order.renewals[0].automatic
