"""The partner credit ledger: every credit and debit of a partner's balance is a row, never edited.

The balance is derived (``SUM(amount_cents)``). Orders (a higher domain) post through these
functions; the monthly billing run applies the balance to the partner's next invoice: a positive
balance becomes a credit line (capped at the invoice's charges), a negative one (orders charged "on
the next invoice") a charge line; either way a ledger row settles what the invoice took."""

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select

from billing.errors import InsufficientBalance
from billing.models import CreditKind, PartnerCreditEntry
from core import audit
from core.db import db
from core.money import check_cents

__all__ = [
    "CreditKind", "Movement", "balance", "balances", "unbilled", "entries", "page_of", "pay_from_balance", "post",
]


SETTLEMENTS = (CreditKind.INVOICE_APPLIED, CreditKind.INVOICE_CHARGED)


def post(partner_id: int, amount_cents: int, kind: CreditKind | str, reference: str, *,
         description: str = "", actor=None) -> PartnerCreditEntry:
    """Add one ledger row (flushed, not committed) and its audit event."""
    check_cents(amount_cents, "amount_cents")
    if amount_cents == 0 and CreditKind(kind) not in SETTLEMENTS:
        raise ValueError("a ledger row moves money: amount_cents must not be 0")
    entry = PartnerCreditEntry(partner_id=partner_id, amount_cents=amount_cents, kind=CreditKind(kind),
                               reference=reference[:60], description=description[:300],
                               created_by_id=getattr(actor, "id", None))
    db.session.add(entry)
    db.session.flush()
    audit.record("ledger.entry", entry, actor=actor, partner_id=partner_id,
                 after={"kind": entry.kind, "amount_cents": amount_cents, "reference": entry.reference})
    return entry


def balance(partner_id: int) -> int:
    """The partner's balance in centavos (credits minus debits)."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(PartnerCreditEntry.amount_cents), 0))
        .where(PartnerCreditEntry.partner_id == partner_id)
    ) or 0)


def balances(partner_ids) -> dict[int, int]:
    """Balances of several partners in one query (the billing run)."""
    ids = list(partner_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(PartnerCreditEntry.partner_id, func.sum(PartnerCreditEntry.amount_cents))
        .where(PartnerCreditEntry.partner_id.in_(ids)).group_by(PartnerCreditEntry.partner_id)
    ).all()
    return {partner_id: int(total or 0) for partner_id, total in rows}


def entries(partner_id: int, limit: int | None = None) -> list[PartnerCreditEntry]:
    query = (select(PartnerCreditEntry).where(PartnerCreditEntry.partner_id == partner_id)
             .order_by(PartnerCreditEntry.id.desc()))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Movement:
    """A partner's ledger since its last settlement (the last invoice that took it)."""

    carried: int  # the balance the last settlement left (a credit kept for later)
    debits: int  # orders charged since, as a positive amount
    credits: int  # credits since (cancelled orders, card payments, adjustments)

    @property
    def touched(self) -> bool:
        return bool(self.carried or self.debits or self.credits)


def unbilled(partner_ids) -> dict[int, Movement]:
    """Each partner's movement since its last settlement row (two grouped queries)."""
    ids = list(partner_ids)
    if not ids:
        return {}
    e = PartnerCreditEntry
    last = (select(e.partner_id, func.max(e.id).label("last_id"))
            .where(e.partner_id.in_(ids), e.kind.in_(SETTLEMENTS)).group_by(e.partner_id).subquery())
    carried = dict(db.session.execute(
        select(e.partner_id, func.sum(e.amount_cents))
        .join(last, and_(last.c.partner_id == e.partner_id, e.id <= last.c.last_id)).group_by(e.partner_id)).all())
    since = db.session.execute(
        select(e.partner_id,
               func.sum(case((e.amount_cents < 0, -e.amount_cents), else_=0)),
               func.sum(case((e.amount_cents > 0, e.amount_cents), else_=0)))
        .outerjoin(last, last.c.partner_id == e.partner_id)
        .where(e.partner_id.in_(ids), e.kind.not_in(SETTLEMENTS), e.id > func.coalesce(last.c.last_id, 0))
        .group_by(e.partner_id)).all()
    moved = {pid: (int(debits or 0), int(credits or 0)) for pid, debits, credits in since}
    return {pid: Movement(int(carried.get(pid) or 0), *moved.get(pid, (0, 0))) for pid in ids}


def page_of(partner_id: int, page: int, per_page: int) -> tuple[int, list[PartnerCreditEntry]]:
    """(row count, one page of rows, newest first)."""
    total = db.session.scalar(select(func.count(PartnerCreditEntry.id)).where(PartnerCreditEntry.partner_id == partner_id))
    rows = db.session.scalars(
        select(PartnerCreditEntry).where(PartnerCreditEntry.partner_id == partner_id)
        .order_by(PartnerCreditEntry.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return int(total or 0), list(rows)


def pay_from_balance(partner_id: int, amount_cents: int, reference: str, *, description: str = "",
                     actor=None) -> PartnerCreditEntry:
    """Debit ``amount_cents`` if the balance covers it, else InsufficientBalance (nothing written)."""
    available = balance(partner_id)
    if available < amount_cents:
        raise InsufficientBalance(available, amount_cents)
    return post(partner_id, -amount_cents, CreditKind.ORDER, reference, description=description, actor=actor)
