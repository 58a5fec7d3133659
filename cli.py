"""Command line: demo data (``flask --app app demo``) and domain commands."""

import json

import click
from flask import Flask

import billing.cli
import certificates.cli
import contracts.cli


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
        click.echo("Revenda demo — logins (http://127.0.0.1:5000/login):")
        for role, creds in logins["users"].items():
            click.echo(f"  {role:<11} {creds['email']:<32} {creds['password']}")
        for key, token in logins["partner_api_tokens"].items():
            click.echo(f"  API token partner {key}: {token}")

    for module in (contracts.cli, certificates.cli, billing.cli):
        module.register(app)
