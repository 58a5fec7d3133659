"""Strict, hardened reading of fiscal XML (NF-e 55, NFC-e 65, CT-e 57, CT-e OS 67) and their events.

Pure functions over bytes: no database, no Flask. ``parse_fiscal_xml(data)`` answers a ``ParsedFile``
holding the notes, the SEFAZ protocols and the events the file carries, or raises ``FiscalParseError``
with a code and a Portuguese message naming why the file is refused.

The shapes are those of ../shared/FISCAL.md: ``nfeProc``/``cteProc`` (note + protocol), a bare
``NFe``/``CTe`` (no protocol: draft, rejection or contingency), ``procEventoNFe``/``retEnvEvento``
(events), ``nfeProc`` with a ``retEvento`` appended, legacy ``procCancNFe``, SEFAZ answers
(``retConsReciNFe``, ``retEnviNFe``) that carry a protocol, batches (``enviNFe``) and SOAP envelopes
around any of them. Elements are found by namespace + local name, so a wrapper never hides a note.
"""

from __future__ import annotations

import functools
import operator
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from lxml import etree

MAX_BYTES = 1024 * 1024  # SEFAZ caps a note at 500 KB; 1 MB per file is a safe limit
NFE_NS = "http://www.portalfiscal.inf.br/nfe"
CTE_NS = "http://www.portalfiscal.inf.br/cte"
FISCAL_NAMESPACES = (NFE_NS, CTE_NS)
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


def N_(text: str) -> str:
    """Marks a fixed refusal for pybabel (``N_`` is one of its default keywords) and returns it as it is:
    this module is Flask-free, so it is translated where it is shown (``fiscal.services.refusal_message``)."""
    return text


KNOWN_OTHER_DOCUMENTS = {
    "http://www.portalfiscal.inf.br/mdfe": "MDF-e",
    "http://www.portalfiscal.inf.br/bpe": "BP-e",
    "http://www.portalfiscal.inf.br/nf3e": "NF3-e",
    "http://www.portalfiscal.inf.br/nfcom": "NFCom",
}
SUPPORTED_MODELS = {55: "NF-e", 65: "NFC-e", 57: "CT-e", 67: "CT-e OS"}
KEY_RE = re.compile(r"^[0-9]{6}[0-9A-Z]{14}[0-9]{24}$")

_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    recover=False, remove_comments=True, remove_pis=True, collect_ids=False,
)


_local_parsers = threading.local()


