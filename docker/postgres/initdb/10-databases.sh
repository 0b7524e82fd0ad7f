#!/usr/bin/env bash
# Run by the postgres image once, when its data volume is first initialised
# (docker-entrypoint-initdb.d). Login roles, so the case store and Temporal cannot read
# each other's data, and the case store's app cannot rewrite its own audit trail:
#   caseflow_owner -> caseflow                     (owns the schema; migrations and the
#                                                   retention purge sign in as it)
#   caseflow       (owns nothing)                  (the API and the worker; each migration
#                                                   grants it what database.APP_PRIVILEGES
#                                                   lists: the trail is SELECT and INSERT)
#   temporal  -> temporal, temporal_visibility     (auto-setup loads Temporal's schema)
# The passwords come from the environment and are read by psql itself (\getenv),
# so they appear on no command line. Changing them later: ALTER ROLE ... PASSWORD.
#
# The entrypoint may source this file instead of running it: so no `set -u` and no `exit`.
set -e

: "${CASEFLOW_DB_PASSWORD:?CASEFLOW_DB_PASSWORD must be set}"
: "${CASEFLOW_OWNER_DB_PASSWORD:?CASEFLOW_OWNER_DB_PASSWORD must be set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" <<'SQL'
\getenv caseflow_password CASEFLOW_DB_PASSWORD
\getenv caseflow_owner_password CASEFLOW_OWNER_DB_PASSWORD
\getenv temporal_password TEMPORAL_DB_PASSWORD

CREATE ROLE caseflow_owner LOGIN PASSWORD :'caseflow_owner_password';
CREATE ROLE caseflow LOGIN PASSWORD :'caseflow_password';
CREATE DATABASE caseflow OWNER caseflow_owner;
REVOKE ALL ON DATABASE caseflow FROM PUBLIC;
GRANT CONNECT ON DATABASE caseflow TO caseflow;

-- Temporal's visibility schema runs CREATE EXTENSION btree_gin: a trusted extension
-- (PostgreSQL 13+), which the database's owner may create without being a superuser.
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
REVOKE ALL ON DATABASE temporal FROM PUBLIC;
REVOKE ALL ON DATABASE temporal_visibility FROM PUBLIC;
SQL
