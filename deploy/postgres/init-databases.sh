#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d): one role and one database per service,
# haizhi_<service>, the database owned by its role and closed to every other role, so no service
# can reach another's data (docs/runbook.md, "PostgreSQL, one database per service").
#
# Each role's password is the environment variable DB_PASSWORD_<SERVICE> (from .env in
# docker compose); the script stops at the first one missing. It runs once, on an empty data
# volume: to change a password later, ALTER ROLE ... PASSWORD as the superuser.
#
# Run by the image's entrypoint as the postgres user, with POSTGRES_USER and POSTGRES_DB set;
# psql reaches the server it started for the initialisation through its socket. The tests run it
# against a throwaway server the same way (tests/deploy/test_postgres_init.py).
set -eu

SERVICES="${DB_SERVICES:-application review assessment funding notification}"

for service in $SERVICES; do
    variable="DB_PASSWORD_$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')"
    password="$(printenv "$variable" || true)"
    if [ -z "$password" ]; then
        echo "init-databases: $variable is not set" >&2
        exit 1
    fi
    # psql's :"name" and :'value' quote an identifier and a literal: nothing in a password is
    # taken as SQL.
    psql --no-psqlrc --set ON_ERROR_STOP=1 \
        --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
        --set role="haizhi_$service" --set password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
    echo "init-databases: role and database haizhi_$service"
done
