"""The case API: the one service boundary (ASGI)."""
