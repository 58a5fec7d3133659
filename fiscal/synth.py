"""Synthetic fiscal XML built from scratch (never copied from real files): for the demo, the benches
and the tests that must run without ../shared. The shapes follow the real layouts closely enough for
``fiscal.parsing`` to read them the way it reads SEFAZ's files."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from fiscal.parsing import key_check_digit

BRT = timezone(timedelta(hours=-3))
NFE_NS = "http://www.portalfiscal.inf.br/nfe"


def make_key(cuf: str, when: datetime, cnpj: str, model: int, series: int, number: int, tp_emis: int = 1,
             code: int = 12345678) -> str:
    first43 = f"{cuf}{when:%y%m}{cnpj}{model:02d}{series:03d}{number:09d}{tp_emis}{code:08d}"
    return first43 + str(key_check_digit(first43))


def _fmt(when: datetime) -> str:
    return when.astimezone(BRT).replace(microsecond=0).isoformat()


def nfe_xml(*, emitter_cnpj: str, emitter_name: str, recipient_doc: str | None, recipient_name: str = "",
            number: int, issued_at: datetime, total_cents: int, model: int = 55, series: int = 1,
            tp_emis: int = 1, environment: int = 1, protocol_cstat: int | None = 100,
            items: int = 1, cuf: str = "35") -> bytes:
    """An NF-e/NFC-e: an ``nfeProc`` with ``protNFe`` when ``protocol_cstat`` is given, else a bare ``NFe``."""
    key = make_key(cuf, issued_at.astimezone(BRT), emitter_cnpj, model, series, number, tp_emis)
    total = f"{total_cents // 100}.{total_cents % 100:02d}"
    dest = ""
    if recipient_doc:
        tag = "CNPJ" if len(recipient_doc) == 14 else "CPF"
        dest = f"<dest><{tag}>{recipient_doc}</{tag}><xNome>{escape(recipient_name)}</xNome></dest>"
    unit = total_cents // max(items, 1)
    det = "".join(
        f'<det nItem="{i + 1}"><prod><cProd>{i + 1}</cProd><xProd>Produto {i + 1}</xProd>'
        f"<qCom>1.0000</qCom><vUnCom>{unit / 100:.2f}</vUnCom><vProd>{unit / 100:.2f}</vProd></prod></det>"
        for i in range(items)
    )
    inf = (
        f'<infNFe versao="4.00" Id="NFe{key}"><ide><cUF>{cuf}</cUF><mod>{model}</mod><serie>{series}</serie>'
        f"<nNF>{number}</nNF><dhEmi>{_fmt(issued_at)}</dhEmi><tpEmis>{tp_emis}</tpEmis><tpAmb>{environment}</tpAmb>"
        f"</ide><emit><CNPJ>{emitter_cnpj}</CNPJ><xNome>{escape(emitter_name)}</xNome></emit>{dest}{det}"
        f"<total><ICMSTot><vProd>{total}</vProd><vNF>{total}</vNF></ICMSTot></total></infNFe>"
    )
    digest = base64.b64encode(hashlib.sha1(inf.encode()).digest()).decode()
    signature = (
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><Reference URI="#NFe'
        f'{key}"><DigestValue>{digest}</DigestValue></Reference></SignedInfo></Signature>'
    )
    note = f'<NFe xmlns="{NFE_NS}">{inf}{signature}</NFe>'
    if protocol_cstat is None:
        return ('<?xml version="1.0" encoding="UTF-8"?>' + note).encode()
    received = issued_at + timedelta(seconds=3)
    prot = (
        f'<protNFe versao="4.00"><infProt><tpAmb>{environment}</tpAmb><chNFe>{key}</chNFe>'
        f"<dhRecbto>{_fmt(received)}</dhRecbto><nProt>1{number:014d}</nProt><digVal>{digest}</digVal>"
        f"<cStat>{protocol_cstat}</cStat><xMotivo>Autorizado o uso da NF-e</xMotivo></infProt></protNFe>"
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><nfeProc versao="4.00" xmlns="{NFE_NS}">{note}{prot}</nfeProc>'.encode()


def key_of(xml: bytes) -> str:
    start = xml.index(b'Id="NFe') + 7
    return xml[start:start + 44].decode()


def cancellation_xml(key: str, registered_at: datetime, *, environment: int = 1, cstat: int = 135,
                     event_type: str = "110111", sequence: int = 1) -> bytes:
    """A ``procEventoNFe`` registering a cancellation (or another event type) of ``key``."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><procEventoNFe versao="1.00" xmlns="{NFE_NS}">'
        f'<evento versao="1.00"><infEvento Id="ID{event_type}{key}{sequence:02d}"><tpAmb>{environment}</tpAmb>'
        f"<chNFe>{key}</chNFe><dhEvento>{_fmt(registered_at)}</dhEvento><tpEvento>{event_type}</tpEvento>"
        f"<nSeqEvento>{sequence}</nSeqEvento><detEvento><descEvento>Cancelamento</descEvento></detEvento>"
        f'</infEvento></evento><retEvento versao="1.00"><infEvento><tpAmb>{environment}</tpAmb>'
        f"<cStat>{cstat}</cStat><xMotivo>Evento registrado e vinculado a NF-e</xMotivo><chNFe>{key}</chNFe>"
        f"<tpEvento>{event_type}</tpEvento><nSeqEvento>{sequence}</nSeqEvento>"
        f"<dhRegEvento>{_fmt(registered_at)}</dhRegEvento><nProt>1{sequence:014d}</nProt></infEvento>"
        "</retEvento></procEventoNFe>"
    ).encode()
