"""The portal's totals block and chart read the day totals (fiscal_day_totals) whenever the filters are ones
they are kept by (period, companies, environment, model, Emitente/Destinatário), in one query; under
"Filtros Avançados" they are a GROUP BY over the filtered notes, so they always match the list; a period's
days are Brasília days, as the month totals' months are."""

import io
import re
import zipfile
from datetime import timedelta

from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from core.db import db as database
from fiscal import exports
from fiscal.models import FiscalDayTotal, FiscalExport
from portal import services
from tests.portal.conftest import _note, month_start
from tests.sql import statements_sent


def html(response) -> str:
    return response.get_data(as_text=True)


def total(page: str, name: str) -> str:
    return re.search(rf'data-total="{name}">([^<]*)<', page).group(1).strip()


def keys_in(page: str) -> set[str]:
    return set(re.findall(r'<tr data-key="(\d{44})"', page))


def statements(fn) -> int:
    """How many SQL statements ``fn`` runs."""
    with statements_sent(database.engine) as sent:
        fn()
    return len(sent)


def test_the_totals_block_reads_the_day_totals_unless_advanced_filters_are_on(world, login_as, accountant, db):
    http = login_as(accountant)
    base = f"/contador/notas?empresa=c{world.company.id}"
    # the day totals alone make the block: zeroed behind the service's back, the block shows zero
    db.session.execute(update(FiscalDayTotal).where(FiscalDayTotal.client_id == world.company.id,
                                                    FiscalDayTotal.status == "authorized").values(count=0, total_cents=0))
    page = html(http.get(base))
    assert (total(page, "authorized-count"), total(page, "authorized-value")) == ("0", "0,00")
    assert (total(page, "cancelled-count"), total(page, "cancelled-value")) == ("1", "80,00")
    # an advanced filter: the totals are grouped over the filtered notes themselves, and match the list
    filtered = html(http.get(base + "&numero_de=1&numero_ate=3"))
    assert keys_in(filtered) == {world.keys[k] for k in ("a1", "a2", "c3")}
    assert (total(filtered, "authorized-count"), total(filtered, "authorized-value")) == ("2", "350,50")
    assert (total(filtered, "cancelled-count"), total(filtered, "denied-count")) == ("1", "0")
    value = html(http.get(base + "&valor_de=100,00&valor_ate=1.000"))
    assert (total(value, "authorized-count"), total(value, "authorized-value")) == ("3", "1.350,49")
    assert total(value, "contingency-count") == "0"
    denied = html(http.get(base + "&situacao=denied"))
    assert (total(denied, "denied-count"), total(denied, "authorized-count")) == ("1", "0")


def test_one_query_on_either_path(world, db):
    plain = services.parse_filters(MultiDict({"periodo": "este-mes"}))
    advanced = services.parse_filters(MultiDict({"periodo": "este-mes", "participante_doc": "fornecedor"}))
    assert not plain.advanced and advanced.advanced
    ids = [world.company.id]
    results = {}
    assert statements(lambda: results.setdefault("plain", services.summary(ids, plain))) == 1
    assert statements(lambda: results.setdefault("advanced", services.summary(ids, advanced))) == 1
    assert results["plain"].totals["authorized"] == {"count": 3, "total_cents": 135049}
    assert results["advanced"].totals["authorized"] == {"count": 1, "total_cents": 99999}  # the supplier's note
    assert results["plain"].models == [55, 65]


def test_the_day_and_advanced_paths_agree_on_every_day_of_the_chart(world, db):
    """The same period, model and direction through the day totals and through the GROUP BY (an advanced
    filter that keeps every note): identical totals, models and days."""
    for args in ({}, {"participante": "issued"}, {"modelo": "65"}, {"periodo": "ultimo-mes"}, {"ambiente": "2"}):
        plain = services.parse_filters(MultiDict({"periodo": "este-mes", **args}))
        every = services.parse_filters(MultiDict({"periodo": "este-mes", "numero_de": "1", **args}))
        a, b = services.summary([world.company.id], plain), services.summary([world.company.id], every)
        assert (a.totals, a.models, a.days) == (b.totals, b.models, b.days), args


