#!/bin/sh
# Runs once, when the Postgres volume is first initialised: Keycloak gets its own role and database, so it
# can neither read nor write the case record.
set -eu
: "${KEYCLOAK_DB_PASSWORD:?set KEYCLOAK_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$KEYCLOAK_DB_PASSWORD" <<'SQL'
CREATE ROLE keycloak LOGIN PASSWORD :'pw';
CREATE DATABASE keycloak OWNER keycloak;
SQL
