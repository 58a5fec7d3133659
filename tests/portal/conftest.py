"""A known set of notes for an accepted company (the totals the portal must show), and one for a company the
accountant never accepted."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from core.db import utcnow
from fiscal import services
from fiscal.synth import BRT, cancellation_xml, key_of, nfe_xml
from tests.factories import ClientFactory

SELLER = "11222333000181"
BUYER = "45723174000110"
OTHER = "75365125000114"  # not one of the demo's companies


def month_start():
    now = utcnow().astimezone(BRT)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass
class World:
    company: object
    other: object
    keys: dict


def _note(client, number, cents, *, when, **kwargs):
    emitter = kwargs.pop("emitter", client.cnpj)
    recipient = kwargs.pop("recipient", BUYER)
    xml = nfe_xml(emitter_cnpj=emitter, emitter_name=kwargs.pop("emitter_name", "Padaria Pao Quente Ltda"),
                  recipient_doc=recipient, recipient_name=kwargs.pop("recipient_name", "Mercado Arvore Ltda"),
                  number=number, issued_at=when, total_cents=cents, **kwargs)
    result = services.ingest_file(client, f"{number}.xml", xml)
    assert result.result == "created", result
    return key_of(xml)


def seed_known_notes(company, other):
    start = month_start()
    at = lambda hours: start + timedelta(hours=hours)  # noqa: E731 - within this month, in Brasília time
    keys = {
        "a1": _note(company, 1, 10000, when=at(1)),
        "a2": _note(company, 2, 25050, when=at(2)),
        "c3": _note(company, 3, 8000, when=at(3)),
        "d4": _note(company, 4, 4000, when=at(4), protocol_cstat=110),
        "g5": _note(company, 5, 1234, when=at(5), model=65, tp_emis=9, protocol_cstat=None, recipient=None),
        "r6": _note(company, 6, 99999, when=at(6), emitter=BUYER, emitter_name="Atacado Fornecedor SA",
                    recipient=company.cnpj, recipient_name="Padaria Pao Quente Ltda"),
        "h7": _note(company, 7, 500, when=at(7), environment=2),
        "p8": _note(company, 8, 7000, when=start - timedelta(days=3)),  # last month
        "x9": _note(other, 9, 12345, when=at(8)),
    }
    services.ingest_file(company, "cancel.xml", cancellation_xml(keys["c3"], at(9)))
    return keys


@pytest.fixture
def world(db, accountant, client_row, partner, plan):
    client_row.cnpj, client_row.legal_name = SELLER, "Padaria Pão Quente Ltda"
    other = ClientFactory(partner=partner, plan=plan, cnpj=OTHER, legal_name="Loja Não Vinculada Ltda")
    db.session.flush()
    keys = seed_known_notes(client_row, other)
    db.session.commit()
    return World(company=client_row, other=other, keys=keys)
