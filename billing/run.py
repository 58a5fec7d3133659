"""The monthly billing run: one consolidated invoice per partner and one per self-paying client.

Billing is in arrears: the run for month ``M`` (by default the month before today, on day 1) reads
each client's contract history for ``M`` and bills the days it was billable (``active`` or
``blocked``; trials and cancelled days are free). A plan change effective in the middle of the month
adds one line with the difference for the remaining days (a charge for an upgrade, a credit for a
downgrade); activation, cancellation and payer changes cut the period where they happen.

The run is a job, not a request: it commits once per batch so it can be resumed. Every batch first
takes the lock of the year's ``invoice_sequences`` row (a row lock on PostgreSQL, the database write
lock on SQLite), then skips payers that already have an invoice for the month, inserts the rest with
their numbers and lines, moves the counter and commits. A crash rolls back the batch in progress
(numbers included), so a rerun neither duplicates an invoice (``UNIQUE (payer_key, month)``) nor
leaves a gap in the numbers; two concurrent runs take turns batch by batch.
"""

from __future__ import annotations

import calendar
import enum
import json
import logging
import time as time_module
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError

from billing.models import Invoice, InvoiceLine, InvoiceSequence, LineKind
from billing.pricing import line_for
from contracts.models import ContractEvent
from core.audit import AuditEvent
from core.db import db, utcnow
from core.validators import ValidationError
from partner.models import Client, ContractStatus, Plan, Software

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000


# -- months and dates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2025-06"`` → Month; a ValidationError (field ``month``) for anything else."""
        try:
            year_text, month_text = (text or "").strip().split("-")
            if len(year_text) != 4 or len(month_text) != 2:
                raise ValueError
            value = cls(int(year_text), int(month_text))
            date(value.year, value.month, 1)
        except ValueError:
            raise ValidationError({"month": _("Mês inválido: use AAAA-MM, por exemplo 2025-06.")}) from None
        return value

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        return Month.of(self.last_day + timedelta(days=1))

    def previous(self) -> Month:
        return Month.of(self.first_day - timedelta(days=1))


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "America/Sao_Paulo"))


def local_today() -> date:
    """Today in the business time zone (Brasília), where due dates and months live."""
    return datetime.now(local_zone()).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which ``day`` starts in the business time zone."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(ZoneInfo("UTC"))


@lru_cache(maxsize=64)
def _month_instants(month: Month, zone: str) -> tuple[datetime, datetime, datetime]:
    """UTC instants where day 1, day 2 and the day after the month begin, in ``zone``."""
    tz = ZoneInfo(zone)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=tz).astimezone(ZoneInfo("UTC"))

    return start_of(month.first_day), start_of(month.first_day + timedelta(days=1)), \
        start_of(month.last_day + timedelta(days=1))


def month_instants(month: Month) -> tuple[datetime, datetime, datetime]:
    return _month_instants(month, current_app.config.get("BABEL_DEFAULT_TIMEZONE", "America/Sao_Paulo"))


def due_date_for(month: Month, issued_on: date) -> date:
    """Day ``BILLING_DUE_DAY`` of the month after the billed one (clamped to the month's length),
    but never fewer than ``BILLING_MIN_DAYS_TO_PAY`` days after the invoice is issued."""
    cfg = current_app.config
    due_day = int(cfg.get("BILLING_DUE_DAY", 10))
    following = month.next()
    nominal = date(following.year, following.month, min(max(due_day, 1), following.last_day.day))
    return max(nominal, issued_on + timedelta(days=int(cfg.get("BILLING_MIN_DAYS_TO_PAY", 3))))


# -- billable segments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """Days ``[start, end]`` (inclusive) of a month billed at ``plan_id`` to ``payer``."""

    start: date
    end: date
    plan_id: int
    payer: str


@dataclass(frozen=True)
class StateChange:
    """One change of a contract: at ``at`` the fields in ``after`` replaced those in ``before``.

    Keys are ``status`` (with ``status_reason`` in ``after``), ``plan_id``, ``payer``; ``exists``
    marks the creation of the client."""

    at: datetime
    before: dict
    after: dict


