#!/usr/bin/env bash
# Starts a Postgres with pgvector for the pgvector tests: PGlite (Postgres 18
# in Wasm) with its pgvector extension, served over TCP by pglite-socket, all
# from npm (pgvector has no Debian package here). Prints the URL to export:
#
#   eval "$(scripts/pglite-pgvector.sh)"      # sets TEST_PGVECTOR_URL and PGLITE_PID
#   go test -count=1 -run Pgvector ./host/memory/
#   kill -9 "$PGLITE_PID"                     # SIGTERM does not stop it promptly
#
# PGlite is ONE Postgres session shared by every connection: fine for the
# vector SQL, table shapes and plans; River, LISTEN/NOTIFY and concurrency
# tests need a real Postgres. Node 20 or later.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.cache/pglite"
PORT="${PGLITE_PORT:-19031}"
mkdir -p "$DIR"
if [ ! -d "$DIR/node_modules/@electric-sql/pglite-socket" ]; then
	(cd "$DIR" && [ -f package.json ] || echo '{"private":true}' > package.json
	 cd "$DIR" && npm i --no-audit --no-fund --silent \
		@electric-sql/pglite@0.5.15 @electric-sql/pglite-pgvector@0.0.16 @electric-sql/pglite-socket@0.2.18) >&2
fi
node "$DIR/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js" \
	-p "$PORT" -e @electric-sql/pglite-pgvector:vector -m 8 > "$DIR/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
	if grep -q "listening" "$DIR/server.log" 2>/dev/null; then
		# exec mode: pgx's cached prepared statements would collide in
		# PGlite's one session as soon as a second pool connects.
		echo "export TEST_PGVECTOR_URL='postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&default_query_exec_mode=exec' PGLITE_PID=$pid"
		exit 0
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$DIR/server.log" >&2
		exit 1
	fi
	sleep 0.5
done
echo "pglite-pgvector: not listening after 60 s; see $DIR/server.log" >&2
kill -9 "$pid"
exit 1
