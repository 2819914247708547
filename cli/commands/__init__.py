"""`mvp` commands, one module per audience."""