@dataclass(frozen=True)
class ContractState:
    exists: bool
    status: str | None
    status_reason: str | None
    plan_id: int | None
    payer: str | None

    def billable(self) -> bool:
        """Active contracts are billed, and contracts blocked for non-payment (the service is owed;
        the block is the sanction). Trials, cancelled contracts and other blocks (manual, fraud,
        end of trial without a payment method) are not."""
        if not self.exists or self.plan_id is None:
            return False
        if self.status == ContractStatus.ACTIVE.value:
            return True
        return self.status == ContractStatus.BLOCKED.value and self.status_reason == NON_PAYMENT

    def with_values(self, values: dict) -> ContractState:
        return replace(self, **{k: v for k, v in values.items() if k in _STATE_FIELDS})


_STATE_FIELDS = ("exists", "status", "status_reason", "plan_id", "payer")
NON_PAYMENT = "non_payment"


def _plan_value(text):
    try:
        return int(text) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _change_from_event(event) -> StateChange | None:
    """Normalise a contracts ``ContractEvent`` (status / plan / payer / created)."""
    kind = str(getattr(event.kind, "value", event.kind))
    if kind == "status":
        return StateChange(event.effective_at, {"status": event.from_value},
                           {"status": event.to_value, "status_reason": event.reason})
    if kind == "plan":
        return StateChange(
            event.effective_at, {"plan_id": _plan_value(event.from_value)}, {"plan_id": _plan_value(event.to_value)}
        )
    if kind == "payer":
        return StateChange(event.effective_at, {"payer": event.from_value}, {"payer": event.to_value})
    if kind == "created":
        return StateChange(event.effective_at, {"exists": False}, {"exists": True})
    return None


def load_changes(client_ids: list[int], since: datetime) -> dict[int, list[StateChange]]:
    """Contract changes effective at or after ``since`` for the clients, oldest first (one query)."""
    changes: dict[int, list[StateChange]] = defaultdict(list)
    if not client_ids:
        return changes
    rows = db.session.execute(
        select(ContractEvent.client_id, ContractEvent.kind, ContractEvent.from_value, ContractEvent.to_value,
               ContractEvent.reason, ContractEvent.effective_at)
        .where(
            ContractEvent.client_id.in_(client_ids),
            ContractEvent.effective_at >= since,
            ContractEvent.kind.in_(("status", "plan", "payer", "created")),
        )
        .order_by(ContractEvent.client_id, ContractEvent.effective_at, ContractEvent.id)
    )
    for row in rows:
        change = _change_from_event(row)
        if change is not None:
            changes[row.client_id].append(change)
    return changes


def load_reasons_before(client_ids: list[int], since: datetime) -> dict[int, str | None]:
    """The status reason in force at ``since`` (from the last status event before it)."""
    if not client_ids:
        return {}
    rows = db.session.execute(
        select(ContractEvent.client_id, ContractEvent.reason)
        .where(ContractEvent.client_id.in_(client_ids), ContractEvent.effective_at < since,
               ContractEvent.kind == "status")
        .order_by(ContractEvent.client_id, ContractEvent.effective_at.desc(), ContractEvent.id.desc())
    )
    reasons: dict[int, str | None] = {}
    for client_id, reason in rows:
        reasons.setdefault(client_id, reason)
    return reasons


def _value(enum_or_text):
    return None if enum_or_text is None else str(getattr(enum_or_text, "value", enum_or_text))


def state_at_month_start(client, changes, reason_before: str | None = None) -> ContractState:
    """The contract at the first instant of the month: the current row, with every field taken back
    to the ``before`` value of its first change since then (``changes`` oldest first)."""
    state = ContractState(True, _value(client.status), getattr(client, "status_reason", None), client.plan_id,
                          _value(client.payer))
    if not changes:
        return state
    undone: dict = {}
    for change in changes:
        for key, value in change.before.items():
            undone.setdefault(key, value)
    if "status" in undone:
        undone["status_reason"] = reason_before
    return state.with_values(undone)


