"""The client's "Histórico de alterações" for people: every audit event in words (core/audit_words.py,
filled by each domain's audit_words.py), names instead of ids, long values cut short with the whole
value kept for a tooltip. The audit log itself stays as recorded (codes and raw values).

A client's accountant reads only what concerns the client's documents and contract state: the events
registered for the accountant, without prices or discounts."""

from dataclasses import dataclass
from datetime import datetime

from core.audit_words import (
    MAX_VALUE_CHARS,
    Change,
    accountant_actions,
    action_label,
    changes,
    hide_money,
    resolve_names,
)
from core.audit_words import value_text as _value_text

__all__ = ["MAX_VALUE_CHARS", "Change", "HistoryRow", "history_rows", "value_text", "visible_actions"]


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    actor: str
    action: str  # the audit code: kept in a data attribute for support, never shown
    action_label: str
    before: list[Change]
    after: list[Change]


def value_text(key: str, value, action: str = "") -> str:
    return _value_text(key, value, action=action)


def visible_actions(for_accountant: bool) -> set[str] | None:
    """The actions a reader may see (None: all of them)."""
    return accountant_actions() if for_accountant else None


def history_rows(events, *, for_accountant: bool = False) -> list[HistoryRow]:
    """The audit events of one client, ready for the "Histórico de alterações" table."""
    events = list(events)
    names = resolve_names(events)
    hidden = hide_money if for_accountant else None
    return [
        HistoryRow(
            at=e.at, actor=e.actor_label, action=e.action, action_label=action_label(e.action),
            before=changes(e.before, action=e.action, names=names, hidden=hidden),
            after=changes(e.after, action=e.action, names=names, hidden=hidden),
        )
        for e in events
    ]
