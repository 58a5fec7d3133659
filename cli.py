"""Command line: demo data (``flask --app app demo``) and domain commands."""

import json

import click
from flask import Flask, current_app

import billing.cli
import certificates.cli
import contracts.cli
import fiscal.cli


def register_cli(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--json", "as_json", is_flag=True, help="Print the logins as JSON.")
    def demo_command(as_json):
        """Create (idempotently) the demo catalogue, partners, clients and users; print the logins."""
        from core.db import db
        from demo import load_demo

        logins = load_demo()
        db.session.commit()
        if as_json:
            click.echo(json.dumps(logins, indent=2))
            return
        click.echo(f"Revenda demo — logins ({current_app.config['PUBLIC_URL'] or 'http://127.0.0.1:5000'}/login):")
        for role, creds in logins["users"].items():
            click.echo(f"  {role:<11} {creds['email']:<32} {creds['password']}")
        for key, token in logins["partner_api_tokens"].items():
            click.echo(f"  API token partner {key}: {token}")
        click.echo("  (admin e finance: no primeiro acesso, ative a verificação em duas etapas com um aplicativo "
                   "autenticador, obrigatória para a equipe)")

    _register_mail_cli(app)
    for module in (contracts.cli, certificates.cli, billing.cli, fiscal.cli):
        module.register(app)


def _register_mail_cli(app: Flask) -> None:
    @app.cli.group("mail")
    def mail_group():
        """E-mails kept by the embedded default (MAIL_BACKEND=outbox); not available in production."""

    def _refuse_unless_readable():
        from core.mail import readable_here

        if not readable_here():
            raise click.ClickException("e-mails are only readable here in the embedded default "
                                       "(MAIL_BACKEND=outbox, without REVENDA_PRODUCTION); they were sent by SMTP")

    @mail_group.command("list")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
    def mail_list(limit):
        """The latest messages: id, date, recipient, subject."""
        from sqlalchemy import select

        from core.db import db
        from core.mail import OutboxEmail

        _refuse_unless_readable()
        rows = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(limit)).all()
        for row in rows:
            click.echo(f"#{row.id:<6} {row.created_at:%Y-%m-%d %H:%M} {row.to:<36} {row.subject}")

    @mail_group.command("show")
    @click.argument("message_id", required=False, type=int)
    @click.option("--to", "to", help="The latest message to this address.")
    def mail_show(message_id, to):
        """Print one message with its links (the latest one, or MESSAGE_ID, or the latest --to ADDRESS)."""
        from sqlalchemy import func, select

        from core.db import db
        from core.mail import OutboxEmail

        _refuse_unless_readable()
        query = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(1)
        if message_id is not None:
            query = query.where(OutboxEmail.id == message_id)
        if to:
            query = query.where(func.lower(OutboxEmail.to) == to.strip().lower())
        row = db.session.scalar(query)
        if row is None:
            raise click.ClickException("no such e-mail")
        click.echo(f"#{row.id} {row.created_at:%Y-%m-%d %H:%M} UTC\nPara: {row.to}\nAssunto: {row.subject}\n")
        click.echo(row.body_text or "(conteúdo descartado após o envio)")