def billable_segments(client, month: Month, changes: list[StateChange] | None = None,
                      reason_before: str | None = None) -> list[Segment]:
    """The days of ``month`` the client is billed, as segments of constant plan and payer.

    ``client`` needs ``id``, ``status``, ``status_reason``, ``plan_id``, ``payer`` and
    ``created_at`` (an ORM row or a plain row). ``changes`` are the contract changes effective
    since the month began, oldest first (loaded when omitted); ``reason_before`` the status reason
    in force before them. Without history the current state holds from the client's creation.
    Each change applies from its (local) day on; the last change of a day wins."""
    start_at, second_day_at, after_month_at = month_instants(month)
    if changes is None:
        changes = load_changes([client.id], start_at).get(client.id, [])
        reason_before = load_reasons_before([client.id], start_at).get(client.id)
    if client.created_at is not None and client.created_at >= after_month_at:
        return []
    if not changes and (client.created_at is None or client.created_at < second_day_at):
        # The common case, kept cheap for the monthly run: the same state all month long.
        state = state_at_month_start(client, ())
        return [Segment(month.first_day, month.last_day, state.plan_id, state.payer)] if state.billable() else []
    created_on = local_date(client.created_at) if client.created_at else month.first_day
    state = initial = state_at_month_start(client, changes, reason_before)
    from_day: dict[date, ContractState] = {}
    if created_on > month.first_day and not any("exists" in c.after for c in changes):
        # No creation event: the row's creation date is when the contract began.
        from_day[created_on] = state
        initial = state.with_values({"exists": False})
    for change in changes:
        day = local_date(change.at)
        if day > month.last_day:
            break
        state = state.with_values(change.after)
        if day <= month.first_day:
            initial = state
        else:
            from_day[day] = state
    return _segments_from_states(month, initial, from_day)


def _segments_from_states(month: Month, initial: ContractState, from_day: dict[date, ContractState]) -> list[Segment]:
    points = [(month.first_day, initial)] + sorted(from_day.items(), key=lambda item: item[0])
    segments: list[Segment] = []
    for index, (start, state) in enumerate(points):
        end = points[index + 1][0] - timedelta(days=1) if index + 1 < len(points) else month.last_day
        if end < start or not state.billable():
            continue
        last = segments[-1] if segments else None
        if (last and last.end + timedelta(days=1) == start and last.plan_id == state.plan_id
                and last.payer == state.payer):
            segments[-1] = Segment(last.start, end, last.plan_id, last.payer)
        else:
            segments.append(Segment(start, end, state.plan_id, state.payer))
    return segments


# -- lines ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInfo:
    id: int
    label: str
    price_cents: int


@lru_cache(maxsize=4096)
def _period(start: date, end: date) -> str:
    return f"{start:%d/%m/%Y} a {end:%d/%m/%Y}"


@lru_cache(maxsize=4096)
def _priced(monthly_cents: int, payer: str, start: date, end: date) -> tuple[int, int]:
    """(list price, discount) of ``[start, end]``; cached: most clients share plan, payer, period."""
    line = line_for(plan_id=0, plan_name="", monthly_price_cents=monthly_cents, payer=payer,
                    period_start=start, period_end=end, description="")
    return line.list_price_cents, line.discount_cents


def lines_for_segments(client_id: int, client_label: str, segments: list[Segment],
                       plans: dict[int, PlanInfo]) -> dict[str, list[dict]]:
    """Invoice line rows by payer for one client's segments.

    A run of contiguous segments of one payer is billed as its first plan over the whole run,
    then one line per plan change with the difference over the rest of the run. Pieces add up
    exactly (cumulative daily rounding in ``billing.pricing``)."""
    by_payer: dict[str, list[dict]] = defaultdict(list)
    run: list[Segment] = []

    def flush():
        if not run:
            return
        payer, run_end = run[0].payer, run[-1].end
        first, start = plans[run[0].plan_id], run[0].start
        list_price, discount = _priced(first.price_cents, payer, start, run_end)
        by_payer[payer].append(_row(client_id, first.id, LineKind.CHARGE,
                                    f"{client_label} — {first.label} — {_period(start, run_end)}",
                                    list_price, discount, start, run_end))
        for previous, segment in zip(run, run[1:], strict=False):
            by_payer[payer].extend(_change_line(client_id, client_label, plans[previous.plan_id],
                                                plans[segment.plan_id], payer, segment.start, run_end))
        run.clear()

    for segment in segments:
        if run and (segment.payer != run[-1].payer or segment.start != run[-1].end + timedelta(days=1)):
            flush()
        run.append(segment)
    flush()
    return by_payer


def _change_line(client_id, client_label, old: PlanInfo, new: PlanInfo, payer, start, end) -> list[dict]:
    old_list, old_discount = _priced(old.price_cents, payer, start, end)
    new_list, new_discount = _priced(new.price_cents, payer, start, end)
    list_price, discount = new_list - old_list, new_discount - old_discount
    if list_price == 0 and discount == 0:
        return []
    kind = LineKind.CREDIT if list_price - discount < 0 else LineKind.CHARGE
    label = "Crédito" if kind == LineKind.CREDIT else "Diferença"
    description = f"{client_label} — {label}: mudança de {old.label} para {new.label} — {_period(start, end)}"
    return [_row(client_id, new.id, kind, description, list_price, discount, start, end)]


