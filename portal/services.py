"""The portal's rules: which companies a selection names, the period and filters of "Notas" read from the
query string (a message per field when wrong, never an exception to the user), the keyset-paginated list,
and the totals, models present and chart drawn from one query on the day totals (fiscal.services.day_totals),
or, under "Filtros Avançados", one grouped query over the filtered notes (fiscal.services.daily_totals)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from core.db import db, utcnow
from core.text import like_pattern
from fiscal import services as fiscal
from fiscal.models import Direction, FiscalDocument
from fiscal.status import SUPPORTED_TOTAL_STATUSES, DocumentStatus
from partner import accountants
from partner.models import AccountantLink

BRT = fiscal.BRT
MODELS = {55: "NF-e", 65: "NFC-e", 57: "CT-e"}
PRESETS = ("este-mes", "ultimo-mes", "customizado")
PER_PAGE = 50
MAX_DAYS = 366
ENVIRONMENTS = {1: "Produção", 2: "Homologação"}
PARTICIPANTS = ("issued", "received", "all")
STATUS_ORDER = [s.value for s in SUPPORTED_TOTAL_STATUSES]  # authorized, cancelled, denied, contingency
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"\D")


@dataclass
class Selection:
    """What the top bar's selector names: one company, a group of them, or every accepted company."""

    links: list[AccountantLink]
    chosen: list[AccountantLink]
    value: str  # "" (all), "c<id>" or "g<name>"

    @property
    def client_ids(self) -> list[int]:
        return [link.client_id for link in self.chosen]

    @property
    def company(self):
        return self.chosen[0].client if len(self.chosen) == 1 and self.value.startswith("c") else None

    @property
    def groups(self) -> list[str]:
        return sorted({link.group_name for link in self.links if link.group_name})


def selection_for(user, value: str | None) -> Selection:
    """The accountant's accepted companies narrowed to ``value``; an unknown value selects none (the page
    then says "Selecione…"), so another's company id shows nothing."""
    links = accountants.accepted_links(user.id)
    value = (value or "").strip()[:120]
    if value.startswith("c") and value[1:].isdigit():
        chosen = [link for link in links if str(link.client_id) == value[1:]]
    elif value.startswith("g") and len(value) > 1:
        chosen = [link for link in links if link.group_name == value[1:]]
    else:
        chosen, value = (list(links) if len(links) == 1 else []), ""
        if chosen:
            value = f"c{chosen[0].client_id}"
    return Selection(links=links, chosen=chosen, value=value if chosen else "")


@dataclass
class Filters:
    preset: str = "este-mes"
    start: date | None = None
    end: date | None = None  # inclusive
    environment: int = 1
    model: int | None = None
    participant: str = "all"
    number_from: int | None = None
    number_to: int | None = None
    party: str = ""
    value_from: int | None = None  # cents
    value_to: int | None = None
    status: str = ""
    key: str = ""
    errors: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(), BRT)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), BRT)

    @property
    def direction(self) -> Direction | None:
        return None if self.participant == "all" else Direction(self.participant)

    @property
    def advanced(self) -> bool:
        return any((self.number_from, self.number_to, self.party, self.value_from is not None,
                    self.value_to is not None, self.status, self.key))

    def month(self) -> int | None:
        """AAAAMM when the period is one whole calendar month (what the export's folder is named after)."""
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1 and self.start.month == self.end.month:
            return self.start.year * 100 + self.start.month
        return None


def today_local() -> date:
    return utcnow().astimezone(BRT).date()


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _date(value: str) -> date | None:
    value = (value or "").strip()
    if not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _int(value: str, *, max_digits: int = 9) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > max_digits:
        raise ValueError
    return int(value)