def test_a_period_is_made_of_brasilia_days(world, login_as, accountant, db):
    """23:59 in Brasília on the last day of last month is 02:59 UTC on the 1st: last month's, in its last day."""
    start = month_start()
    late = _note(world.company, 20, 4321, when=start - timedelta(minutes=1))
    early = _note(world.company, 21, 1111, when=start)
    db.session.commit()
    http = login_as(accountant)
    base = f"/contador/notas?empresa=c{world.company.id}"
    this_month = html(http.get(base))
    assert early in keys_in(this_month) and late not in keys_in(this_month)
    assert (total(this_month, "authorized-count"), total(this_month, "authorized-value")) == ("4", "1.361,60")
    last_month = html(http.get(base + "&periodo=ultimo-mes"))
    assert keys_in(last_month) == {world.keys["p8"], late}
    assert (total(last_month, "authorized-count"), total(last_month, "authorized-value")) == ("2", "113,21")
    first_day = start.date()
    one_day = services.parse_filters(MultiDict({"periodo": "customizado", "de": first_day.isoformat(),
                                                "ate": first_day.isoformat()}))
    summary = services.summary([world.company.id], one_day)
    assert [d["day"] for d in summary.days] == [first_day]
    # on the 1st: a1, a2 (c3 cancelled, d4 denied, g5 contingency, r6 received) and the one at 00:00 (21)
    assert summary.totals["authorized"] == {"count": 4, "total_cents": 10000 + 25050 + 99999 + 1111}
    previous = services.parse_filters(MultiDict({"periodo": "customizado",
                                                 "de": (first_day - timedelta(days=1)).isoformat(),
                                                 "ate": (first_day - timedelta(days=1)).isoformat()}))
    assert services.summary([world.company.id], previous).totals["authorized"] == {"count": 1, "total_cents": 4321}


def test_a_group_of_companies_adds_their_day_totals(world, db, accountant):
    from tests.factories import link_accountant

    link_accountant(world.other, accountant)
    db.session.commit()
    f = services.parse_filters(MultiDict({"periodo": "este-mes"}))
    both = services.summary([world.company.id, world.other.id], f)
    assert both.totals["authorized"] == {"count": 4, "total_cents": 135049 + 12345}


def test_an_export_follows_the_environment_on_screen(world, login_as, accountant, db):
    http = login_as(accountant)
    form = html(http.get(f"/contador/exportar?empresa=c{world.company.id}&ambiente=2"))
    assert 'data-testid="export-homologation"' in form and 'name="ambiente" value="2"' in form
    response = http.post("/contador/exportar", data={"empresa": f"c{world.company.id}", "ambiente": "2",
                                                     "email": "arquivo@contabil.example", "periodo": "este-mes"})
    assert response.status_code == 303 and "ambiente=2" in response.headers["Location"]
    response = http.post("/contador/exportar", data={"empresa": f"c{world.company.id}", "ambiente": "1",
                                                     "email": "arquivo@contabil.example", "periodo": "este-mes"})
    assert response.status_code == 303
    homologation, production = db.session.scalars(select(FiscalExport).order_by(FiscalExport.id)).all()
    assert (homologation.environment, production.environment) == (2, 1)
    names = {}
    for export in (homologation, production):
        exports.build_export(export.id)
        with exports.open_export(export) as handle:
            names[export.environment] = " ".join(zipfile.ZipFile(io.BytesIO(handle.read())).namelist())
    keys = world.keys
    assert keys["h7"] in names[2] and not any(keys[k] in names[2] for k in ("a1", "a2", "c3", "d4", "g5", "r6"))
    assert keys["h7"] not in names[1] and keys["a1"] in names[1]
