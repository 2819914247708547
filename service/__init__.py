"""Plumbing shared by the worker and the CLI: settings, errors, keys, the Temporal client, the database."""
