"""The command registry names each case command once; everything that dispatches commands agrees with it."""

from __future__ import annotations

import typer
from temporalio import workflow

from api.app import create_app
from cli.app import app as cli_app
from models.case import COMMAND_MODELS
from models.registry import COMMANDS
from protocol import authority
from workflows.case import ProtocolCaseWorkflow


def test_every_command_has_its_message_and_every_message_its_entry() -> None:
    assert set(COMMAND_MODELS) == set(COMMANDS)
    for kind, model in COMMAND_MODELS.items():
        assert model.model_fields["kind"].default == kind


def test_every_command_is_an_update_of_the_case_workflow() -> None:
    updates = workflow._Definition.must_from_class(ProtocolCaseWorkflow).updates
    for spec in COMMANDS.values():
        assert spec.update in updates, f"{spec.kind}: no update {spec.update!r} on the case workflow"


def test_every_command_has_its_route() -> None:
    paths = set(create_app().openapi()["paths"])
    for spec in COMMANDS.values():
        assert f"/cases/{{case_id}}/{spec.route}" in paths


def test_every_command_has_its_cli_verb() -> None:
    command = typer.main.get_command(cli_app)
    for spec in COMMANDS.values():
        group, verb = spec.cli
        assert verb in command.commands[group].commands, f"mvp {group} {verb}"  # type: ignore[attr-defined]


def test_who_may_send_each_command_is_the_registry_s_word() -> None:
    for kind, spec in COMMANDS.items():
        assert {role.value for role in authority.MAY[kind]} == spec.roles
