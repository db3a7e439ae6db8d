#!/usr/bin/env bash
# A chaos worker made of the `ferrolock` command: `ferrolock run` in a loop,
# its command writing to the fenced store (cli_body.py). Arguments as the
# other workers take them, --key value.
set -u
here=$(dirname "$0")
while [ $# -gt 0 ]; do declare "$(echo "${1#--}" | tr - _)=$2"; shift 2; done
: "${url:?} ${name:?} ${log:?} ${ttl_ms:?} ${wait_ms:?} ${hold_ms:?} ${store:?} ${until:?}"
record() { printf '{"pid": %d, "lang": "cli", "ev": "%s", "t_ns": %s%s}\n' $$ "$1" "$(date +%s%N)" "${2-}" >>"$log"; }
while [ "$(date +%s%3N)" -lt "$until" ]; do
    start=$(date +%s%N)
    FERROLOCK_CHAOS_START=$start "$FERROLOCK_CLI" run --url "$url" --ttl "${ttl_ms}ms" --timeout "${wait_ms}ms" "$name" -- \
        python3 "$here/cli_body.py" "$store" "$log" "$hold_ms"
    status=$?
    record exit-status ", \"status\": $status, \"waited_ms\": $(( ($(date +%s%N) - start) / 1000000 ))"
done
record exit
