"""What the API asks of the system: start a case, send a command, read the read model, run a check."""
