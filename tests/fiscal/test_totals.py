"""The month totals (fiscal_month_totals) and the day totals (fiscal_day_totals) kept by the ingestion: after
any sequence of batches of notes, new versions and events (before or after their note), they equal a GROUP BY
over the documents (by Brasília month, by Brasília day); the totals the screens and the API show read them;
``flask fiscal rebuild-totals`` recomputes both."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from core.db import db as database
from fiscal import services
from fiscal.models import Direction, FiscalDayTotal, FiscalDocument, FiscalMonthTotal
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from tests.fiscal.conftest import BUYER, SELLER

NOW = datetime.now(UTC).replace(microsecond=0, second=0, minute=0, hour=15)
#: kind -> (tpEmis, protocol cStat): authorized, offline pending sync, offline then authorized, denied, draft
KINDS = {"authorized": (1, 100), "pending": (9, None), "synced": (9, 100), "denied": (1, 110), "draft": (1, None)}


def _issued_at(month_back: int) -> datetime:
    return (NOW.replace(day=15) - timedelta(days=31 * month_back))


def _note(number, environment, model, received, month_back, kind, total):
    tp_emis, cstat = KINDS[kind]
    seller, buyer = (BUYER, SELLER) if received else (SELLER, BUYER)
    return nfe_xml(emitter_cnpj=seller, emitter_name="Emitente", recipient_doc=buyer, recipient_name="Destinatário",
                   number=number, issued_at=_issued_at(month_back), total_cents=total, model=model,
                   tp_emis=tp_emis, environment=environment, protocol_cstat=cstat)


def summary(client_id) -> dict:
    rows = select(FiscalMonthTotal.issued_month, FiscalMonthTotal.environment, FiscalMonthTotal.model,
                  FiscalMonthTotal.direction, FiscalMonthTotal.status, FiscalMonthTotal.count,
                  FiscalMonthTotal.total_cents).where(FiscalMonthTotal.client_id == client_id)
    return {tuple(r[:5]): (r[5], r[6]) for r in database.session.execute(rows) if r[5] or r[6]}


def grouped(client_id) -> dict:
    rows = (select(FiscalDocument.issued_month, FiscalDocument.environment, FiscalDocument.model,
                   FiscalDocument.direction, FiscalDocument.status, func.count(), func.sum(FiscalDocument.total_cents))
            .where(FiscalDocument.client_id == client_id)
            .group_by(FiscalDocument.issued_month, FiscalDocument.environment, FiscalDocument.model,
                      FiscalDocument.direction, FiscalDocument.status))
    return {(m, e, mo, Direction(d).value, str(s.value if hasattr(s, "value") else s)): (c, t)
            for m, e, mo, d, s, c, t in database.session.execute(rows)}


notes = st.tuples(st.just("note"), st.integers(1, 3), st.sampled_from([1, 2]), st.sampled_from([55, 65]),
                  st.booleans(), st.integers(0, 1), st.sampled_from(sorted(KINDS)), st.sampled_from([500, 12345]))
events = st.tuples(st.just("event"), st.integers(1, 3), st.sampled_from([1, 2]), st.sampled_from([55, 65]),
                   st.booleans(), st.integers(0, 1), st.sampled_from(sorted(KINDS)), st.sampled_from([135, 136]))
batches = st.lists(st.lists(st.one_of(notes, events), min_size=1, max_size=6), min_size=1, max_size=5)


def _file(operation) -> bytes:
    kind, number, environment, model, received, month_back, note_kind, value = operation
    if kind == "note":
        return _note(number, environment, model, received, month_back, note_kind, value)
    key = key_of(_note(number, environment, model, received, month_back, note_kind, 100))
    return cancellation_xml(key, _issued_at(month_back) + timedelta(hours=2), environment=environment, cstat=value)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches)
def test_the_totals_equal_a_group_by_after_any_ingests_and_events(db, fiscal_client, sequence):
    nested = db.session.begin_nested()
    try:
        for operations in sequence:
            services.ingest_files(fiscal_client, [(f"{i}.xml", _file(op)) for i, op in enumerate(operations)])
            assert summary(fiscal_client.id) == grouped(fiscal_client.id)
    finally:
        nested.rollback()


def test_the_screens_totals_come_from_the_summary_and_never_mix_environments(db, fiscal_client):
    files = [(f"{n}.xml", _note(n, 1, 55, False, 0, "authorized", 1000 * n)) for n in range(1, 4)]
    files += [("h.xml", _note(9, 2, 55, False, 0, "authorized", 777))]
    files += [("c.xml", cancellation_xml(key_of(files[0][1]), NOW, cstat=135))]
    services.ingest_files(fiscal_client, files)
    month = services.month_of(_issued_at(0))
    production = services.period_totals(fiscal_client.id, month, direction=Direction.ISSUED)
    assert production["authorized"] == {"count": 2, "total_cents": 5000}
    assert production["cancelled"] == {"count": 1, "total_cents": 1000}
    homologation = services.period_totals(fiscal_client.id, month, environment=2)
    assert homologation["authorized"] == {"count": 1, "total_cents": 777}
    # the documents alone do not make the totals: the summary does (one small read)
    db.session.execute(update(FiscalMonthTotal).values(count=0, total_cents=0))
    assert services.period_totals(fiscal_client.id, month)["authorized"]["count"] == 0


def test_rebuild_totals_recomputes_them_from_the_documents(app, db, fiscal_client):
    services.ingest_files(fiscal_client, [(f"{n}.xml", _note(n, 1, 65, False, 1, "authorized", 250)) for n in (1, 2)])
    expected = summary(fiscal_client.id)
    assert expected
    db.session.execute(delete(FiscalMonthTotal))
    db.session.commit()
    assert summary(fiscal_client.id) == {}
    result = app.test_cli_runner().invoke(args=["fiscal", "rebuild-totals"])
    assert result.exit_code == 0, result.output
    assert "Totais recalculados: 1 linha(s)." in result.output
    assert summary(fiscal_client.id) == expected == grouped(fiscal_client.id)
    db.session.execute(update(FiscalMonthTotal).values(count=99))
    assert services.rebuild_totals(fiscal_client.id) == 1
    assert summary(fiscal_client.id) == expected


# -- the day totals (fiscal_day_totals): the same property, per Brasília day ----------------------------------

#: UTC hours of the day 1 of a month: 00:00–02:59 UTC are still the previous day (and month) in Brasília
HOURS = (0, 2, 3, 15, 23)


def _issued_at_hour(month_back: int, hour: int) -> datetime:
    first = (NOW.replace(day=1) - timedelta(days=31 * month_back)).replace(day=1)
    return first.replace(hour=hour)


def _note_at(number, environment, model, received, month_back, hour, kind, total):
    tp_emis, cstat = KINDS[kind]
    seller, buyer = (BUYER, SELLER) if received else (SELLER, BUYER)
    return nfe_xml(emitter_cnpj=seller, emitter_name="Emitente", recipient_doc=buyer, recipient_name="Destinatário",
                   number=number, issued_at=_issued_at_hour(month_back, hour), total_cents=total, model=model,
                   tp_emis=tp_emis, environment=environment, protocol_cstat=cstat)


def day_summary(client_id) -> dict:
    rows = select(FiscalDayTotal.issued_day, FiscalDayTotal.environment, FiscalDayTotal.model,
                  FiscalDayTotal.direction, FiscalDayTotal.status, FiscalDayTotal.count,
                  FiscalDayTotal.total_cents).where(FiscalDayTotal.client_id == client_id)
    return {tuple(r[:5]): (r[5], r[6]) for r in database.session.execute(rows) if r[5] or r[6]}


def day_grouped(client_id) -> dict:
    """The documents grouped by their Brasília day, worked out here in Python (not by the code under test)."""
    found: dict = {}
    for doc in database.session.scalars(select(FiscalDocument).where(FiscalDocument.client_id == client_id)):
        local = doc.issued_at.astimezone(timezone(timedelta(hours=-3)))
        key = (local.year * 10000 + local.month * 100 + local.day, doc.environment, doc.model,
               Direction(doc.direction).value, str(getattr(doc.status, "value", doc.status)))
        count, cents = found.get(key, (0, 0))
        found[key] = (count + 1, cents + doc.total_cents)
    return found


def months_of_days(days: dict) -> dict:
    months: dict = {}
    for (day, *rest), (count, cents) in days.items():
        key = (day // 100, *rest)
        total = months.get(key, (0, 0))
        months[key] = (total[0] + count, total[1] + cents)
    return {k: v for k, v in months.items() if v != (0, 0)}


day_notes = st.tuples(st.just("note"), st.integers(1, 3), st.sampled_from([1, 2]), st.sampled_from([55, 65]),
                      st.booleans(), st.integers(0, 1), st.sampled_from(HOURS), st.sampled_from(sorted(KINDS)),
                      st.sampled_from([500, 12345]))
day_events = st.tuples(st.just("event"), st.integers(1, 3), st.sampled_from([1, 2]), st.sampled_from([55, 65]),
                       st.booleans(), st.integers(0, 1), st.sampled_from(HOURS), st.sampled_from(sorted(KINDS)),
                       st.sampled_from([135, 136]))
day_batches = st.lists(st.lists(st.one_of(day_notes, day_events), min_size=1, max_size=6), min_size=1, max_size=5)


def _day_file(operation) -> bytes:
    kind, number, environment, model, received, month_back, hour, note_kind, value = operation
    if kind == "note":
        return _note_at(number, environment, model, received, month_back, hour, note_kind, value)
    key = key_of(_note_at(number, environment, model, received, month_back, hour, note_kind, 100))
    return cancellation_xml(key, _issued_at_hour(month_back, hour) + timedelta(hours=2), environment=environment,
                            cstat=value)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(day_batches)
def test_the_day_totals_equal_a_group_by_brasilia_day_after_any_ingests_and_events(db, fiscal_client, sequence):
    """Notes issued around Brasília midnight on the 1st (still the previous day and month there), new
    versions, events before or after their note: the day totals equal the documents grouped by Brasília day,
    and the days of a month add up to its month totals."""
    nested = db.session.begin_nested()
    try:
        for operations in sequence:
            services.ingest_files(fiscal_client, [(f"{i}.xml", _day_file(op)) for i, op in enumerate(operations)])
            days = day_summary(fiscal_client.id)
            assert days == day_grouped(fiscal_client.id)
            assert months_of_days(days) == summary(fiscal_client.id)
    finally:
        nested.rollback()


def test_a_note_before_three_utc_on_the_first_counts_on_the_last_day_of_the_previous_month(db, fiscal_client):
    late = _issued_at_hour(0, 2).replace(minute=59)  # 23:59 of the previous day in Brasília
    early = _issued_at_hour(0, 3)  # 00:00 of the 1st in Brasília
    files = [(f"{n}.xml", nfe_xml(emitter_cnpj=SELLER, emitter_name="E", recipient_doc=BUYER, recipient_name="D",
                                  number=n, issued_at=when, total_cents=100 * n, protocol_cstat=100))
             for n, when in ((1, late), (2, early))]
    services.ingest_files(fiscal_client, files)
    first = early.date()
    last_of_previous = first - timedelta(days=1)
    assert services.day_totals([fiscal_client.id], first, first) == [(first.isoformat(), 55, "authorized", 1, 200)]
    assert services.day_totals([fiscal_client.id], last_of_previous, last_of_previous) == [
        (last_of_previous.isoformat(), 55, "authorized", 1, 100)]
    assert services.month_of(late) == services.day_of(late) // 100 != services.month_of(early)
    assert services.period_totals(fiscal_client.id, services.month_of(early))["authorized"]["count"] == 1


def test_rebuild_totals_recomputes_the_day_totals_too(app, db, fiscal_client):
    when = _issued_at_hour(1, 2)
    services.ingest_files(fiscal_client, [(f"{n}.xml", _note_at(n, 1, 65, False, 1, h, "authorized", 250))
                                          for n, h in ((1, 2), (2, 15))])
    expected = day_summary(fiscal_client.id)
    assert len(expected) == 2 and expected == day_grouped(fiscal_client.id)
    assert services.day_of(when) // 100 != services.month_of(when + timedelta(hours=12))
    db.session.execute(delete(FiscalDayTotal))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["fiscal", "rebuild-totals"])
    assert result.exit_code == 0, result.output
    assert "Totais por dia recalculados: 2 linha(s)." in result.output
    assert day_summary(fiscal_client.id) == expected
    db.session.execute(update(FiscalDayTotal).values(count=99))
    assert services.rebuild_day_totals(fiscal_client.id) == 2
    assert day_summary(fiscal_client.id) == expected