def _row(client_id, plan_id, kind, description, list_price, discount, start, end) -> dict:
    return {
        "client_id": client_id, "plan_id": plan_id, "kind": kind.value, "description": description[:300],
        "list_price_cents": list_price, "discount_cents": discount, "amount_cents": list_price - discount,
        "period_start": start, "period_end": end,
    }


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class RunResult:
    month: str
    clients: int = 0
    invoices_created: int = 0
    invoices_skipped: int = 0
    lines_created: int = 0
    batches: int = 0
    first_number: str | None = None
    last_number: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}


_CLIENT_COLUMNS = (Client.id, Client.partner_id, Client.status, Client.status_reason, Client.plan_id,
                   Client.payer, Client.created_at, Client.legal_name)


def _client_batches(batch_size: int) -> Iterator[list]:
    """Clients ordered by (partner, id) in keyset pages, regrouped so a partner never straddles
    two batches (its consolidated invoice is built from all its clients at once)."""
    after = (0, 0)
    pending: list = []
    while True:
        rows = db.session.execute(
            select(*_CLIENT_COLUMNS)
            .where(tuple_(Client.partner_id, Client.id) > tuple_(*after))
            .order_by(Client.partner_id, Client.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        after = (rows[-1].partner_id, rows[-1].id)
        pending.extend(rows)
        if len(rows) < batch_size:
            break
        last_partner = pending[-1].partner_id
        complete = [r for r in pending if r.partner_id != last_partner]
        if complete:
            yield complete
            pending = [r for r in pending if r.partner_id == last_partner]
    if pending:
        yield pending


def _load_plans() -> dict[int, PlanInfo]:
    rows = db.session.execute(
        select(Plan.id, Plan.name, Plan.price_cents, Software.name.label("software"))
        .join(Software, Software.id == Plan.software_id)
    )
    return {r.id: PlanInfo(r.id, f"{r.software} {r.name}", r.price_cents) for r in rows}


def lock_sequence(year: int) -> int:
    """Take the year's counter lock for this transaction and return its current value.

    PostgreSQL: ``SELECT … FOR UPDATE`` locks the row until commit. SQLite has no row locks: a
    no-op UPDATE as the batch's first write takes the database write lock instead. Either way
    concurrent runs serialise here, and the counter only moves in the transaction that uses it."""
    query = select(InvoiceSequence.last_number).where(InvoiceSequence.year == year)
    if db.session.connection().dialect.name == "postgresql":
        return db.session.scalar(query.with_for_update())
    db.session.execute(
        update(InvoiceSequence).where(InvoiceSequence.year == year).values(last_number=InvoiceSequence.last_number)
    )
    return db.session.scalar(query)


def ensure_sequence(year: int) -> None:
    """Create the year's counter row if missing (its own tiny transaction in the run)."""
    if db.session.get(InvoiceSequence, year) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(InvoiceSequence(year=year, last_number=0))
    except IntegrityError:
        pass  # another run created it first


def format_number(year: int, number: int) -> str:
    return f"{year:04d}-{number:06d}"


def _copy_value(value):
    """A Python value as COPY takes it: naive UTC datetimes (UTCDateTime), JSON text, enum values."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def bulk_insert(table, rows: list[dict]) -> None:
    """Insert many rows in few round trips: COPY on PostgreSQL (psycopg's multi-row VALUES costs
    more to build than to run), one executemany elsewhere. Every row has the same keys."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_copy_value(row[name]) for name in columns])


def _commit_batch() -> None:
    """Commit one batch (a seam the crash tests break on purpose)."""
    db.session.commit()


def run_monthly_billing(month: Month | str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE,
                        progress: Callable[[RunResult], None] | None = None, today: date | None = None,
                        max_retries: int = 5) -> RunResult:
    """Issue the invoices of ``month`` (default: the previous month); idempotent and resumable.

    Commits after every batch (this is a job, not a request). ``progress`` is called after each
    commit with the running totals."""
    today = today or local_today()
    month = Month.parse(month) if isinstance(month, str) else (month or Month.of(today).previous())
    result = RunResult(month=str(month))
    year = today.year
    ensure_sequence(year)
    db.session.commit()
    plans = _load_plans()
    since = local_midnight_utc(month.first_day)
    issued_at = utcnow()
    due = due_date_for(month, today)
    for batch in _client_batches(batch_size):
        for attempt in range(max_retries):
            try:
                created = _bill_batch(batch, month, year, plans, since, issued_at, due)
                _commit_batch()
                break
            except (IntegrityError, OperationalError):
                # A concurrent run won a race (or the database stayed busy): start the batch
                # again; the invoices the other run committed meanwhile are skipped on the retry.
                db.session.rollback()
                if attempt + 1 == max_retries:
                    raise
                log.warning("billing run %s: batch retried (attempt %s)", month, attempt + 2)
                time_module.sleep(0.05 * 2**attempt)
            except BaseException:
                db.session.rollback()
                raise
        result.clients += len(batch)
        result.invoices_created += created[0]
        result.invoices_skipped += created[1]
        result.lines_created += created[2]
        result.batches += 1
        if created[3]:
            result.first_number = result.first_number or created[3][0]
            result.last_number = created[3][1]
        if progress:
            progress(result)
    _record_run(result)
    db.session.commit()
    return result


def _record_run(result: RunResult) -> None:
    from core import audit

    audit.record("billing.run", None, after=result.as_dict())


@dataclass
class _Draft:
    payer: str
    partner_id: int
    client_id: int | None
    key: str
    lines: list[dict] = field(default_factory=list)


def _key(payer: str, partner_id: int, client_id: int) -> str:
    return f"client:{client_id}" if payer == "client" else f"partner:{partner_id}"


def _bill_batch(batch, month: Month, year: int, plans, since, issued_at, due) -> tuple:
    """Bill one batch of whole partners inside the counter's lock; returns (created, skipped,
    lines, (first number, last number) or None)."""
    last_number = lock_sequence(year)
    partner_ids = sorted({row.partner_id for row in batch})
    existing = set(db.session.scalars(
        select(Invoice.payer_key).where(Invoice.month == str(month), Invoice.partner_id.in_(partner_ids))
    ))
    fresh = [d for d in _drafts_for(batch, month, plans, since, existing) if d.key not in existing]
    fresh, applied = _apply_ledger(fresh, partner_ids, month, existing)
    if not fresh:
        return 0, len(existing), 0, None
    month_text = str(month)
    invoice_rows = []
    for offset, draft in enumerate(fresh, start=1):
        total = sum(line["amount_cents"] for line in draft.lines)
        status = "open" if total > 0 else "paid"  # nothing to collect: settled at issue
        invoice_rows.append({
            "number": format_number(year, last_number + offset), "payer": draft.payer, "payer_key": draft.key,
            "partner_id": draft.partner_id, "client_id": draft.client_id, "month": month_text, "due_date": due,
            "status": status, "total_cents": total, "issued_at": issued_at,
            "paid_at": issued_at if status == "paid" else None, "created_at": issued_at, "updated_at": issued_at,
        })
    # Bulk inserts (not ORM objects): a few statements per batch whatever its size.
    bulk_insert(Invoice.__table__, invoice_rows)
    ids = dict(db.session.execute(
        select(Invoice.payer_key, Invoice.id).where(Invoice.month == month_text, Invoice.partner_id.in_(partner_ids))
    ).all())
    line_rows = [dict(line, invoice_id=ids[draft.key]) for draft in fresh for line in draft.lines]
    bulk_insert(InvoiceLine.__table__, line_rows)
    _settle_ledger(applied, ids)
    bulk_insert(AuditEvent.__table__, [
        {"at": issued_at, "actor_label": "sistema", "action": "invoice.issued", "object_type": "invoice",
         "object_id": ids[row["payer_key"]], "partner_id": row["partner_id"], "client_id": row["client_id"],
         "after": {"number": row["number"], "month": month_text, "total_cents": row["total_cents"],
                   "status": row["status"]}}
        for row in invoice_rows
    ])
    _send_issued_notices([ids[row["payer_key"]] for row in invoice_rows if row["status"] == "open"])
    new_last = last_number + len(fresh)
    db.session.execute(
        update(InvoiceSequence).where(InvoiceSequence.year == year).values(last_number=new_last)
    )
    return len(fresh), len(existing), len(line_rows), (format_number(year, last_number + 1),
                                                        format_number(year, new_last))


def _apply_ledger(fresh: list[_Draft], partner_ids: list[int], month: Month,
                  existing: set[str]) -> tuple[list[_Draft], dict[int, int]]:
    """Put each partner's credit ledger on its invoice of ``month``, since the last invoice that took
    it (its settlement row): the credit carried over, the orders charged (one charge line) and the
    credits (cancelled orders: one credit line). An invoice never goes below zero: what the credits
    exceed stays in the balance for the next one (a line says so). Returns the drafts and
    ``{partner_id: amount the invoice took}`` for :func:`_settle_ledger`."""
    from billing.ledger import unbilled

    pending = {pid: movement for pid, movement in unbilled(partner_ids).items() if movement.touched}
    if not pending:
        return fresh, {}
    by_key = {d.key: d for d in fresh}
    applied: dict[int, int] = {}
    start, end = month.first_day, month.last_day
    period = _period(start, end)
    for partner_id, movement in sorted(pending.items()):
        key = _key("partner", partner_id, 0)
        if key in existing:
            continue  # this month's invoice exists: the ledger waits for the next one
        draft = by_key.get(key)
        if draft is None:
            draft = by_key[key] = _Draft("partner", partner_id, None, key)
            fresh.append(draft)
        lines = []
        if movement.carried > 0:
            lines.append(_row(None, None, LineKind.CREDIT, f"Saldo de crédito anterior — {period}",
                              -movement.carried, 0, start, end))
        if movement.debits:
            lines.append(_row(None, None, LineKind.CHARGE, f"Pedidos de serviços — {period}",
                              movement.debits, 0, start, end))
        if movement.credits:
            lines.append(_row(None, None, LineKind.CREDIT, f"Créditos (pedidos cancelados, ajustes) — {period}",
                              -movement.credits, 0, start, end))
        total = sum(line["amount_cents"] for line in draft.lines + lines)
        if total < 0:  # more credit than charges: the rest stays in the balance
            lines.append(_row(None, None, LineKind.CHARGE, f"Crédito restante mantido no saldo — {period}",
                              -total, 0, start, end))
        draft.lines.extend(lines)
        applied[partner_id] = sum(line["amount_cents"] for line in lines)
    return [d for d in fresh if d.lines], applied


def _settle_ledger(applied: dict[int, int], invoice_ids: dict[str, int]) -> None:
    """The settlement row of each invoice that took ledger movements: it moves the balance by what the
    invoice took (possibly 0) and marks where the next invoice starts."""
    from billing.ledger import CreditKind, post

    for partner_id, line_cents in applied.items():
        invoice_id = invoice_ids[_key("partner", partner_id, 0)]
        kind = CreditKind.INVOICE_APPLIED if line_cents < 0 else CreditKind.INVOICE_CHARGED
        post(partner_id, line_cents, kind, f"invoice:{invoice_id}", description=f"Fatura {month_label(invoice_id)}")


def month_label(invoice_id: int) -> str:
    return str(db.session.scalar(select(Invoice.number).where(Invoice.id == invoice_id)) or invoice_id)


def _send_issued_notices(invoice_ids: list[int]) -> None:
    """The invoice e-mails go out with the batch that issues them (same commit), not at the next
    daily dunning pass."""
    from billing.signals import invoices_issued

    invoices_issued.send(None, invoice_ids=invoice_ids)


def _drafts_for(batch, month: Month, plans, since, existing: set[str]) -> list[_Draft]:
    ids = [row.id for row in batch]
    changes = load_changes(ids, since)
    reasons = load_reasons_before([i for i in ids if any("status" in c.before for c in changes.get(i, ()))], since)
    drafts: dict[str, _Draft] = {}
    for row in batch:
        history = changes.get(row.id, [])
        payer = _value(row.payer)
        if not history and _key(payer, row.partner_id, row.id) in existing:
            continue  # a rerun: this client's only invoice is already issued
        segments = billable_segments(row, month, history, reasons.get(row.id))
        if not segments:
            continue
        for payer, lines in lines_for_segments(row.id, row.legal_name, segments, plans).items():
            key = _key(payer, row.partner_id, row.id)
            draft = drafts.get(key)
            if draft is None:
                draft = drafts[key] = _Draft(payer, row.partner_id, row.id if payer == "client" else None, key)
            draft.lines.extend(lines)
    ordered = sorted(drafts.values(), key=lambda d: (d.partner_id, d.payer != "partner", d.client_id or 0))
    return [d for d in ordered if d.lines]


__all__ = [
    "Month", "RunResult", "Segment", "StateChange", "billable_segments", "due_date_for", "format_number",
    "lines_for_segments", "load_changes", "local_today", "run_monthly_billing",
]
