"""Storage quota: usage from the fiscal document store, warnings at 70% (with the GB forecast), 90%
and 100% to the manager and the client, once per threshold per term; notes are never refused; the
dashboard's usage column costs no query per client."""

from datetime import timedelta

from sqlalchemy import func, select

from contracts.models import AcceptanceChannel
from contracts.services import accept_terms
from core.db import db as _db
from core.db import utcnow
from core.mail import OutboxEmail
from orders import quota, schedule, services
from orders.models import GB
from tests.factories import ClientFactory
from tests.orders.helpers import order_data, stored_notes
from tests.sql import statements_sent


def _active_order(partner, client, service):
    order = services.place_order(partner, order_data(client, service))  # 5 GB starter kit
    accept_terms(client, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None, terms=service.terms_version)
    return order


def _quota_mail(db):
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "order_quota")
                              .order_by(OutboxEmail.id)).all()


def test_warnings_at_70_90_100_once_each_per_term(db, partner, client_row, service):
    order = _active_order(partner, client_row, service)
    stored_notes(client_row.id, [int(3.6 * GB)], received_at=utcnow() - timedelta(days=30))  # 72%
    assert quota.check_quotas() == 1
    mail = _quota_mail(db)
    assert sorted(m.to for m in mail) == sorted([partner.email, client_row.email])
    assert "70%" in mail[0].subject
    assert quota.check_quotas() == 0  # once per threshold per term
    stored_notes(client_row.id, [int(1.0 * GB)], start=100)  # 92%
    assert quota.check_quotas() == 1 and "90%" in _quota_mail(db)[-1].subject
    stored_notes(client_row.id, [int(1.0 * GB)], start=200)  # 112%: notes still arrive and are kept
    assert quota.check_quotas() == 1 and "100%" in _quota_mail(db)[-1].subject
    assert quota.usage_of(order).overage_bytes > 0
    assert db.session.scalar(select(func.count()).select_from(quota.FiscalDocument)
                             .where(quota.FiscalDocument.client_id == client_row.id)) == 4 + 1 + 1  # every note kept
    assert quota.check_quotas() == 0
    # a renewal starts a new term: the warnings may come again
    services.renew(order, "invoice", today=order.renews_at)
    assert quota.check_quotas() == 1


def test_jumping_past_several_thresholds_sends_only_the_highest(db, partner, client_row, service):
    _active_order(partner, client_row, service)
    stored_notes(client_row.id, [int(4.7 * GB)])  # 94%
    assert quota.check_quotas() == 1
    subjects = {m.subject for m in _quota_mail(db)}
    assert len(subjects) == 1 and "90%" in subjects.pop()
    assert quota.check_quotas() == 0


def test_forecast_uses_the_last_90_days_growth():
    # 3 GB now, 0.9 GB arrived in 90 days, 300 days to renewal: 3 + 0.9 * 300 / 90 = 6 GB
    assert quota.forecast_gb(3 * GB, int(0.9 * GB), 300) == 6
    assert quota.forecast_gb(0, 0, 300) == 1


def test_seventy_percent_mail_carries_the_forecast(db, partner, client_row, service, inbox, deliver_mail):
    order = _active_order(partner, client_row, service)
    stored_notes(client_row.id, [int(3.6 * GB)], received_at=utcnow() - timedelta(days=10))
    assert schedule.run_daily()["quota_warnings"] == 1
    deliver_mail()
    [message] = [m for m in inbox.wait_for(1) if m["To"] == partner.email and "70%" in m["Subject"]]
    body = message.get_body(("plain",)).get_content()
    days = (order.renews_at - services.local_today()).days
    expected = quota.forecast_gb(int(3.6 * GB), int(3.6 * GB), days)
    assert f"cerca de {expected} GB" in body
    assert "recusado" not in body  # the "never refused" line belongs to the 100% warning


def test_usage_column_costs_no_query_per_client(db, client, login_as, manager, partner, service):
    def page_queries():
        http = login_as(manager)
        with statements_sent(_db.engine) as sent:
            response = http.get("/painel")
        assert response.status_code == 200
        statements = [s for s in sent if "SAVEPOINT" not in s]  # the test's transaction, not the page
        return statements, response.get_data(as_text=True)

    # both measures with more clients than a page, as bench/bench_dashboard.py does
    per_page = client.application.config["DASHBOARD_PER_PAGE"]
    first = ClientFactory(partner=partner, legal_name="AAA Primeira Ltda")
    _active_order(partner, first, service)
    stored_notes(first.id, [GB])
    for _ in range(per_page):
        stored_notes(ClientFactory(partner=partner).id, [1000])
    small, html = page_queries()
    assert "Espaço XML" in html and "1,00 de 5 GB (20%)" in html.replace("1.00", "1,00")
    for _ in range(per_page * 2):
        stored_notes(ClientFactory(partner=partner).id, [1000, 2000])
    large, _html = page_queries()
    assert len(small) == len(large), [x[:90] for x in large if x not in small]
