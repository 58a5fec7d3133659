"""``flask billing run --month YYYY-MM`` and ``flask billing dunning``."""

import time

import click
from flask import Flask


def register(app: Flask) -> None:
    group = click.Group("billing", help="Faturamento: execução mensal e cobrança.")

    @group.command("run")
    @click.option("--month", help="Mês faturado, AAAA-MM (padrão: o mês anterior).")
    @click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
    def run_command(month, batch_size):
        """Issue the month's invoices (idempotent: run it again to resume after a failure)."""
        from billing.run import Month, run_monthly_billing
        from core.validators import ValidationError

        try:
            parsed = Month.parse(month) if month else None
        except ValidationError as exc:
            raise click.BadParameter(exc.fields["month"], param_hint="--month") from None
        started = time.perf_counter()

        def progress(result):
            click.echo(f"  lote {result.batches}: {result.clients} clientes lidos, "
                       f"{result.invoices_created} faturas emitidas, {result.invoices_skipped} já existentes")

        result = run_monthly_billing(parsed, batch_size=batch_size, progress=progress)
        click.echo(f"Faturamento {result.month}: {result.invoices_created} faturas emitidas "
                   f"({result.first_number or '—'} a {result.last_number or '—'}), {result.lines_created} linhas, "
                   f"{result.invoices_skipped} já existiam; {time.perf_counter() - started:.1f} s.")

    @group.command("dunning")
    def dunning_command():
        """Send due reminders, charge saved cards and block contracts overdue past the limit."""
        from billing.dunning import run_dunning
        from core.db import db

        result = run_dunning()
        db.session.commit()
        click.echo(f"Avisos: {result.notices or 0}; faturas com bloqueio: {result.blocked_invoices}; "
                   f"contratos bloqueados: {result.blocked_clients}; cobranças em cartão: {result.card_charges}.")

    app.cli.add_command(group)