def _cents(value: str) -> int | None:
    """R$ as typed ("1.234,56", "1234.56", "10") → centavos."""
    value = (value or "").strip().replace("R$", "").strip()
    if not value:
        return None
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    if not re.fullmatch(r"\d{1,13}(\.\d{1,2})?", value):
        raise ValueError
    whole, _dot, frac = value.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def parse_filters(args) -> Filters:
    """The notes page's query string → Filters; each bad field gets its message in ``errors``."""
    f = Filters(raw={k: (args.get(k) or "")[:100] for k in (
        "periodo", "de", "ate", "ambiente", "modelo", "participante", "numero_de", "numero_ate", "participante_doc",
        "valor_de", "valor_ate", "situacao", "chave")})
    errors = f.errors
    preset = f.raw["periodo"] or "este-mes"
    if preset not in PRESETS:
        errors["periodo"] = _("Escolha Este mês, Último mês ou Período customizado.")
        preset = "este-mes"
    f.preset = preset
    today = today_local()
    if preset == "ultimo-mes":
        f.start, f.end = month_bounds(today.replace(day=1) - timedelta(days=1))
    elif preset == "customizado":
        f.start, f.end = _date(f.raw["de"]), _date(f.raw["ate"])
        if f.start is None:
            errors["de"] = _("Informe a data inicial (DD/MM/AAAA).")
        if f.end is None:
            errors["ate"] = _("Informe a data final (DD/MM/AAAA).")
        if f.start and f.end and f.end < f.start:
            errors["ate"] = _("A data final deve ser igual ou posterior à inicial.")
        elif f.start and f.end and (f.end - f.start).days >= MAX_DAYS:
            errors["ate"] = _("O período pode ter no máximo %(n)s dias.", n=MAX_DAYS)
        if "de" in errors or "ate" in errors:
            f.start, f.end = month_bounds(today)
    else:
        f.start, f.end = month_bounds(today)
    f.environment = 2 if f.raw["ambiente"] == "2" else 1
    if f.raw["ambiente"] not in ("", "1", "2"):
        errors["ambiente"] = _("Escolha Produção ou Homologação.")
    if f.raw["modelo"]:
        try:
            f.model = int(f.raw["modelo"])
        except ValueError:
            f.model = 0
        if f.model not in MODELS:
            errors["modelo"] = _("Tipo inválido: escolha NF-e, NFC-e ou CT-e.")
            f.model = None
    f.participant = f.raw["participante"] or "all"
    if f.participant not in PARTICIPANTS:
        errors["participante"] = _("Escolha Emitente, Destinatário ou Todas.")
        f.participant = "all"
    for name, attr in (("numero_de", "number_from"), ("numero_ate", "number_to")):
        try:
            setattr(f, attr, _int(f.raw[name]))
        except ValueError:
            errors[name] = _("Informe um número de nota (só algarismos, até 9).")
    if f.number_from and f.number_to and f.number_to < f.number_from:
        errors["numero_ate"] = _("O número final deve ser maior ou igual ao inicial.")
    f.party = f.raw["participante_doc"].strip()
    if f.party and len(f.party) < 2:
        errors["participante_doc"] = _("Digite ao menos 2 caracteres do nome, ou o CNPJ/CPF.")
    for name, attr in (("valor_de", "value_from"), ("valor_ate", "value_to")):
        try:
            setattr(f, attr, _cents(f.raw[name]))
        except ValueError:
            errors[name] = _("Informe um valor em reais, por exemplo 1.234,56.")
    if f.value_from is not None and f.value_to is not None and f.value_to < f.value_from:
        errors["valor_ate"] = _("O valor final deve ser maior ou igual ao inicial.")
    f.status = f.raw["situacao"]
    if f.status and f.status not in STATUS_ORDER:
        errors["situacao"] = _("Situação inválida.")
        f.status = ""
    f.key = _DIGITS.sub("", f.raw["chave"])
    if f.raw["chave"].strip() and len(f.key) != 44:
        errors["chave"] = _("A chave de acesso tem 44 algarismos.")
        f.key = ""
    return f


def _base(client_ids: list[int], f: Filters):
    query = select(FiscalDocument).where(
        FiscalDocument.client_id.in_(client_ids), FiscalDocument.environment == f.environment,
        FiscalDocument.issued_at >= f.start_at, FiscalDocument.issued_at < f.end_at,
        FiscalDocument.status.in_(STATUS_ORDER))
    if f.direction is not None:
        query = query.where(FiscalDocument.direction == f.direction)
    if f.model is not None:
        query = query.where(FiscalDocument.model == f.model)
    return query.where(*_advanced_conditions(f))


def _advanced_conditions(f: Filters) -> list:
    """The "Filtros Avançados" as conditions on the notes (none when the form's advanced part is empty)."""
    conditions = []
    if f.number_from is not None:
        conditions.append(FiscalDocument.number >= f.number_from)
    if f.number_to is not None:
        conditions.append(FiscalDocument.number <= f.number_to)
    if f.value_from is not None:
        conditions.append(FiscalDocument.total_cents >= f.value_from)
    if f.value_to is not None:
        conditions.append(FiscalDocument.total_cents <= f.value_to)
    if f.status:
        conditions.append(FiscalDocument.status == f.status)
    if f.key:
        conditions.append(FiscalDocument.key == f.key)
    if f.party:
        digits = _DIGITS.sub("", f.party)
        pattern = like_pattern(f.party)
        either = [FiscalDocument.emitter_name.ilike(pattern, escape="\\"),
                  FiscalDocument.recipient_name.ilike(pattern, escape="\\")]
        if len(digits) in (11, 14):
            either += [FiscalDocument.emitter_doc == digits, FiscalDocument.recipient_doc == digits]
        conditions.append(or_(*either))
    return conditions


