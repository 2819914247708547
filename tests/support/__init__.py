"""Helpers shared by the tests (never imported from one test module into another)."""
