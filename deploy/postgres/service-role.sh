#!/bin/sh
# The login the case API and the worker use: it may read every table and write what the service writes, but
# `mvp db migrate` (run as the owner, with MVP_SERVICE_ROLE=mvp_service) grants it only INSERT and SELECT on the
# append-only tables (case_record, access_log, enforcement_checks, enforcement_actions).
set -eu
: "${MVP_SERVICE_DB_PASSWORD:?set MVP_SERVICE_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE mvp_service LOGIN PASSWORD '${MVP_SERVICE_DB_PASSWORD}' NOSUPERUSER NOCREATEDB NOCREATEROLE;
GRANT CONNECT ON DATABASE ${POSTGRES_DB} TO mvp_service;
SQL
