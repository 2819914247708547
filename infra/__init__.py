"""Infrastructure, made in one place each: settings, errors, keys and the payload codec, the database and
the Temporal client."""
