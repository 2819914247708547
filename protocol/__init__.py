"""The Migrant Victims Protocol as pure rules: no I/O, no temporalio, no sqlmodel; `now` is an argument."""