class FiscalParseError(ValueError):
    """A file refused, with a stable ``code`` and a Portuguese ``message`` for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Party(NamedTuple):  # (a NamedTuple: made for every party of every note, at half a frozen dataclass's cost)
    doc: str  # CNPJ (possibly alphanumeric, 2026 format), CPF or foreign id, as text
    name: str


class Protocol(NamedTuple):
    key: str
    cstat: int
    number: str
    received_at: datetime | None
    digest: str  # digVal
    environment: int
    reason: str = ""


class Event(NamedTuple):
    key: str
    type: str  # tpEvento, e.g. "110111"
    sequence: int
    cstat: int | None  # None: an event request never registered by SEFAZ
    registered_at: datetime | None
    environment: int
    protocol_number: str = ""
    legacy: bool = False  # layout 2.00 procCancNFe / retCancNFe

    @property
    def model(self) -> int:
        return int(self.key[20:22])


@dataclass
class Note:
    key: str
    model: int
    series: int
    number: int
    issued_at: datetime
    tp_emis: int
    environment: int
    emitter: Party
    recipient: Party | None
    total_cents: int
    version: str
    parties: dict[str, Party] = field(default_factory=dict)  # role -> party (CT-e roles; NF-e emit/dest)
    protocol: Protocol | None = None
    signature_digest: str | None = None

    @property
    def signature_status(self) -> str:
        """The cheap check: the protocol's digVal equals the signature's DigestValue."""
        if not self.signature_digest:
            return "unsigned"
        if self.protocol is None or not self.protocol.digest:
            return "no_protocol"
        return "valid" if self.protocol.digest == self.signature_digest else "mismatch"

    def party_docs(self) -> set[str]:
        return {p.doc for p in self.parties.values() if p.doc}


@dataclass
class ParsedFile:
    root: str
    notes: list[Note] = field(default_factory=list)
    protocols: list[Protocol] = field(default_factory=list)  # protocols whose note is not in the file
    events: list[Event] = field(default_factory=list)


# -- access keys -------------------------------------------------------------------------------------


_KEY_WEIGHTS = tuple(2 + (42 - i) % 8 for i in range(43))  # position i of the first 43, weights 2..9 from the right
_KEY_OFFSET = 48 * sum(_KEY_WEIGHTS)


def key_check_digit(first43: str) -> int:
    """Mod 11 with weights 2..9 from the right; letters (alphanumeric CNPJ) count as ord(c) - 48."""
    if len(first43) == 43 and first43.isascii():  # the keys that reach here: one C-level pass over the bytes
        total = sum(map(operator.mul, _KEY_WEIGHTS, first43.encode())) - _KEY_OFFSET
    else:
        total, weight = 0, 2
        for char in reversed(first43):
            total += (ord(char) - 48) * weight
            weight = 2 if weight == 9 else weight + 1
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def valid_key(key: str) -> bool:
    return bool(KEY_RE.match(key)) and key_check_digit(key[:43]) == int(key[43])


def _checked_key(key: str) -> str:
    if not KEY_RE.match(key or ""):
        raise FiscalParseError(
            "invalid_key", f"A chave de acesso “{(key or '')[:60]}” não tem o formato de 44 caracteres de uma chave."
        )
    if key_check_digit(key[:43]) != int(key[43]):
        raise FiscalParseError("invalid_key", f"A chave de acesso {key} tem o dígito verificador errado.")
    return key


# -- reading helpers ---------------------------------------------------------------------------------


def _local(element) -> str:
    tag = element.tag
    return tag[tag.find("}") + 1:] if isinstance(tag, str) else ""


def _ns(element) -> str:
    tag = element.tag
    return tag[1:tag.find("}")] if isinstance(tag, str) and tag.startswith("{") else ""


@functools.lru_cache(maxsize=64)
def _tags(*names: str) -> tuple[str, ...]:
    """Qualified tag names in the fiscal namespaces and without one, for lxml's C-level ``iter``."""
    return tuple(f"{{{ns}}}{name}" if ns else name for name in names for ns in (*FISCAL_NAMESPACES, ""))


_PATHS: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}


def _paths(namespace: str, path: tuple[str, ...]) -> tuple[str, str]:
    """(the path in the element's own namespace, the same path in any namespace), cached for the fiscal
    namespaces only (a file's made-up namespace must not grow the cache)."""
    found = _PATHS.get((namespace, path))
    if found is None:
        found = ("/".join(f"{{{namespace}}}{name}" if namespace else name for name in path),
                 "/".join("{*}" + name for name in path))
        if namespace in FISCAL_NAMESPACES or not namespace:
            _PATHS[(namespace, path)] = found
    return found


def _child(element, *path):
    """The first descendant along ``path`` by local name: looked up in the element's own namespace first
    (the common case, and the fastest lookup lxml has), then in any namespace (lxml's C-level ``{*}``)."""
    if element is None:
        return None
    tag = element.tag
    namespace = tag[1:tag.find("}")] if isinstance(tag, str) and tag[:1] == "{" else ""
    exact, anywhere = _paths(namespace, path)
    found = element.find(exact)
    return element.find(anywhere) if found is None else found


_QUALIFIED: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], dict[str, str]]] = {}


def _kids(element, names: tuple[str, ...]) -> dict:
    """The first child element of each of ``names``, in one C-level pass over the children (lxml builds a
    Python object only for the matches): what ``_child(element, name)`` answers, for a group read field by
    field (ide, emit, infProt). Children are looked for in the element's namespace, and in any namespace
    when none is there (a file that writes them unqualified)."""
    found: dict = {}
    if element is None:
        return found
    tag = element.tag
    namespace = tag[1:tag.find("}")] if isinstance(tag, str) and tag[:1] == "{" else ""
    known = _QUALIFIED.get((namespace, names))
    if known is None:
        qualified = tuple(f"{{{namespace}}}{name}" if namespace else name for name in names)
        known = (qualified, dict(zip(qualified, names, strict=True)))
        if namespace in FISCAL_NAMESPACES or not namespace:
            _QUALIFIED[(namespace, names)] = known
    qualified, local_names = known
    for child in element.iterchildren(*qualified):
        name = local_names[child.tag]
        if name not in found:
            found[name] = child
    if not found:
        wanted = set(names)
        for child in element:
            child_tag = child.tag
            if isinstance(child_tag, str) and child_tag[child_tag.find("}") + 1:] in wanted:
                found.setdefault(child_tag[child_tag.find("}") + 1:], child)
    return found


