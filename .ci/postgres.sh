#!/usr/bin/env bash
# Installs (Debian package) and starts a PostgreSQL server on 127.0.0.1:5432 with the role and
# database the storage tests look for by default:
#   Host=127.0.0.1;Port=5432;Username=ganbert;Password=ganbert;Database=ganbert_test
# Idempotent: a server already answering on the port is reused, the role and database are
# created only when missing. Needs root (apt-get, running as the postgres user).
set -euo pipefail

PORT=${GANBERTBOTS_PG_PORT:-5432}   # another port only to try the script beside a running server
ROLE=ganbert
PASSWORD=ganbert
DATABASE=ganbert_test

say() { echo "postgres.sh: $*"; }

server_binary() { ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1; }

# 1. Install the server package when it is not there yet.
if [ -z "$(server_binary)" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  say "installing the postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q postgresql
fi
BIN=$(dirname "$(server_binary)")
VERSION=$(basename "$(dirname "$BIN")")
say "PostgreSQL $VERSION ($BIN)"

# 2. Start a server unless one already answers on 127.0.0.1:$PORT.
SOCKET_DIR=/var/run/postgresql
FALLBACK_DIR=${TMPDIR:-/tmp}/ganbertbots-postgres
if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  say "a server already answers on 127.0.0.1:$PORT"
  # Started by an earlier run of the fallback below? Then its socket is there.
  if [ ! -S "$SOCKET_DIR/.s.PGSQL.$PORT" ] && [ -S "$FALLBACK_DIR/socket/.s.PGSQL.$PORT" ]; then SOCKET_DIR=$FALLBACK_DIR/socket; fi
else
  started=no
  # The Debian way: the packaged cluster (created by the package's postinst; created here if missing).
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$VERSION main"; then
    pg_createcluster "$VERSION" main -p "$PORT" >/dev/null || true
  fi
  if pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2" "$3}' | grep -qx "$VERSION main $PORT"; then
    if pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start; then started=yes; fi
  fi
  # Fallback: a throw-away cluster in a temp dir, run as the postgres user.
  if [ "$started" = no ]; then
    DATA=$FALLBACK_DIR
    SOCKET_DIR=$DATA/socket
    say "pg_ctlcluster did not start a server on $PORT; using initdb + pg_ctl in $DATA"
    mkdir -p "$DATA" && chown postgres:postgres "$DATA"
    if [ ! -f "$DATA/db/PG_VERSION" ]; then
      runuser -u postgres -- "$BIN/initdb" -D "$DATA/db" -U postgres --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    fi
    runuser -u postgres -- mkdir -p "$SOCKET_DIR"
    runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $SOCKET_DIR" start
  fi
fi

for _ in $(seq 1 30); do
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
  sleep 1
done
"$BIN/pg_isready" -h 127.0.0.1 -p "$PORT"

# 3. The role and database the tests use (superuser over the local socket, peer auth).
admin_psql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" "$@"; }
admin_psql -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
  END IF;
END
\$\$;
SQL
if ! admin_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -qx 1; then
  admin_psql -d postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi

# 4. Prove the tests' connection string works (password auth over TCP).
PGPASSWORD=$PASSWORD psql -X -q -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DATABASE" -tAc "SELECT 'connected as ' || current_user || ' to ' || current_database() || ', ' || version()"
say "ready: Host=127.0.0.1;Port=$PORT;Username=$ROLE;Password=$PASSWORD;Database=$DATABASE"
