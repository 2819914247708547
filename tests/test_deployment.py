"""The production topology: the compose file validates and describes every part the service needs, with
Keycloak as the issuer, Temporal closed behind mutual TLS, and the realm defining the roles and clients."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the secrets compose refuses to run without (stand-ins: config only substitutes them)
REQUIRED_SECRETS = {
    "MVP_POLICE_WMP_CLIENT_SECRET": "stand-in-for-validation",
    "MVP_TEMPORAL_UI_CLIENT_SECRET": "stand-in-for-validation",
}


def _compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS}
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, **env},
    )


REALM = ROOT / "deploy" / "keycloak" / "mvp-realm.json"


def _compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def _service_block(name: str, text: str | None = None) -> str:
    """The lines of one service (indented two spaces under `services:`), up to the next key at that depth."""
    lines = (text if text is not None else _compose_text()).splitlines()
    start = lines.index(f"  {name}:")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith("   ")),
        len(lines),
    )
    return "\n".join(lines[start:end]) + "\n"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_the_compose_file_validates() -> None:
    result = _compose("config", "-q", **REQUIRED_SECRETS)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_compose_refuses_to_run_without_the_keycloak_client_secrets() -> None:
    result = _compose("config", "-q")
    assert result.returncode != 0
    assert (
        "set MVP_POLICE_WMP_CLIENT_SECRET" in result.stderr
        or "set MVP_TEMPORAL_UI_CLIENT_SECRET" in result.stderr
    )


def test_the_compose_file_describes_every_service_and_no_separate_codec() -> None:
    text = _compose_text()
    for service in ("postgres:", "keycloak:", "temporal:", "temporal-ui:", "worker:", "api:"):
        assert f"\n  {service}" in text
    assert "\n  codec:" not in text  # the API serves the codec endpoint
    assert "DB: postgres12" in text  # Temporal persists in the same Postgres
    assert "build: ." in text and (ROOT / "Dockerfile").is_file()


def test_temporal_publishes_no_port_and_requires_client_certificates() -> None:
    temporal = _service_block("temporal")
    assert "\n    ports:" not in temporal
    assert 'TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: "true"' in temporal
    assert "./deploy/certs:" in temporal


def test_the_api_and_worker_reach_temporal_with_mutual_tls_and_the_api_trusts_keycloak() -> None:
    text = _compose_text()
    for name in ("TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_SERVER_NAME"):
        assert f"  {name}: " in text
    for service in ("worker", "api"):
        block = _service_block(service)
        assert "<<: *temporal-client-tls" in block and "./deploy/certs:" in block
    api = _service_block("api")
    assert '"mvp", "api"' in api and '"8235:8235"' in api
    assert "MVP_OIDC_ISSUER: ${MVP_KEYCLOAK_URL:-http://localhost:8180}/realms/mvp" in api


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_resolved_tls_settings_reach_the_api_and_worker() -> None:
    """As docker-compose resolves the file: the anchor's TLS settings are merged into both services."""
    result = _compose("config", **REQUIRED_SECRETS)
    assert result.returncode == 0, result.stderr
    assert "\n    ports:" not in _service_block("temporal", result.stdout)
    for name in ("api", "worker"):
        block = _service_block(name, result.stdout)
        assert "TEMPORAL_TLS_CERT: /etc/mvp/certs/client.pem" in block
        assert "TEMPORAL_TLS_SERVER_NAME: temporal" in block


def test_the_temporal_ui_signs_in_at_keycloak_and_passes_the_users_token_to_the_codec() -> None:
    ui = _service_block("temporal-ui")
    assert 'TEMPORAL_AUTH_ENABLED: "true"' in ui
    assert "TEMPORAL_AUTH_PROVIDER_URL: ${MVP_KEYCLOAK_URL:-http://localhost:8180}/realms/mvp" in ui
    assert 'TEMPORAL_CODEC_PASS_ACCESS_TOKEN: "true"' in ui


def test_keycloak_imports_the_realm() -> None:
    keycloak = _service_block("keycloak")
    assert "--import-realm" in keycloak
    assert "./deploy/keycloak/mvp-realm.json:/opt/keycloak/data/import/" in keycloak


def test_the_realm_defines_the_roles_and_clients() -> None:
    realm = json.loads(REALM.read_text())
    assert realm["realm"] == "mvp"
    roles = {r["name"] for r in realm["roles"]["realm"]}
    assert roles == {"officer", "police", "supervisor", "enforcement", "records_admin", "auditor"}
    clients = {c["clientId"]: c for c in realm["clients"]}

    cli = clients["mvp-cli"]
    assert cli["publicClient"] is True
    assert cli["attributes"]["oauth2.device.authorization.grant.enabled"] == "true"

    police = clients["police-wmp"]
    assert police["publicClient"] is False and police["serviceAccountsEnabled"] is True
    assert police["secret"].startswith("${") and police["secret"].endswith(
        "}"
    )  # a placeholder, never a secret
    account = next(u for u in realm["users"] if u.get("serviceAccountClientId") == "police-wmp")
    assert account["realmRoles"] == ["police"] and account["attributes"]["force"] == ["WMP"]

    for client in clients.values():
        mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
        assert mappers["oidc-audience-mapper"]["included.custom.audience"] == "mvp-api"
        assert mappers["oidc-usermodel-attribute-mapper"]["user.attribute"] == "force"
        assert mappers["oidc-usermodel-attribute-mapper"]["claim.name"] == "force"
        assert mappers["oidc-usermodel-realm-role-mapper"]["claim.name"] == "realm_access.roles"


def test_the_dockerfile_migrates_then_runs_the_worker() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "mvp db migrate && exec mvp worker" in dockerfile
    assert "USER mvp" in dockerfile  # not as root


def test_the_temporal_tls_settings_make_a_mutual_tls_connection_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError
    from temporalio.service import TLSConfig

    from infra.settings import Settings
    from infra.temporal import tls_config

    assert tls_config(Settings(data_dir=tmp_path)) is False  # the embedded dev server: plain TCP
    for name in ("ca", "client"):
        (tmp_path / f"{name}.pem").write_bytes(f"{name} certificate".encode())
    (tmp_path / "client.key").write_bytes(b"client key")
    monkeypatch.setenv("TEMPORAL_TLS_CA", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_CERT", str(tmp_path / "client.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_KEY", str(tmp_path / "client.key"))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal")
    tls = tls_config(Settings(data_dir=tmp_path))
    assert tls == TLSConfig(
        server_root_ca_cert=b"ca certificate",
        client_cert=b"client certificate",
        client_private_key=b"client key",
        domain="temporal",
    )
    monkeypatch.delenv("TEMPORAL_TLS_KEY")
    with pytest.raises(ValidationError, match="needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"):
        Settings(data_dir=tmp_path)
