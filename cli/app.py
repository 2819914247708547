"""The `mvp` command tree, in the order people meet it."""

from __future__ import annotations

import typer

from cli.commands import (
    audit,
    cases,
    enforcement,
    officers,
    ops,
    police,
    records,
    referrals,
    session,
    supervisors,
    tasks,
    training,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Migrant Victims Protocol case service.")

for sub, name in [
    (ops.stack_app, "stack"),
    (records.app, "records"),
    (referrals.app, "referral"),
    (cases.case_app, "case"),
    (cases.cases_app, "cases"),
    (police.app, "police"),
    (officers.app, "officer"),
    (supervisors.app, "supervisor"),
    (enforcement.app, "enforcement"),
    (tasks.app, "tasks"),
    (audit.audit_app, "audit"),
    (audit.retention_app, "retention"),
    (training.app, "training"),
    (ops.keys_app, "keys"),
    (ops.db_app, "db"),
]:
    app.add_typer(sub, name=name)
# Plain help and usage errors (click's), not Typer's Rich panels: those load rich.markdown and markdown-it,
# which cost `mvp --help` more than everything else it loads (issue 14: a CLI that feels instant). The answers
# themselves are still rendered with Rich (`cli.render`).
for typer_app in [app, *(group.typer_instance for group in app.registered_groups)]:
    if typer_app is not None:
        typer_app.rich_markup_mode = None

app.command("report")(cases.report)
app.command("login")(session.login)
app.command("logout")(session.logout)
app.command("worker")(ops.worker)
app.command("api")(ops.api)
