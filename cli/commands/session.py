"""Signing in: `mvp login` (the OAuth device authorization grant against the configured issuer) and logout."""

from __future__ import annotations

import typer

from cli import render
from cli import session as sessions

app = typer.Typer(help="Sign in and out.")


@app.command("login")
def login() -> None:
    """Sign in with your organisation's identity provider; the token is kept for this user only (0600)."""
    where = sessions.login(sessions.ClientSettings.from_env(), show=render.out.print)
    render.out.print(f"Signed in; the token is kept in {where}.")


@app.command("logout")
def logout() -> None:
    """Forget the stored token."""
    removed = sessions.logout(sessions.ClientSettings.from_env())
    render.out.print("Signed out." if removed else "You were not signed in.")
