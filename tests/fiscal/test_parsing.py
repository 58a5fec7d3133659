"""fiscal.parsing and fiscal.status: every real file of ../shared/fixtures/fiscal read or refused with
its reason, and the same behaviours on notes the project generates itself (fiscal.synth)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fiscal.parsing import MAX_BYTES, FiscalParseError, direction_for, key_check_digit, parse_fiscal_xml, valid_key
from fiscal.status import DocumentStatus, derive_status
from fiscal.synth import cancellation_xml, key_of, make_key, nfe_xml
from tests.shared_fixtures import SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "fiscal"
needs_shared = pytest.mark.shared_fixtures  # skipped with one line in a plain clone; CI requires them


def status_of(parsed, note):
    events = [(e.type, e.cstat) for e in parsed.events if e.key == note.key and e.environment == note.environment]
    return derive_status(note.model, note.tp_emis, note.protocol.cstat if note.protocol else None, events)


# file -> (client document, model, status, direction, total in centavos)
NOTES = {
    "cancelled/sped-common__11101284613439000180550010000004881093997017-nfeCancNFe.xml":
        ("04428897000100", 55, "cancelled", "received", 54000),
    "cancelled/sped-da__24210231626841000132570010000007811746401259.xml":
        ("31626841000132", 57, "cancelled", "issued", 484042),
    "cancelled/sped-da__cancelada_55_new.xml": ("58716523000119", 55, "cancelled", "issued", 58155),
    # its appended cancellation belongs to a different NF-e: the note stays authorized
    "cancelled/sped-da__mod55-nfe_1.xml": ("00822602000124", 55, "authorized", "issued", 68991),
    "cancelled/sped-da__nfce112_1.xml": ("23285089000185", 65, "cancelled", "issued", 3000),
    "cte/nfephp-legacy__35121268252816000146570010000016161002008470-procCte.xml":
        ("85782878000855", 57, "authorized", "received", 111835),
    "cte/sped-da__cteos_cte_hom_com_prot.xml": ("10776992000105", 67, "authorized", "issued", 10000),
    "negative/sped-common__2017signedDigestFail.xml": ("58716523000119", 55, "not_a_document", "issued", 1946630),
    "nfce/nfelib__nfce_contingencia.xml": ("00000000000100", 65, "contingency", "issued", 1500),
    "nfce/sped-da__NFCeHom2.xml": ("10422724000187", 65, "authorized", "issued", 150000),
    "nfce/sped-da__NFCeProd2.xml": ("10422724000187", 65, "authorized", "issued", 4200),
    "nfce/sped-da__nfce112_2.xml": ("10422724000187", 65, "authorized", "received", 3000),  # cStat 150
    "nfe/brazilfiscalreport__danfe_cnpj_alfanumerico.xml": ("XT9CDVWJ000172", 55, "not_a_document", "issued", 195000),
    "nfe/brazilfiscalreport__nfe_with_production_environment.xml":
        ("76586507812", 55, "authorized", "received", 195000),
    "nfe/java-nfe__IbsCbs.xml": ("56558703000275", 55, "not_a_document", "received", 10300),
    "nfe/nfelib__35180834128745000152550010000474491454651420-nfe.xml":
        ("34128745000152", 55, "authorized", "issued", 17301),
    "nfe/nfelib__41170706117473000150550010000463202612756525-procNFe.xml":
        ("27373722000148", 55, "authorized", "received", 8490),
    "nfe/nfelib__NFe35200159594315000157550010000000012062777161.xml":
        ("59594315000157", 55, "not_a_document", "issued", 1400),
    "nfe/pytrustnfe__NFe00000857.xml": ("21332917000163", 55, "authorized", "issued", 365726),
    "nfe/sped-da__mod55-nfe_3.xml": ("00822602000124", 55, "contingency", "issued", 68991),  # EPEC, no protocol
    "nfe/sped-nfe__2017protocoled.xml": ("02536490000170", 55, "authorized", "received", 1946630),
    "nfe/sped-nfe__nfe_epec.xml": ("52567322000119", 55, "contingency", "issued", 1500),
    "nfe/uninfe__33180702414602000110550010007020011000212025-procNFe.xml":
        ("02414602000110", 55, "authorized", "issued", 10000),
    "nfe/uninfe__41141106117473000150550010000273014514751875-procNFe.xml":
        ("09237828000132", 55, "authorized", "received", 5990),  # EPEC later authorized
}
# file -> (key, status of the protocol alone or event type and cStat)
PROTOCOLS_ONLY = {
    "denied/oca-l10n-brazil__retConsReciNFe_uso_denegado.xml": ("33230807984267003800650040000000321935136447", 303),
    "denied/oca-l10n-brazil__retEnviNFe_denegada.xml": ("33230807984267003800650040000000321935136447", 302),
}
EVENTS_ONLY = {
    "events/oca-l10n-brazil__retEnvEvento_nfce_cancelamento.xml":
        ("33230807984267003800650040000000321935136447", "110111", 135),
    "events/sped-common__11101284613439000180550010000004881093997017-retEvento.xml":
        ("11101284613439000180550010000004881093997017", "110111", 135),
    "events/uninfe__41141106117473000150550010000272984914751921_110140_01-procEventoNFe.xml":
        ("41141106117473000150550010000272984914751921", "110140", 136),
}
REFUSED = {
    "cte/brazilfiscalreport__dacte_cnpj_alfanumerico.xml": ("invalid_key", "dígito verificador"),
    "cte/nfelib__35190602427026001207570040000522031000522035-cte-multimodal.xml": ("invalid_key", "dígito"),
    "events/brazilfiscalreport__xml_cce_1.xml": ("invalid_key", "dígito verificador"),
    "events/sped-nfe__exemplo_xml_sefazCancela.xml": ("event_request", "pedido de evento"),
    "events/uninfe__canc1101103511031029073900013955001000000001105112804101-ped-eve.xml":
        ("event_request", "retorno da SEFAZ"),
    "negative/nfelib__41190876676436000167580010000500001000437558-mdfe.xml": ("unsupported", "MDF-e não é suportado"),
    "negative/sped-common__forbidden.xml": ("not_xml", "não é um XML"),
    "negative/sped-cte__cte_v4.00.xml": ("invalid_key", "formato"),
    "nfce/sped-nfe__nfce_com_qrcode.xml": ("invalid_key", "dígito verificador"),
    "nfce/uninfe__download-danfe-procNFe.xml": ("invalid_key", "dígito verificador"),
    "nfe/sped-da__mod55-nfe-veiculo.xml": ("invalid_key", "dígito verificador"),
    "nfe/sped-da__nfe.xml": ("key_mismatch", "difere da chave do protocolo"),
}


@needs_shared
def test_the_table_covers_every_fixture():
    files = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.xml")}
    assert files == set(NOTES) | set(PROTOCOLS_ONLY) | set(EVENTS_ONLY) | set(REFUSED)


@needs_shared
@pytest.mark.parametrize("name", sorted(NOTES))
def test_real_notes_are_read_with_model_status_direction_and_total(name):
    client_doc, model, status, direction, total = NOTES[name]
    parsed = parse_fiscal_xml((FIXTURES / name).read_bytes())
    assert len(parsed.notes) == 1
    note = parsed.notes[0]
    assert valid_key(note.key)
    assert (note.model, status_of(parsed, note), note.total_cents) == (model, status, total)
    assert direction_for(note, client_doc)[0] == direction
    assert direction_for(note, "11222333000181") is None  # not this client's document
    assert note.issued_at.tzinfo is not None


@needs_shared
@pytest.mark.parametrize("name", sorted(PROTOCOLS_ONLY))
def test_sefaz_answers_carry_a_denied_protocol(name):
    key, cstat = PROTOCOLS_ONLY[name]
    parsed = parse_fiscal_xml((FIXTURES / name).read_bytes())
    assert parsed.notes == [] and [(p.key, p.cstat) for p in parsed.protocols] == [(key, cstat)]
    assert derive_status(int(key[20:22]), 1, cstat) == DocumentStatus.DENIED


@needs_shared
@pytest.mark.parametrize("name", sorted(EVENTS_ONLY))
def test_registered_events_are_read_on_their_own(name):
    key, event_type, cstat = EVENTS_ONLY[name]
    parsed = parse_fiscal_xml((FIXTURES / name).read_bytes())
    assert parsed.notes == [] and [(e.key, e.type, e.cstat) for e in parsed.events] == [(key, event_type, cstat)]
    assert parsed.events[0].registered_at is not None


@needs_shared
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_negative_files_are_refused_with_their_reason(name):
    code, words = REFUSED[name]
    with pytest.raises(FiscalParseError) as refused:
        parse_fiscal_xml((FIXTURES / name).read_bytes())
    assert refused.value.code == code
    assert words in refused.value.message


@needs_shared
def test_signature_digest_is_compared_with_the_protocol():
    parsed = parse_fiscal_xml((FIXTURES / "nfe/sped-nfe__2017protocoled.xml").read_bytes())
    assert parsed.notes[0].signature_status == "valid"
    bare = parse_fiscal_xml((FIXTURES / "negative/sped-common__2017signedDigestFail.xml").read_bytes())
    assert bare.notes[0].signature_status == "no_protocol"


# -- the same behaviours on generated notes (no ../shared needed) -----------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)
SELLER, BUYER = "11222333000181", "45723174000110"


def sample(**overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria Pão Quente", recipient_doc=BUYER,
                  recipient_name="Mercado Árvore", number=42, issued_at=NOW - timedelta(days=2), total_cents=123456)
    values.update(overrides)
    return nfe_xml(**values)


def test_generated_authorized_note_is_read():
    parsed = parse_fiscal_xml(sample())
    note = parsed.notes[0]
    assert (note.model, note.series, note.number, note.total_cents, note.environment) == (55, 1, 42, 123456, 1)
    assert note.issued_at == NOW - timedelta(days=2)
    assert status_of(parsed, note) == DocumentStatus.AUTHORIZED
    assert note.signature_status == "valid"
    assert direction_for(note, SELLER) == ("issued", "emitente")
    assert direction_for(note, BUYER) == ("received", "destinatario")
    assert direction_for(note, "") is None


@pytest.mark.parametrize(("cstat", "status"), [(100, "authorized"), (150, "authorized"), (110, "denied"),
                                               (302, "denied"), (101, "cancelled"), (204, "not_a_document")])
def test_protocol_codes_give_the_status(cstat, status):
    parsed = parse_fiscal_xml(sample(protocol_cstat=cstat))
    assert status_of(parsed, parsed.notes[0]) == status


@pytest.mark.parametrize(("tp_emis", "status"), [(1, "not_a_document"), (3, "not_a_document"), (9, "contingency"),
                                                 (4, "contingency"), (2, "contingency"), (6, "not_a_document")])
def test_notes_without_protocol_are_contingency_only_when_issued_offline(tp_emis, status):
    parsed = parse_fiscal_xml(sample(protocol_cstat=None, tp_emis=tp_emis, model=65))
    assert status_of(parsed, parsed.notes[0]) == status


def test_a_cancellation_event_cancels_an_authorized_note_and_136_does_not():
    note = sample()
    key = key_of(note)
    event = parse_fiscal_xml(cancellation_xml(key, NOW)).events[0]
    assert (event.key, event.type, event.cstat, event.sequence) == (key, "110111", 135, 1)
    assert derive_status(55, 1, 100, [(event.type, event.cstat)]) == DocumentStatus.CANCELLED
    assert derive_status(55, 1, 100, [("110111", 136)]) == DocumentStatus.AUTHORIZED
    assert derive_status(55, 1, 100, [("110110", 135)]) == DocumentStatus.AUTHORIZED  # a CC-e
    assert derive_status(65, 1, 100, [("110112", 155)]) == DocumentStatus.CANCELLED
    assert derive_status(55, 1, 110, [("110111", 135)]) == DocumentStatus.CANCELLED  # cancelled > denied


def test_key_check_digit_including_the_alphanumeric_cnpj():
    key = make_key("35", NOW, "12ABC34501DE35", 55, 1, 7)
    assert valid_key(key) and key[6:20] == "12ABC34501DE35"
    wrong = key[:43] + str((int(key[43]) + 1) % 10)
    assert not valid_key(wrong)
    assert key_check_digit("5206043300991100250655012000000780026730161") == 5  # a published example
    parsed = parse_fiscal_xml(sample(emitter_cnpj="12ABC34501DE35"))
    assert direction_for(parsed.notes[0], "12abc34501de35") == ("issued", "emitente")


def test_a_wrong_check_digit_is_refused():
    xml = sample()
    key = key_of(xml)
    broken = xml.replace(key.encode(), (key[:43] + str((int(key[43]) + 1) % 10)).encode())
    with pytest.raises(FiscalParseError, match="dígito verificador") as refused:
        parse_fiscal_xml(broken)
    assert refused.value.code == "invalid_key"


def test_a_key_that_differs_from_the_protocol_is_refused():
    xml = sample()
    key = key_of(xml)
    other = make_key("35", NOW, SELLER, 55, 1, 43)
    tampered = xml.replace(f"<chNFe>{key}</chNFe>".encode(), f"<chNFe>{other}</chNFe>".encode())
    with pytest.raises(FiscalParseError) as refused:
        parse_fiscal_xml(tampered)
    assert refused.value.code == "key_mismatch"


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_files_are_refused_as_truncated(cut):
    xml = sample()
    with pytest.raises(FiscalParseError) as refused:
        parse_fiscal_xml(xml[: int(len(xml) * cut)])
    assert refused.value.code == "truncated"
    assert "incompleto" in refused.value.message


def test_a_bom_and_no_declaration_are_fine():
    xml = sample()
    body = xml[xml.index(b"?>") + 2:]
    assert parse_fiscal_xml(b"\xef\xbb\xbf" + body).notes[0].number == 42
    assert parse_fiscal_xml(b"\n  " + body).notes[0].number == 42


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b"<NFe>&lol2;</NFe>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><NFe>&xxe;</NFe>',
    b'<!DOCTYPE NFe SYSTEM "http://127.0.0.1:1/evil.dtd"><NFe/>',
    # found before the parse wherever the prolog puts them: after a BOM, PIs or a comment; in lower case
    b'\xef\xbb\xbf\n<?xml version="1.0"?>\n<?other pi?><!DOCTYPE a><a/>',
    b'<?xml version="1.0"?><!-- antes --><!DOCTYPE a [<!ENTITY x "y">]><a/>',
    b'<?xml version="1.0"?><!doctype a><a/>',
])
def test_doctype_entities_xxe_and_billion_laughs_are_refused(payload):
    with pytest.raises(FiscalParseError) as refused:
        parse_fiscal_xml(payload)
    assert refused.value.code == "doctype"


def test_too_large_empty_not_xml_and_not_fiscal():
    for data, code in [(b"<a>" + b" " * MAX_BYTES + b"</a>", "too_large"), (b"", "empty"), (b"  \n", "empty"),
                       (b"%PDF-1.7", "not_xml"), (b"<html><body>oi</body></html>", "not_fiscal"),
                       (b"<a><b></a>", "malformed"),
                       (b'<MDFe xmlns="http://www.portalfiscal.inf.br/mdfe"/>', "unsupported"),
                       (b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"/>', "no_document")]:
        with pytest.raises(FiscalParseError) as refused:
            parse_fiscal_xml(data)
        assert refused.value.code == code, data[:40]
        assert refused.value.message


def test_bad_values_are_refused_with_the_field_named():
    for old, new, words in [(b"<vNF>1234.56</vNF>", b"<vNF>1e400</vNF>", "valor total"),
                            (b"<vNF>1234.56</vNF>", b"<vNF>abc</vNF>", "valor total"),
                            (b"<nNF>42</nNF>", b"<nNF>x</nNF>", "número"),
                            (b"<mod>55</mod>", b"<mod>58</mod>", "modelo 58")]:
        with pytest.raises(FiscalParseError, match=words):
            parse_fiscal_xml(sample().replace(old, new))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.data())
def test_garbled_notes_never_raise_anything_but_a_refusal(data):
    xml = bytearray(sample())
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(xml) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            xml[position] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del xml[position:position + data.draw(st.integers(1, 40))]
        else:
            xml[position:position] = data.draw(st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>", b"\x00", b"]]>"]))
    try:
        parse_fiscal_xml(bytes(xml))
    except FiscalParseError as refused:
        assert refused.code and refused.message


def test_note_items_are_read_from_the_stored_bytes():
    from fiscal.parsing import note_items

    items = note_items(sample(items=3, total_cents=1001))
    assert [(i.number, i.description, i.unit) for i in items] == [(1, "Produto 1", "UN"), (2, "Produto 2", "UN"),
                                                                  (3, "Produto 3", "UN")]
    assert sum(i.total_cents for i in items) == 1001
    assert note_items(b"<broken") == [] and note_items(b"") == []


@pytest.mark.parametrize(("written", "cents"), [
    ("1234.56", 123456), ("0.00", 0), ("7", 700), ("7.5", 750), ("0.05", 5), ("00012.30", 1230),
    ("9999999999999.99", 999999999999999), ("10000000000000", 10**15),  # the largest amounts allowed
    ("12.345", 1234), ("12.355", 1236), ("12.3450", 1234),  # more than two decimals: rounded half to even
    ("1.", 100), (".5", 50), ("1_000.00", 100000), ("1E+2", 10000),  # what Decimal reads, read the same
])
def test_totals_to_cents(written, cents):
    data = sample().replace(b"<vNF>1234.56</vNF>", f"<vNF>{written}</vNF>".encode())
    assert parse_fiscal_xml(data).notes[0].total_cents == cents


@pytest.mark.parametrize("written", ["-1.00", "10000000000000.01", "1.2.3", "1,00", "NaN", "Infinity"])
def test_totals_refused(written):
    data = sample().replace(b"<vNF>1234.56</vNF>", f"<vNF>{written}</vNF>".encode())
    with pytest.raises(FiscalParseError, match="valor total"):
        parse_fiscal_xml(data)


@pytest.mark.parametrize("before", [b"<!-- comentario -->", b"<![CDATA[x]]>", b""])
def test_doctype_refused_whatever_comes_first(before):
    data = sample()
    head, rest = data.split(b"?>", 1) if data.startswith(b"<?xml") else (b"", data)
    for doctype in (b"<!DOCTYPE nfeProc>", b'<!ENTITY x "y">', b"<!doctype nfeProc>"):
        crafted = (head + b"?>" if head else b"") + doctype + rest.replace(b"<infAdic>", b"<infAdic>" + before, 1)
        with pytest.raises(FiscalParseError) as refused:
            parse_fiscal_xml(crafted)
        assert refused.value.code == "doctype"


def test_doctype_after_the_root_is_malformed():
    with pytest.raises(FiscalParseError) as refused:
        parse_fiscal_xml(sample().replace(b"<infAdic>", b'<!DOCTYPE a [<!ENTITY x "y">]><infAdic>', 1))
    assert refused.value.code == "malformed"
