"""``flask contracts end-trials`` and ``flask contracts apply-plan-changes``: the scheduled work, by hand."""

import click
from flask import Flask


def register(app: Flask) -> None:
    group = click.Group("contracts", help="Contratos: testes que terminam, trocas de plano agendadas.")

    @group.command("end-trials")
    def end_trials_command():
        """Warn about trials ending soon and end the trials that are due."""
        from contracts.services import end_due_trials
        from core.db import db

        counts = end_due_trials()
        db.session.commit()
        click.echo(f"avisados: {counts['warned']}, ativados: {counts['activated']}, bloqueados: {counts['blocked']}")

    @group.command("apply-plan-changes")
    def apply_plan_changes_command():
        """Apply the plan changes scheduled for a cycle that has started."""
        from contracts.services import apply_due_plan_changes
        from core.db import db

        applied = apply_due_plan_changes()
        db.session.commit()
        click.echo(f"trocas aplicadas: {applied}")

    app.cli.add_command(group)
