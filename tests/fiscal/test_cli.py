"""``flask fiscal import PATH --client ID`` for bulk loads: folders, zips, refusals, a summary."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from fiscal.models import FiscalDocument
from fiscal.synth import nfe_xml
from tests.fiscal.conftest import SELLER

NOW = datetime.now(UTC).replace(microsecond=0)


def note(number):
    return nfe_xml(emitter_cnpj=SELLER, emitter_name="Padaria", recipient_doc=None, number=number,
                   issued_at=NOW - timedelta(days=1), total_cents=100 * number)


def test_import_a_folder_with_xml_and_zip(app, db, fiscal_client, tmp_path):
    (tmp_path / "2026" / "11").mkdir(parents=True)
    (tmp_path / "2026" / "11" / "1.xml").write_bytes(note(1))
    (tmp_path / "2026" / "11" / "1-copia.xml").write_bytes(note(1))
    (tmp_path / "lixo.xml").write_bytes(b"not xml")
    (tmp_path / "leia-me.txt").write_text("ignored")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("2.xml", note(2))
        archive.writestr("3.xml", note(3))
    (tmp_path / "lote.zip").write_bytes(buffer.getvalue())
    result = app.test_cli_runner().invoke(args=["fiscal", "import", str(tmp_path), "--client", str(fiscal_client.id)])
    assert result.exit_code == 0, result.output
    assert "Pronto: novos 3, atualizados 0, repetidos 1, recusados 1" in result.output
    assert "recusado lixo.xml: O arquivo não é um XML." in result.output
    assert db.session.scalar(select(func.count()).select_from(FiscalDocument)) == 3


def test_import_needs_an_existing_client(app, db, tmp_path):
    (tmp_path / "1.xml").write_bytes(note(1))
    result = app.test_cli_runner().invoke(args=["fiscal", "import", str(tmp_path), "--client", "999999"])
    assert result.exit_code != 0 and "cliente 999999 não encontrado" in result.output
