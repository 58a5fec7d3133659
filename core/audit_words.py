"""The audit log in words: what each recorded action and field means, for people.

The log keeps codes and raw values (``invoice.paid``, ``total_cents``, ``plan_id: 3``); this module turns
them into plain, translated text ("Fatura paga", "Total: R$ 59,95", "Plano: FazNota Ouro"). Each domain
fills the registries from its own ``audit_words.py`` (imported by its views), so ``core`` knows no domain
and a new domain brings its own words:

* ``register_actions({"invoice.paid": _l("Fatura paga")}, accountant={"…"})`` — action labels; the
  ``accountant`` ones are shown to a client's accountant (contract state and documents, nothing internal);
* ``register_fields({"total_cents": _l("Total")}, scope="invoice")`` — field labels (for every action, or
  only those starting with ``scope + "."``);
* ``register_values("status", {"paid": _l("Paga")}, scope="invoice")`` — labels of coded values, for
  every action or only for actions starting with ``scope + "."``;
* ``register_formatter("threshold", fn)`` — any other presentation of one field's value;
* ``register_reference("plan_id", _l("Plano"), resolve)`` — ids shown as names: ``resolve(ids)`` returns
  ``{id: name}`` in one query, run once per page of events.

``*_cents`` values are money and ``*_at`` values are instants whatever the domain.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.numbers import format_currency
from flask_babel import gettext as _
from flask_babel import to_user_timezone

#: A value longer than this is cut (fingerprints, serials, long notes); the full text goes in a tooltip.
MAX_VALUE_CHARS = 40

_ACTIONS: dict[str, object] = {}
_ACCOUNTANT_ACTIONS: set[str] = set()
_FIELDS: dict[tuple[str | None, str], object] = {}
_VALUES: dict[tuple[str | None, str], dict] = {}
_FORMATTERS: dict[tuple[str | None, str], Callable] = {}


@dataclass(frozen=True)
class Reference:
    label: object  # lazy-gettext
    resolve: Callable  # (ids) -> {id: name}


_REFERENCES: dict[str, Reference] = {}


def register_actions(labels: dict, *, accountant: Iterable[str] = ()) -> None:
    _ACTIONS.update(labels)
    _ACCOUNTANT_ACTIONS.update(accountant)


def register_fields(labels: dict, *, scope: str | None = None) -> None:
    """Field labels, for every action or only for actions starting with ``scope + "."`` (the same key
    means different things: an invoice's ``number`` is not a street number)."""
    _FIELDS.update({(scope, key): label for key, label in labels.items()})


def register_values(key: str, labels: dict, *, scope: str | None = None) -> None:
    _VALUES.setdefault((scope, key), {}).update({str(k): v for k, v in labels.items()})


def register_formatter(key: str, formatter: Callable, *, scope: str | None = None) -> None:
    _FORMATTERS[(scope, key)] = formatter


def register_reference(key: str, label, resolve: Callable) -> None:
    _REFERENCES[key] = Reference(label, resolve)


def is_known_action(action: str) -> bool:
    return action in _ACTIONS


def known_actions() -> set[str]:
    return set(_ACTIONS)


def accountant_actions() -> set[str]:
    """What a client's accountant may read of the client's history."""
    return set(_ACCOUNTANT_ACTIONS)


def action_label(action: str) -> str:
    return str(_ACTIONS.get(action) or _("Outro registro"))


def field_label(key: str, action: str = "") -> str:
    if key in _REFERENCES:
        return str(_REFERENCES[key].label)
    return str(_FIELDS.get((_scope(action), key)) or _FIELDS.get((None, key)) or _("Outro dado"))


# -- values -----------------------------------------------------------------------------------------------


def format_money(cents: int) -> str:
    text = format_currency(Decimal(cents).scaleb(-2), "BRL", locale="pt_BR")
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def format_instant(value: str) -> str:
    try:
        return to_user_timezone(datetime.fromisoformat(value)).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return value


def _scope(action: str) -> str | None:
    return action.split(".", 1)[0] if action else None


def _coded(action: str, key: str, value) -> str | None:
    for labels in (_VALUES.get((_scope(action), key)), _VALUES.get((None, key))):
        if labels and str(value) in labels:
            return str(labels[str(value)])
    return None


def _formatter(action: str, key: str) -> Callable | None:
    return _FORMATTERS.get((_scope(action), key)) or _FORMATTERS.get((None, key))


def value_text(key: str, value, *, action: str = "", names: dict | None = None) -> str:
    """One recorded value in words: '—' for nothing, R$ for centavos, local time for instants,
    labels for codes, names for ids (``names``: ``{key: {id: name}}`` from :func:`resolve_names`)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Sim") if value else _("Não")
    if key in _REFERENCES:
        return (names or {}).get(key, {}).get(value) or _("(removido)")
    coded = _coded(action, key, value)
    if coded is not None:
        return coded
    formatter = _formatter(action, key)
    if formatter is not None:
        return str(formatter(value))
    if key.endswith("_cents") and isinstance(value, int):
        return format_money(value)
    if isinstance(value, str) and key.endswith("_at"):
        return format_instant(value)
    if isinstance(value, list):
        return ", ".join(value_text(key, v, action=action, names=names) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k, action)}: {value_text(k, v, action=action, names=names)}"
                         for k, v in value.items())
    return str(value)


def resolve_names(events) -> dict[str, dict]:
    """``{key: {id: name}}`` for every id field of ``events`` with a registered reference: one query
    per kind of reference, whatever the number of events."""
    wanted: dict[str, set] = {}
    for event in events:
        for values in (event.before, event.after):
            for key, value in (values or {}).items():
                if key in _REFERENCES and value is not None:
                    wanted.setdefault(key, set()).add(value)
    return {key: _REFERENCES[key].resolve(sorted(ids, key=str)) for key, ids in wanted.items()}


@dataclass(frozen=True)
class Change:
    label: str
    text: str  # what the table shows (maybe cut short)
    full: str  # the whole value, for the tooltip

    @property
    def is_cut(self) -> bool:
        return self.text != self.full


def changes(values: dict | None, *, action: str = "", names: dict | None = None,
            hidden: Callable[[str], bool] | None = None) -> list[Change]:
    """The before or after of one event as labelled values (``hidden(key)`` leaves a field out)."""
    result = []
    for key, value in (values or {}).items():
        if hidden is not None and hidden(key):
            continue
        full = value_text(key, value, action=action, names=names)
        text = full if len(full) <= MAX_VALUE_CHARS else full[: MAX_VALUE_CHARS - 1] + "…"
        result.append(Change(field_label(key, action), text, full))
    return result


def _money_field(key: str) -> bool:
    return key.endswith("_cents")


#: For the accountant: prices and discounts are between the partner and the platform.
hide_money = _money_field
