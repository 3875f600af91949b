#!/usr/bin/env bash
# Fuzzes every decoder of client input in host/server, one target after the
# other, for FUZZTIME each (default 30s): the server must never panic nor
# answer 5xx. A failing input is saved under host/server/testdata/fuzz/ and
# then runs with every `go test` as a regression seed.
#
#   scripts/fuzz.sh               # 30s per target
#   FUZZTIME=5m scripts/fuzz.sh   # longer
#   scripts/fuzz.sh FuzzRootBody  # some targets only
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-30s}
parallel=${FUZZPARALLEL:-2}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(go test -list 'Fuzz.*' ./host/server/ | grep '^Fuzz')
fi
for t in "${targets[@]}"; do
	echo "== $t ($time)"
	go test ./host/server/ -run '^$' -fuzz "^${t}\$" -fuzztime "$time" -parallel "$parallel"
done
