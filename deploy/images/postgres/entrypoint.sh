#!/bin/sh
# First start (empty PGDATA): a cluster whose superuser is POSTGRES_USER (password
# POSTGRES_PASSWORD, scram-sha-256 from any address, trust on the local socket) and the
# database POSTGRES_DB, as the official image does. Then postgres runs as PID 1, user postgres.
set -eu

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user="${POSTGRES_USER:-postgres}"
    database="${POSTGRES_DB:-$user}"
    password_file="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --username="$user" --pwfile="$password_file" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 > /dev/null
    rm -f "$password_file"
    printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    # Local socket only while the database is created: no client gets in half way.
    pg_ctl --wait --silent -o "-c listen_addresses=''" start
    if [ "$database" != postgres ]; then
        # psql quotes the name (:"db"); variables are not interpolated in --command.
        echo 'CREATE DATABASE :"db";' | psql --quiet --no-psqlrc --username="$user" \
            --dbname=postgres --set=ON_ERROR_STOP=1 --set=db="$database" > /dev/null
    fi
    pg_ctl --wait --silent --mode=fast stop
    echo "entrypoint: database $database created for $user"
fi

exec "$@"
