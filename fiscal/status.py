"""Status is derived, not read (../shared/FISCAL.md): cancelled > denied > authorized; contingency
pending while an offline note has no protocol; a draft or rejection is not a document."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class DocumentStatus(StrEnum):
    AUTHORIZED = "authorized"
    DENIED = "denied"
    CANCELLED = "cancelled"
    CONTINGENCY = "contingency"  # issued offline, not yet authorized (pending sync)
    NOT_A_DOCUMENT = "not_a_document"  # no protocol and normal emission: a draft or a rejection


AUTHORIZED_CODES = frozenset({100, 150})  # 150: authorized late, never a cancellation
DENIED_CODES = {55: frozenset({110, 205, 301, 302, 303}), 65: frozenset({110, 205, 301, 302, 303}),
                57: frozenset({110, 205, 301}), 67: frozenset({110, 205, 301})}
LEGACY_CANCELLED_CODES = frozenset({101, 151})
CANCELLATION_EVENT_TYPES = frozenset({"110111", "110112"})
CANCELLATION_OK_CODES = frozenset({135, 155})  # 136 "registered, not linked" needs a human check
CONTINGENCY_EMISSION = {55: frozenset({2, 4, 5, 6, 7, 9}), 65: frozenset({2, 4, 5, 6, 7, 9}),
                        57: frozenset({4, 5, 7, 8}), 67: frozenset({4, 5, 7, 8})}
PENDING_SYNC_EMISSION = frozenset({2, 4, 5, 9})  # SVC (6, 7, 8) is authorized on the spot


def is_contingency_emission(model: int, tp_emis: int) -> bool:
    """tpEmis says the note was issued in contingency (3 is the NFF regime, not contingency)."""
    return tp_emis in CONTINGENCY_EMISSION.get(model, frozenset())


def is_cancellation(event_type: str, cstat: int | None) -> bool:
    return event_type in CANCELLATION_EVENT_TYPES and cstat in CANCELLATION_OK_CODES


def derive_status(model: int, tp_emis: int, protocol_cstat: int | None,
                  events: Iterable[tuple[str, int | None]] = ()) -> DocumentStatus:
    """The status of a note from its protocol's cStat and its events' (tpEvento, cStat) pairs."""
    if protocol_cstat in LEGACY_CANCELLED_CODES or any(is_cancellation(t, c) for t, c in events):
        return DocumentStatus.CANCELLED
    if protocol_cstat in DENIED_CODES.get(model, frozenset()):
        return DocumentStatus.DENIED
    if protocol_cstat in AUTHORIZED_CODES:
        return DocumentStatus.AUTHORIZED
    if protocol_cstat is None and is_contingency_emission(model, tp_emis) and tp_emis in PENDING_SYNC_EMISSION:
        return DocumentStatus.CONTINGENCY
    return DocumentStatus.NOT_A_DOCUMENT

#: The statuses the totals block shows, in the seed's order (a non-document is never counted).
SUPPORTED_TOTAL_STATUSES = (DocumentStatus.AUTHORIZED, DocumentStatus.CANCELLED, DocumentStatus.DENIED,
                            DocumentStatus.CONTINGENCY)
