"""Where settings come from: the environment first, then the running stack's `stack.env` — which the stack
itself never reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.settings import REPO_ROOT, Settings, load_settings


@pytest.fixture
def leftover_stack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TEMPORAL_ADDRESS", "MVP_TEMPORAL_ADDRESS", "DATABASE_URL", "MVP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "stack.env").write_text(
        "DATABASE_URL=postgresql://old@/mvp\nTEMPORAL_ADDRESS=127.0.0.1:7001\n"
    )
    return tmp_path


def test_commands_find_a_running_stack_through_its_stack_env(leftover_stack_env: Path) -> None:
    settings = load_settings(data_dir=leftover_stack_env)
    assert (settings.temporal_address, settings.database_url) == ("127.0.0.1:7001", "postgresql://old@/mvp")


def test_the_environment_wins_under_either_name(
    leftover_stack_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MVP_TEMPORAL_ADDRESS", "127.0.0.1:7002")
    assert load_settings(data_dir=leftover_stack_env).temporal_address == "127.0.0.1:7002"


def test_the_stack_never_reads_its_own_stack_env(leftover_stack_env: Path) -> None:
    settings = load_settings(find_stack=False, data_dir=leftover_stack_env)
    assert (settings.temporal_address, settings.database_url) == ("localhost:7233", None)


# --- training mode (README "Training mode") -------------------------------------------------------------


PRODUCTION = {
    "env": "production",
    "notify_channel": "http",
    "notify_url": "https://api.notifications.service.gov.uk",
    "notify_api_key": "a-real-looking-notify-key-0f9e8d7c6b5a",
    "notify_templates": Path("templates.json"),
    "contact_team_phone": "020 7946 0000",
    "contact_team_email": "nccu@homeoffice.gov.uk",
    "oidc_issuer": "https://sso.homeoffice.gov.uk/realms/mvp",
}


def test_production_settings_refuse_training_mode(tmp_path: Path) -> None:
    assert Settings.model_validate({"data_dir": tmp_path, **PRODUCTION}).training is False  # production: fine
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({"data_dir": tmp_path, "training": True, **PRODUCTION})
    message = str(refused.value)
    assert "training mode is refused with production settings" in message
    assert "MVP_ENV is 'production'" in message and "MVP_OIDC_ISSUER" in message


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"notify_channel": "http", "notify_url": "https://n.test", "notify_api_key": "k" * 20,
          "notify_templates": Path("t.json")}, "MVP_NOTIFY_CHANNEL"),
        ({"records_source": "http", "records_url": "https://records.test"}, "MVP_RECORDS_SOURCE"),
        ({"oidc_issuer": "https://sso.example.test/realms/mvp"}, "MVP_OIDC_ISSUER"),
    ],
)  # fmt: skip
def test_training_fails_closed_on_any_production_part_outside_production(
    tmp_path: Path, setting: dict[str, object], named: str
) -> None:
    """Real notices, real records or real sign-ins make a stack a real one, whatever MVP_ENV says."""
    with pytest.raises(ValidationError, match=named):
        Settings.model_validate({"env": "development", "data_dir": tmp_path, "training": True, **setting})


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"dev_issuer_url": "https://sso.example.test/realms/mvp",
          "oidc_issuer": "https://sso.example.test/realms/mvp"}, "the token issuer, MVP_OIDC_ISSUER"),
        ({"database_url": "postgresql://mvp_service@db.example.test/mvp"}, "DATABASE_URL"),
        ({"temporal_address": "temporal.example.test:7233"}, "MVP_TEMPORAL_ADDRESS"),
    ],
)  # fmt: skip
def test_training_fails_closed_on_an_issuer_database_or_temporal_on_another_machine(
    tmp_path: Path, setting: dict[str, object], named: str
) -> None:
    """Naming a real identity provider as the development issuer, or pointing at a real database or Temporal,
    is not a rehearsal: only parts on this machine are."""
    with pytest.raises(ValidationError, match=f"{named}.* not on this machine"):
        Settings.model_validate({"env": "development", "data_dir": tmp_path, "training": True, **setting})
    local = {
        "database_url": "postgresql://mvp_service@/mvp?host=/tmp/s",
        "temporal_address": "127.0.0.1:7433",
    }
    assert Settings.model_validate(
        {"env": "development", "data_dir": tmp_path, "training": True, **local}
    ).training


def test_training_mode_runs_beside_the_normal_stack_in_its_own_folder_and_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "MVP_DATA_DIR",
        "MVP_API_PORT",
        "MVP_ISSUER_PORT",
        "MVP_TEMPORAL_UI_PORT",
        "TEMPORAL_ADDRESS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MVP_TEMPORAL_ADDRESS", raising=False)
    normal = Settings()
    monkeypatch.setenv("MVP_TRAINING", "1")
    training = Settings()
    assert training.training and not normal.training
    assert training.data_dir == REPO_ROOT / ".data" / "training" and normal.data_dir == REPO_ROOT / ".data"
    ports = ("api_port", "issuer_port", "temporal_ui_port")
    assert {getattr(training, p) - getattr(normal, p) for p in ports} == {10}
    assert (normal.temporal_address, training.temporal_address) == ("localhost:7233", "localhost:7243")
    assert training.development_issuer == "http://127.0.0.1:8246"


@pytest.mark.parametrize("word", ["y", "t", "enabled", "2"])
def test_mvp_training_in_a_word_the_stack_does_not_read_is_refused_not_taken_for_true(
    monkeypatch: pytest.MonkeyPatch, word: str
) -> None:
    """The stack picks its folder and ports from MVP_TRAINING with `TRUE_WORDS`; pydantic alone took `y` and `t`
    for true, which would have started a training API on the normal stack's folder and ports."""
    monkeypatch.setenv("MVP_TRAINING", word)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "training" in str(refused.value) and "give one of 1, true, yes, on (on)" in str(refused.value)


@pytest.mark.parametrize(
    ("word", "on"), [("1", True), (" Yes ", True), ("on", True), ("0", False), ("off", False), ("", False)]
)
def test_mvp_training_reads_the_stacks_words(monkeypatch: pytest.MonkeyPatch, word: str, on: bool) -> None:
    monkeypatch.setenv("MVP_TRAINING", word)
    monkeypatch.delenv("MVP_DATA_DIR", raising=False)
    assert Settings().training is on


def test_training_asked_for_in_code_runs_beside_the_normal_stack_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Settings(training=True)` (not MVP_TRAINING in the environment) moves the folder and ports the same way;
    what is given explicitly stays."""
    for name in ("MVP_TRAINING", "MVP_DATA_DIR", "MVP_API_PORT", "MVP_ISSUER_PORT", "MVP_TEMPORAL_UI_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("TEMPORAL_ADDRESS", "MVP_TEMPORAL_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    normal = Settings()
    training = Settings(training=True)
    assert training.data_dir == REPO_ROOT / ".data" / "training" and normal.data_dir == REPO_ROOT / ".data"
    assert (training.api_port, training.issuer_port, training.temporal_ui_port) == (8245, 8246, 8243)
    assert training.temporal_address == "localhost:7243"
    kept = Settings(training=True, api_port=9000)
    assert kept.api_port == 9000 and kept.issuer_port == 8246
