#!/usr/bin/env bash
# `make test`: the whole suite on SQLite, then on a throw-away PostgreSQL,
# browser tests included. Both parts run even when the first fails, and the
# time each part took is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTEST=(.venv/bin/pytest -n 2 --dist loadfile)
summary=()
status=0

part() {
  local name=$1 start rc
  shift
  start=$SECONDS
  "$@"
  rc=$?
  summary+=("$(printf '%-46s %5d s  %s' "$name" $((SECONDS - start)) "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
  [ $rc = 0 ] || status=$rc
  return $rc
}

if part "setup (venv, catalogues, assets, Chromium)" make --no-print-directory test-tools; then
  part "tests on SQLite" "${PYTEST[@]}"
  # Tests that use no database of the suite's choice would only repeat themselves.
  part "tests on PostgreSQL (server start included)" scripts/with-postgres.sh "${PYTEST[@]}" \
    -m "not same_on_every_database"
fi

echo
echo "Time per part (total $SECONDS s):"
printf '  %s\n' "${summary[@]}"
exit $status
