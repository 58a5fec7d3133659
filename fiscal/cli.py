"""``flask --app app fiscal import PATH --client ID``: bulk loads of fiscal XML (a file, a zip or a folder
scanned recursively for .xml and .zip), in batches, one commit per batch, with a summary per result."""

from collections import Counter
from pathlib import Path

import click
from flask import Flask

from fiscal.parsing import MAX_BYTES


def _files(path: Path):
    """(name, bytes) of every XML under ``path`` (a zip is handed over whole, as the upload takes it)."""
    if path.is_file():
        yield path.name, path.read_bytes()
        return
    for item in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".xml", ".zip")):
        too_large = item.suffix.lower() == ".xml" and item.stat().st_size > MAX_BYTES
        yield str(item.relative_to(path)), None if too_large else item.read_bytes()


def import_path(client, path: Path, *, echo=click.echo, batch: int = 500) -> Counter:
    from core.db import db
    from fiscal import services

    totals: Counter = Counter()
    pending: list[tuple[str, bytes]] = []

    def flush():
        for result in services.ingest_files(client, pending):
            totals[result.result] += 1
            if result.result == "refused":
                echo(f"  recusado {result.file}: {result.error['message']}")
        db.session.commit()
        pending.clear()

    for name, data in _files(path):
        if data is None:  # never read into memory
            totals["refused"] += 1
            echo(f"  recusado {name}: O arquivo passa de 1 MB, o limite por documento fiscal.")
            continue
        if name.lower().endswith(".zip"):
            flush()
            summary = services.ingest_upload(client, name, data, is_zip=True)
            for result in summary.results:
                totals[result.result] += 1
                if result.result == "refused":
                    echo(f"  recusado {name}:{result.file}: {result.error['message']}")
            db.session.commit()
            continue
        pending.append((name, data))
        if len(pending) >= batch:
            flush()
            echo(f"  {sum(totals.values())} arquivo(s)…")
    flush()
    services.wait_for_statistics()  # a bulk load's last ANALYZE, if one is running, ends before the command does
    return totals


def register(app: Flask) -> None:
    @app.cli.group("fiscal")
    def fiscal_group():
        """Documentos fiscais (NF-e, NFC-e, CT-e)."""

    @fiscal_group.command("import")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--client", "client_id", required=True, type=click.IntRange(1, 2**31 - 1),
                  help="Id do cliente dono dos documentos.")
    def import_command(path, client_id):
        """Importa um XML, um zip ou uma pasta (recursiva) de XMLs e zips para o cliente."""
        from core.db import db
        from partner.models import Client

        client = db.session.get(Client, client_id)
        if client is None:
            raise click.ClickException(f"cliente {client_id} não encontrado")
        click.echo(f"Importando {path} para {client.legal_name} (CNPJ {client.cnpj})")
        totals = import_path(client, path)
        click.echo("Pronto: " + ", ".join(f"{label} {totals[key]}" for key, label in (
            ("created", "novos"), ("updated", "atualizados"), ("duplicate", "repetidos"), ("refused", "recusados"))))

    @fiscal_group.command("rebuild-totals")
    @click.option("--client", "client_id", type=click.IntRange(1, 2**31 - 1), default=None,
                  help="Só este cliente (padrão: todos).")
    def rebuild_totals_command(client_id):
        """Recalcula os totais por mês e por dia (contagem e R$ por situação) a partir dos documentos."""
        from core.db import db
        from fiscal import services

        rows = services.rebuild_month_totals(client_id)
        day_rows = services.rebuild_day_totals(client_id)
        db.session.commit()
        click.echo(f"Totais recalculados: {rows} linha(s).")
        click.echo(f"Totais por dia recalculados: {day_rows} linha(s).")

    @fiscal_group.command("remove-orphan-packs")
    def remove_orphan_packs_command():
        """Apaga os pacotes de XML de lotes desfeitos (que nenhum documento cita), gravados há mais de um dia."""
        from fiscal import services

        removed = services.remove_orphan_packs()
        click.echo(f"Pacotes órfãos apagados: {len(removed)}.")
