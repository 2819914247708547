"""Where the CLI's token comes from: MVP_TOKEN, then `--as`/MVP_ACTOR in development only, then the token
`mvp login` stored. The device sign-in runs end to end against the development issuer on a loopback port."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import httpx
import pytest

from api.auth import TokenVerifier
from devstack.issuer import serve_issuer
from infra.settings import Settings
from models.case import Actor, ActorRole
from tests.support.api import free_port

if TYPE_CHECKING:
    from cli.session import ClientSettings

ROOT = Path(__file__).resolve().parents[2]


def _load_session() -> ModuleType:
    """cli/session.py by its path: until the CLI becomes the `cli/` package, `cli` is still cli.py."""
    try:
        import cli.session as module

        return module
    except ImportError:
        spec = importlib.util.spec_from_file_location("mvp_cli_session", ROOT / "cli" / "session.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
        return module


session = _load_session()


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("issuer"), issuer_port=free_port())
    server, thread = serve_issuer(settings)
    yield settings.development_issuer
    server.should_exit = True
    thread.join(timeout=10)


def _client(tmp_path: Path, issuer: str | None = None, **env: str) -> ClientSettings:
    environ = {"MVP_DATA_DIR": str(tmp_path / "data"), "MVP_TOKEN_FILE": str(tmp_path / "cfg" / "token.json")}
    if issuer:
        environ["MVP_ISSUER_URL"] = issuer
    settings: ClientSettings = session.ClientSettings.from_env({**environ, **env})
    return settings


def test_device_sign_in_stores_the_token_0600_and_logout_removes_it(tmp_path: Path, issuer: str) -> None:
    settings = _client(tmp_path, issuer)
    shown: list[str] = []
    naps: list[float] = []

    def approve(sentence: str) -> None:
        """The person opens the URL and approves the code (the development issuer's approval endpoint)."""
        shown.append(sentence)
        code = re.search(r"enter ([A-Z]{4}-[A-Z]{4})$", sentence)
        assert code, sentence
        answer = httpx.post(
            f"{issuer}/dev/device/approve", json={"user_code": code[1], "actor": "supervisor:SUP-7"}
        )
        assert answer.status_code == 200

    path = session.login(settings, show=approve, sleep=naps.append)

    assert shown and shown[0].startswith(f"Open {issuer}/device")
    assert naps == [5]  # it waited the interval the issuer asked for before polling
    assert path == tmp_path / "cfg" / "token.json"
    assert path.stat().st_mode & 0o777 == 0o600
    token = session.token_for(None, settings)
    verifier = TokenVerifier(issuer=issuer, audience="mvp-api")
    assert verifier.verify(token) == Actor(role=ActorRole.supervisor, id="SUP-7")

    assert session.logout(settings) is True
    assert not path.exists()
    with pytest.raises(session.SessionError, match=r"not signed in: run `mvp login`"):
        session.token_for(None, settings)


def test_as_is_refused_in_production(tmp_path: Path, issuer: str) -> None:
    settings = _client(tmp_path, issuer, MVP_ENV="production", MVP_TOKEN="a-token")
    with pytest.raises(session.SessionError, match=r"--as is for development only.*mvp login"):
        session.token_for("supervisor:SUP-7", settings)


def test_mvp_actor_is_refused_in_production(tmp_path: Path, issuer: str) -> None:
    settings = _client(tmp_path, issuer, MVP_ENV="production", MVP_ACTOR="supervisor:SUP-7")
    with pytest.raises(session.SessionError, match="MVP_ACTOR is for development only"):
        session.token_for(None, settings)


def test_as_in_development_obtains_a_token_from_the_issuer_in_stack_env(tmp_path: Path, issuer: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "stack.env").write_text(f"MVP_ISSUER_URL={issuer}\nMVP_API_URL=http://127.0.0.1:9\n")
    settings = _client(tmp_path)
    assert settings.issuer_url == issuer and settings.api_url == "http://127.0.0.1:9"
    token = session.token_for("police:WMP-4471:WMP", settings)
    verifier = TokenVerifier(issuer=issuer, audience="mvp-api")
    assert verifier.verify(token) == Actor(role=ActorRole.police, id="WMP-4471", force="WMP")


def test_a_bad_as_is_refused_with_the_issuers_sentences(tmp_path: Path, issuer: str) -> None:
    with pytest.raises(session.SessionError, match="--as was refused: A police actor needs a force"):
        session.token_for("police:WMP-4471", _client(tmp_path, issuer))


def test_mvp_token_is_used_as_it_is(tmp_path: Path, issuer: str) -> None:
    assert session.token_for(None, _client(tmp_path, issuer, MVP_TOKEN="given")) == "given"


def test_an_expired_stored_token_asks_to_log_in_again(tmp_path: Path) -> None:
    settings = _client(tmp_path)
    settings.token_file.parent.mkdir(parents=True)
    settings.token_file.write_text(json.dumps({"access_token": "old", "expires_at": time.time() - 60}))
    with pytest.raises(session.SessionError, match=r"expired: run `mvp login` again"):
        session.token_for(None, settings)


def test_no_issuer_answering_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    settings = _client(tmp_path, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(session.SessionError, match=r"No development issuer answers .*make run"):
        session.token_for("officer:O-1", settings)
