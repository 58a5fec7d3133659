"""``flask certificates rewrap`` and ``flask keys generate|rotate``: master-key rotation."""

from pathlib import Path

import click
from flask import Flask, current_app

from core.crypto import CryptoError, generate_master_key


def _rewrap(batch_size: int) -> None:
    from certificates import services
    from core.db import db
    from core.keyring import get_keyring

    ring = get_keyring()
    click.echo(f"Chave mestra ativa: {ring.active_key_id}")

    def progress(table: str, done: int, total: int) -> None:
        db.session.commit()  # one transaction per batch: a long run never holds every row locked
        click.echo(f"  {table}: {done}/{total}")

    try:
        done = services.rewrap_all(ring, batch_size=batch_size, after_batch=progress)
    except CryptoError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"não foi possível recifrar ({exc}); a chave mestra antiga ainda precisa estar em MASTER_KEYS"
        ) from None
    db.session.commit()
    for table, count in done.items():
        click.echo(f"{table}: {count} registro(s) recifrado(s)")
    left = services.count_not_under(ring)
    click.echo("Pronto: todos os segredos estão sob a chave ativa." if not any(left.values()) else f"Restam: {left}")


def register(app: Flask) -> None:
    @app.cli.group("certificates")
    def certificates_group():
        """Certificados digitais e chaves de integração."""

    @certificates_group.command("rewrap")
    @click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
    def rewrap_command(batch_size):
        """Recifra todos os segredos (PFX, senhas, chaves de integração, chaves da verificação em duas etapas) sob a chave mestra ativa."""
        _rewrap(batch_size)

    @certificates_group.command("send-alerts")
    def send_alerts_command():
        """Envia agora os alertas de vencimento devidos (o que a tarefa diária faz)."""
        from certificates.services import send_expiry_alerts
        from core.db import db

        sent = send_expiry_alerts()
        db.session.commit()
        click.echo(f"{sent} alerta(s) enviado(s).")

    @app.cli.group("keys")
    def keys_group():
        """Chaves mestras que cifram os segredos guardados."""

    @keys_group.command("generate")
    @click.option("--id", "key_id", default="k2", show_default=True, help="Identificador da nova chave.")
    def generate_command(key_id):
        """Imprime uma nova entrada 'id:chave' para acrescentar a MASTER_KEYS (não é registrada em log)."""
        click.echo(f"{key_id}:{generate_master_key()}")

    @keys_group.command("rotate")
    @click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
    def rotate_command(batch_size):
        """Cria uma nova chave mestra, torna-a ativa e recifra todos os segredos sob ela.

        Só para o arquivo de chaves local (sem MASTER_KEYS). Com MASTER_KEYS: acrescente uma chave
        (flask keys generate), aponte MASTER_KEY_ACTIVE para ela, reinicie e rode
        ``flask certificates rewrap``; depois a chave antiga pode sair da configuração.
        """
        from core.keyring import KEY_FILE_NAME, add_local_key

        if (current_app.config.get("MASTER_KEYS") or "").strip():
            raise click.ClickException(
                "MASTER_KEYS está configurado: acrescente uma nova chave (flask keys generate), defina "
                "MASTER_KEY_ACTIVE com o id dela, reinicie os processos e rode 'flask certificates rewrap'."
            )
        if current_app.config.get("MASTER_KEY_ACTIVE"):
            raise click.ClickException("remova MASTER_KEY_ACTIVE: no arquivo local a última chave é a ativa.")
        path = Path(current_app.config["INSTANCE_PATH"]) / KEY_FILE_NAME
        key_id = add_local_key(path)
        click.echo(f"Nova chave mestra {key_id} criada em {path} e ativa.")
        _rewrap(batch_size)