def encode_cursor(document: FiscalDocument) -> str:
    raw = f"{document.issued_at.isoformat()}|{document.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value or len(value) > 120:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        moment, ident = raw.split("|")
        parsed = datetime.fromisoformat(moment)
        return (parsed, int(ident)) if parsed.tzinfo is not None else None
    except (ValueError, UnicodeDecodeError):
        return None


def notes_page(client_ids: list[int], f: Filters, cursor: str | None = None, per_page: int | None = None):
    """The newest first, ``per_page`` at a time after ``cursor`` (keyset: constant cost at any depth).
    Returns (items, next cursor or None)."""
    per_page = per_page or PER_PAGE
    query = _base(client_ids, f)
    after = decode_cursor(cursor)
    if after is not None:
        moment, ident = after
        query = query.where(or_(FiscalDocument.issued_at < moment,
                                and_(FiscalDocument.issued_at == moment, FiscalDocument.id < ident)))
    items = db.session.scalars(
        query.order_by(FiscalDocument.issued_at.desc(), FiscalDocument.id.desc()).limit(per_page + 1)).all()
    more = len(items) > per_page
    items = items[:per_page]
    return items, (encode_cursor(items[-1]) if more and items else None)


@dataclass
class Summary:
    totals: dict  # status → {"count", "total_cents"} for the selected model (all models when none)
    models: list[int]  # the models present in the period (one icon each)
    days: list[dict]  # per day: {"day", status: [count, cents]}


def summary(client_ids: list[int], f: Filters) -> Summary:
    """The totals block (seed I), the model icons and the chart: one query.

    The period (Brasília days), the companies or group, the environment, the Emitente/Destinatário direction
    and the model are what the day totals (fiscal_day_totals) are kept by: then a few rows per day are read,
    whatever the number of notes. "Filtros Avançados" (number or value range, party, key, status) narrow
    the notes beyond what the day totals know: then, and only then, the totals fall back to a GROUP BY over
    the filtered notes (its cost grows with the notes of the period), so they always match the list shown."""
    advanced = _advanced_conditions(f)
    if advanced:
        rows = fiscal.daily_totals(client_ids, f.start_at, f.end_at, environment=f.environment,
                                   direction=f.direction, where=advanced)
    else:
        rows = fiscal.day_totals(client_ids, f.start, f.end, environment=f.environment, direction=f.direction)
    totals = {status: {"count": 0, "total_cents": 0} for status in STATUS_ORDER}
    per_day: dict[str, dict] = {}
    models = set()
    for day, model, status, count, cents in rows:
        models.add(model)
        if f.model is not None and model != f.model:
            continue
        totals[status]["count"] += count
        totals[status]["total_cents"] += cents
        bucket = per_day.setdefault(day, {s: [0, 0] for s in STATUS_ORDER})
        bucket[status][0] += count
        bucket[status][1] += cents
    days = []
    current = f.start
    while current <= f.end:
        key = current.isoformat()
        days.append({"day": current, **per_day.get(key, {s: [0, 0] for s in STATUS_ORDER})})
        current += timedelta(days=1)
    return Summary(totals=totals, models=sorted(m for m in models if m in MODELS), days=days)


def chart(days: list[dict], width: int = 720, height: int = 180) -> dict:
    """Bars of notes per day stacked by status, and the line of the day's authorized value: coordinates
    for a server-rendered SVG (no script, no CDN)."""
    n = max(1, len(days))
    step = width / n
    most = max([sum(d[s][0] for s in STATUS_ORDER) for d in days] + [1])
    richest = max([d[DocumentStatus.AUTHORIZED.value][1] for d in days] + [1])
    bars, points = [], []
    for i, d in enumerate(days):
        y = height
        for status in STATUS_ORDER:
            count = d[status][0]
            if count:
                h = count * (height - 10) / most
                y -= h
                bars.append({"x": round(i * step + 1, 1), "y": round(y, 1), "w": round(max(step - 2, 1), 1),
                             "h": round(h, 1), "status": status, "day": d["day"], "count": count})
        value = d[DocumentStatus.AUTHORIZED.value][1]
        points.append(f"{round(i * step + step / 2, 1)},{round(height - value * (height - 10) / richest, 1)}")
    return {"width": width, "height": height, "bars": bars, "line": " ".join(points), "most": most,
            "richest": richest}