def _kid(element, name: str):
    """The first child ``name`` (as ``_kids``), or None."""
    return _kids(element, (name,)).get(name)


_PARTY = ("CNPJ", "CPF", "idEstrangeiro", "xNome")
_PROTOCOL = ("chNFe", "chCTe", "cStat", "nProt", "dhRecbto", "digVal", "tpAmb", "xMotivo")
_BODY = ("ide", "emit", "dest", "total")
_IDE = ("mod", "serie", "nNF", "nCT", "dhEmi", "dEmi", "tpEmis", "tpAmb")


def _texts(element, names: tuple[str, ...]) -> dict[str, str]:
    """The stripped text of the first child of each of ``names`` (found as ``_kids`` finds them); a child without
    text is left out, so ``.get(name, default)`` answers the default for it as for a missing one (a child
    holding only spaces answers "")."""
    return {name: child.text.strip() for name, child in _kids(element, names).items() if child.text is not None}


def _text(element, *path, default: str = "") -> str:
    found = _child(element, *path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def _first_text(element, *paths) -> str:
    for path in paths:
        value = _text(element, *path)
        if value:
            return value
    return ""


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FiscalParseError("invalid_field", f"O campo {what} tem um valor inválido: “{(value or '')[:40]}”.")


def _cents(value: str, what: str) -> int:
    whole, dot, fraction = value.partition(".")  # the common "1234.56": integers only, as Decimal would round it
    if (0 < len(whole) <= 13 and len(fraction) <= 2 and (fraction or not dot) and whole.isascii()
            and whole.isdigit() and (not fraction or (fraction.isascii() and fraction.isdigit()))):
        return int(whole) * 100 + (int(fraction) * (10 if len(fraction) == 1 else 1) if fraction else 0)
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise FiscalParseError("invalid_field", f"O campo {what} tem um valor inválido: “{(value or '')[:40]}”.")
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e13"):
        raise FiscalParseError("invalid_field", f"O campo {what} tem um valor fora do intervalo: “{value[:40]}”.")
    return int((amount * 100).quantize(Decimal("1")))


def _datetime(value: str) -> datetime | None:
    """ISO date-times as SEFAZ writes them (with or without offset; a date alone in layout 2.00), in UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:  # layout 2.00 / old CT-e: local time of Brasília
        from datetime import timedelta, timezone

        parsed = parsed.replace(tzinfo=timezone(timedelta(hours=-3)))
    return parsed.astimezone(UTC)


def _party(element) -> Party | None:
    if element is None:
        return None
    texts = _texts(element, _PARTY)
    get = texts.get
    doc = get("CNPJ") or get("CPF") or get("idEstrangeiro") or ""
    return Party(doc=doc.upper(), name=get("xNome", ""))


# -- the parse ---------------------------------------------------------------------------------------


def _markup_in_prolog(data: bytes) -> bool:
    """Whether a ``<!`` (a DOCTYPE, a comment) comes before the root element: where a DOCTYPE, and the entities it
    declares, can be. After the root a DOCTYPE is a syntax error the parser refuses; after the parse
    ``docinfo.doctype`` is checked anyway. Looking only there spares a scan of the whole file."""
    at = data.find(b"<")
    while at >= 0:
        kind = data[at + 1:at + 2]
        if kind == b"!":
            return True
        if kind != b"?":
            return False  # the root element
        end = data.find(b"?>", at + 2)
        if end < 0:
            return False  # an XML declaration never closed: the parser says so
        at = data.find(b"<", end + 2)
    return False


def _parse_tree(data: bytes):
    if len(data) > MAX_BYTES:
        raise FiscalParseError("too_large", N_("O arquivo passa de 1 MB, o limite por documento fiscal."))
    if not data.strip():
        raise FiscalParseError("empty", N_("O arquivo está vazio."))
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head != b"<":
        raise FiscalParseError("not_xml", N_("O arquivo não é um XML."))
    if _markup_in_prolog(data) and (b"<!DOCTYPE" in data or b"<!ENTITY" in data or b"<!doctype" in data):
        raise FiscalParseError("doctype", N_("O XML contém DOCTYPE ou entidades, que um documento fiscal nunca tem."))
    parser = getattr(_local_parsers, "parser", None)
    if parser is None:  # one parser per thread, reused (lxml parsers are not shared between threads)
        parser = _local_parsers.parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:  # the common case: one C-level parse
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        root = _classify_failure(data)
    if root.getroottree().docinfo.doctype:
        raise FiscalParseError("doctype", N_("O XML contém DOCTYPE ou entidades, que um documento fiscal nunca tem."))
    return root


def _classify_failure(data: bytes):
    """Push parsing tells a file cut short (the parser still waits for more at the end) from broken markup."""
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        parser.feed(data)
    except (etree.XMLSyntaxError, ValueError):
        raise FiscalParseError("malformed", N_("O XML está malformado e não pôde ser lido."))
    try:
        root = parser.close()
    except etree.XMLSyntaxError:
        raise FiscalParseError("truncated", N_("O XML está incompleto (o arquivo termina antes do fim do documento)."))
    return root


def parse_fiscal_xml(data: bytes) -> ParsedFile:
    """Read one file; raise FiscalParseError with the reason when it is not a usable fiscal document."""
    root = _parse_tree(data)
    namespace = _ns(root)
    if namespace in KNOWN_OTHER_DOCUMENTS:
        label = KNOWN_OTHER_DOCUMENTS[namespace]
        raise FiscalParseError("unsupported", f"{label} não é suportado: envie NF-e, NFC-e ou CT-e.")
    result = ParsedFile(root=_local(root))
    found: dict[str, list] = {"infNFe": [], "infCte": [], "infProt": [], "infEvento": [], "infCanc": []}
    bodies = []
    for element in root.iter(*_tags(*found)):  # one pass over the tree for every group read below
        tag = element.tag
        name = tag[tag.find("}") + 1:]
        if name in ("infNFe", "infCte"):
            parent = element.getparent()
            if parent is not None and _local(parent) in ("NFe", "CTe", "CTeOS"):
                bodies.append(element)
        else:
            found[name].append(element)
    protocols = [_protocol(e) for e in found["infProt"]]
    protocols = [p for p in protocols if p is not None]
    by_key = {p.key: p for p in protocols}
    for body in bodies:
        note = _note(body)
        protocol = by_key.pop(note.key, None)
        if protocol is None and len(bodies) == 1 and len(by_key) == 1:
            other = next(iter(by_key))
            raise FiscalParseError(
                "key_mismatch", f"A chave da nota ({note.key}) difere da chave do protocolo ({other})."
            )
        note.protocol = protocol
        result.notes.append(note)
    for protocol in by_key.values():
        _checked_key(protocol.key)
        result.protocols.append(protocol)
    result.events.extend(_events(found["infEvento"], found["infCanc"]))
    if not result.notes and not result.protocols and not result.events:
        if any(_ns(e) in FISCAL_NAMESPACES for e in root.iter(etree.Element)):
            raise FiscalParseError(
                "no_document", N_("O XML é do leiaute fiscal, mas não traz nota, protocolo nem evento registrado.")
            )
        raise FiscalParseError("not_fiscal", N_("O XML não é um documento fiscal (NF-e, NFC-e ou CT-e)."))
    return result


def _protocol(info) -> Protocol | None:
    texts = _texts(info, _PROTOCOL)
    get = texts.get
    key = get("chNFe") or get("chCTe")
    if not key:
        return None
    cstat = get("cStat", "")
    return Protocol(
        key=key.upper(), cstat=_int(cstat, "cStat do protocolo"), number=get("nProt", ""),
        received_at=_datetime(get("dhRecbto", "")), digest=get("digVal", ""),
        environment=_int(get("tpAmb", "1"), "tpAmb do protocolo"), reason=get("xMotivo", ""),
    )


def _note(body) -> Note:
    is_cte = _local(body) == "infCte"
    key = (body.get("Id") or "").strip().upper()
    for prefix in ("NFE", "CTE"):  # the Id is the key behind its document's prefix (NFe…, CTe…)
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    key = _checked_key(key)
    body_kids = _kids(body, _BODY)
    ide = body_kids.get("ide")
    if ide is None:
        raise FiscalParseError("invalid_field", N_("O documento não tem o grupo ide (identificação)."))
    ide_texts = _texts(ide, _IDE)
    ide_get = ide_texts.get
    model = _int(ide_get("mod", ""), "modelo (mod)")
    if model not in SUPPORTED_MODELS:
        raise FiscalParseError("unsupported", f"O modelo {model} não é suportado: envie NF-e, NFC-e ou CT-e.")
    if str(model) != key[20:22]:
        raise FiscalParseError("key_mismatch", f"O modelo {model} difere do modelo da chave ({key[20:22]}).")
    issued_at = _datetime(ide_get("dhEmi", "") or ide_get("dEmi", ""))
    if issued_at is None:
        raise FiscalParseError("invalid_field", N_("O documento não tem data de emissão válida (dhEmi)."))
    emitter = _party(body_kids.get("emit"))
    if emitter is None or not emitter.doc:
        raise FiscalParseError("invalid_field", N_("O documento não tem emitente (emit)."))
    parties = {"emitente": emitter}
    if is_cte:
        recipient = _cte_parties(body, ide, parties)
        total = _text(body, "vPrest", "vTPrest")
        number = ide_get("nCT", "")
    else:
        recipient = _party(body_kids.get("dest"))
        if recipient is not None:
            parties["destinatario"] = recipient
        vnf = _kid(_kid(body_kids.get("total"), "ICMSTot"), "vNF")
        total = (vnf.text or "").strip() if vnf is not None else ""
        number = ide_get("nNF", "")
    if not total:
        raise FiscalParseError("invalid_field", N_("O documento não tem valor total."))
    signature = body.getparent()
    digest = None
    if signature is not None:
        sig = next(signature.iterchildren(f"{{{DSIG_NS}}}Signature"), None)
        if sig is None:  # a signature written without its namespace
            sig = next((e for e in signature if _local(e) == "Signature"), None)
        if sig is not None:
            found = next(sig.iter(f"{{{DSIG_NS}}}DigestValue", "DigestValue"), None)
            digest = (found.text or "").strip() if found is not None else None
    return Note(
        key=key, model=model, series=_int(ide_get("serie", ""), "série"), number=_int(number, "número"),
        issued_at=issued_at, tp_emis=_int(ide_get("tpEmis", "1"), "tpEmis"),
        environment=_int(ide_get("tpAmb", "1"), "tpAmb"), emitter=emitter, recipient=recipient,
        total_cents=_cents(total, "valor total"), version=body.get("versao", ""), parties=parties,
        signature_digest=digest,
    )


CTE_ROLES = {"rem": "remetente", "dest": "destinatario", "exped": "expedidor", "receb": "recebedor"}
TOMA_CODES = {"0": "remetente", "1": "expedidor", "2": "recebedor", "3": "destinatario"}


def _cte_parties(body, ide, parties: dict) -> Party | None:
    for tag, role in CTE_ROLES.items():
        party = _party(_child(body, tag))
        if party is not None and party.doc:
            parties[role] = party
    toma4 = _child(ide, "toma4") or _child(body, "toma")  # CT-e: ide/toma4; CT-e OS: infCte/toma
    if toma4 is not None and _child(toma4, "toma") is None and _first_text(toma4, ("CNPJ",), ("CPF",)):
        parties["tomador"] = _party(toma4)
    else:
        code = _first_text(ide, ("toma3", "toma"), ("toma03", "toma"), ("toma4", "toma"))
        if code in TOMA_CODES and TOMA_CODES[code] in parties:
            parties["tomador"] = parties[TOMA_CODES[code]]
    return parties.get("destinatario") or parties.get("tomador")


def _events(infos: list, cancellations: list) -> list[Event]:
    """Registered events (with SEFAZ's answer) and legacy cancellations, from the file's infEvento and infCanc
    elements; a bare request has no cStat."""
    events: list[Event] = []
    seen: set[tuple] = set()
    for info in infos:
        parent = info.getparent()
        answer = parent is not None and _local(parent) == "retEvento"
        if not answer:
            continue  # the request half of a procEventoNFe; its retEvento carries the registration
        key = _first_text(info, ("chNFe",), ("chCTe",)).upper()
        if not key:
            continue
        cstat = _int(_text(info, "cStat"), "cStat do evento")
        request = _request_for(parent)
        event_type = _text(info, "tpEvento") or (_text(request, "tpEvento") if request is not None else "")
        sequence = _text(info, "nSeqEvento") or (_text(request, "nSeqEvento") if request is not None else "1")
        event = Event(
            key=key, type=event_type, sequence=_int(sequence or "1", "nSeqEvento"), cstat=cstat,
            registered_at=_datetime(_text(info, "dhRegEvento")),
            environment=_int(_text(info, "tpAmb", default="1"), "tpAmb do evento"),
            protocol_number=_text(info, "nProt"),
        )
        identity = (event.key, event.type, event.sequence)
        if identity not in seen:
            seen.add(identity)
            events.append(event)
    for info in cancellations:
        key = _first_text(info, ("chNFe",), ("chCTe",)).upper()
        if not key or not _text(info, "cStat"):
            continue
        events.append(Event(
            key=key, type="110111", sequence=1, cstat=_int(_text(info, "cStat"), "cStat"),
            registered_at=_datetime(_text(info, "dhRecbto")), environment=_int(_text(info, "tpAmb", default="1"), "tpAmb"),
            protocol_number=_text(info, "nProt"), legacy=True,
        ))
    if not events and infos:
        raise FiscalParseError(
            "event_request", N_("É um pedido de evento sem o retorno da SEFAZ: envie o XML do evento registrado.")
        )
    for event in events:
        _checked_key(event.key)
    return events


def _request_for(ret_evento):
    """The evento element beside a retEvento in a procEventoNFe, when present."""
    parent = ret_evento.getparent()
    if parent is None:
        return None
    evento = next((e for e in parent if isinstance(e.tag, str) and _local(e) == "evento"), None)
    return _child(evento, "infEvento") if evento is not None else None


def direction_for(note: Note, client_doc: str) -> tuple[str, str] | None:
    """("issued", "emitente") when the client emitted the note; ("received", role) when it is another
    party (NF-e recipient; CT-e remetente, destinatário, expedidor, recebedor or tomador); None when
    the note's parties do not include the client. Documents compare as text (alphanumeric CNPJ)."""
    doc = (client_doc or "").strip().upper()
    if not doc:
        return None
    if note.emitter.doc == doc:
        return ("issued", "emitente")
    for role in ("destinatario", "tomador", "remetente", "expedidor", "recebedor"):
        party = note.parties.get(role)
        if party is not None and party.doc == doc:
            return ("received", role)
    return None


@dataclass(frozen=True)
class Item:
    number: int
    code: str
    description: str
    quantity: str
    unit: str
    unit_cents: int
    total_cents: int


def note_items(data: bytes, limit: int = 990) -> list[Item]:
    """The products of an NF-e / NFC-e (``det/prod``), read from its stored bytes for the note screen;
    [] for a CT-e, a file that is only a protocol, or anything that does not read."""
    try:
        root = _parse_tree(data)
    except FiscalParseError:
        return []
    items = []
    for det in root.iter(*_tags("det")):
        prod = _child(det, "prod")
        if prod is None:
            continue
        try:
            unit, total = _cents(_text(prod, "vUnCom") or "0", "vUnCom"), _cents(_text(prod, "vProd") or "0", "vProd")
        except FiscalParseError:
            unit = total = 0
        number = det.get("nItem", "")
        items.append(Item(number=int(number) if number.isdigit() else len(items) + 1, code=_text(prod, "cProd"),
                          description=_text(prod, "xProd")[:200], quantity=_text(prod, "qCom"),
                          unit=_text(prod, "uCom"), unit_cents=unit, total_cents=total))
        if len(items) >= limit:
            break
    return items
