#!/bin/sh
# First start (no PG_VERSION in PGDATA): a cluster whose superuser is POSTGRES_USER (password
# POSTGRES_PASSWORD, scram-sha-256 from any address, trust on the local socket) and the
# database POSTGRES_DB, as the official image makes them. Then postgres runs as PID 1, user
# postgres.
#
# The cluster is made outside the volume, with its server on a private socket, and copied in
# with PG_VERSION last: until it is complete, pg_isready (the healthcheck) finds no server and
# a start interrupted half way begins again.
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
    if [ -e "$PGDATA/.initializing" ]; then
        find "$PGDATA" -mindepth 1 -delete  # what an interrupted first start left
    elif [ -n "$(ls -A "$PGDATA")" ]; then
        echo "entrypoint: $PGDATA is not empty and holds no cluster; refusing to touch it" >&2
        exit 1
    fi
    work="$(mktemp -d)"
    password_file="$work/password"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --pgdata="$work/cluster" --username="$user" --pwfile="$password_file" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 > /dev/null
    rm -f "$password_file"
    printf "listen_addresses = '*'\n" >> "$work/cluster/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >> "$work/cluster/pg_hba.conf"
    pg_ctl --pgdata="$work/cluster" --wait --silent \
        -o "-c listen_addresses='' -k $work" start > /dev/null
    if [ "$database" != postgres ]; then
        # psql quotes the name (:"db"); variables are not interpolated in --command.
        echo 'CREATE DATABASE :"db";' | psql --quiet --no-psqlrc --host="$work" \
            --username="$user" --dbname=postgres --set=ON_ERROR_STOP=1 --set=db="$database" \
            > /dev/null
    fi
    pg_ctl --pgdata="$work/cluster" --wait --silent --mode=fast stop
    touch "$PGDATA/.initializing"
    mv "$work/cluster/PG_VERSION" "$work/PG_VERSION"
    cp -a "$work/cluster/." "$PGDATA/"
    cp -a "$work/PG_VERSION" "$PGDATA/PG_VERSION"
    rm -rf "$work" "$PGDATA/.initializing"
    echo "entrypoint: database $database created for $user"
fi

exec "$@"
