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
    address = ("<xLgr>Rua das Flores</xLgr><nro>100</nro><xBairro>Centro</xBairro><cMun>3550308</cMun>"
               "<xMun>Sao Paulo</xMun><UF>SP</UF><CEP>01001000</CEP><cPais>1058</cPais><xPais>Brasil</xPais>")
    dest = ""
    if recipient_doc:
        tag = "CNPJ" if len(recipient_doc) == 14 else "CPF"
        dest = (f"<dest><{tag}>{recipient_doc}</{tag}><xNome>{escape(recipient_name)}</xNome>"
                f"<enderDest>{address}</enderDest><indIEDest>9</indIEDest></dest>")
    cents = [total_cents // max(items, 1)] * max(items, 1)
    cents[-1] += total_cents - sum(cents)
    det = "".join(
        f'<det nItem="{i + 1}"><prod><cProd>{i + 1:04d}</cProd><cEAN>SEM GTIN</cEAN><xProd>Produto {i + 1}</xProd>'
        f"<NCM>19052090</NCM><CFOP>5102</CFOP><uCom>UN</uCom><qCom>1.0000</qCom><vUnCom>{c / 100:.2f}</vUnCom>"
        f"<vProd>{c / 100:.2f}</vProd><cEANTrib>SEM GTIN</cEANTrib><uTrib>UN</uTrib><qTrib>1.0000</qTrib>"
        f"<vUnTrib>{c / 100:.2f}</vUnTrib><indTot>1</indTot></prod><imposto><ICMS><ICMSSN102><orig>0</orig>"
        f"<CSOSN>102</CSOSN></ICMSSN102></ICMS><PIS><PISNT><CST>07</CST></PISNT></PIS><COFINS><COFINSNT>"
        f"<CST>07</CST></COFINSNT></COFINS></imposto></det>"
        for i, c in enumerate(cents)
    )
    zero = "0.00"
    tot = "".join(f"<{t}>{zero}</{t}>" for t in ("vBC", "vICMS", "vICMSDeson", "vFCP", "vBCST", "vST", "vFCPST",
                                                   "vFCPSTRet"))
    tot += f"<vProd>{total}</vProd>" + "".join(f"<{t}>{zero}</{t}>" for t in (
        "vFrete", "vSeg", "vDesc", "vII", "vIPI", "vIPIDevol", "vPIS", "vCOFINS", "vOutro")) + f"<vNF>{total}</vNF>"
    inf = (
        f'<infNFe versao="4.00" Id="NFe{key}"><ide><cUF>{cuf}</cUF><cNF>12345678</cNF><natOp>Venda</natOp>'
        f"<mod>{model}</mod><serie>{series}</serie><nNF>{number}</nNF><dhEmi>{_fmt(issued_at)}</dhEmi>"
        f"<dhSaiEnt>{_fmt(issued_at)}</dhSaiEnt><tpNF>1</tpNF><idDest>1</idDest><cMunFG>3550308</cMunFG>"
        f"<tpImp>{4 if model == 65 else 1}</tpImp><tpEmis>{tp_emis}</tpEmis><cDV>{key[-1]}</cDV>"
        f"<tpAmb>{environment}</tpAmb><finNFe>1</finNFe><indFinal>1</indFinal><indPres>1</indPres>"
        f"<procEmi>0</procEmi><verProc>Revenda demo 1.0</verProc></ide>"
        f"<emit><CNPJ>{emitter_cnpj}</CNPJ><xNome>{escape(emitter_name)}</xNome><enderEmit>{address}"
        f"<fone>1133334444</fone></enderEmit><IE>111111111111</IE><CRT>1</CRT></emit>{dest}{det}"
        f"<total><ICMSTot>{tot}</ICMSTot></total><transp><modFrete>9</modFrete></transp>"
        f"<pag><detPag><tPag>01</tPag><vPag>{total}</vPag></detPag></pag>"
        f"<infAdic><infCpl>Documento gerado para demonstração.</infCpl></infAdic></infNFe>"
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
