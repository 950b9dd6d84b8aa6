#!/bin/sh
# The container's command. `serve` (the default) first brings the schema to the latest
# revision, loads the demo data set into an empty database when CLOSELOOP_DEMO=1, then
# becomes the service (exec, so that it gets the container's SIGTERM and stops gracefully).
# Any other arguments run that `closeloop` command, e.g. `ask "health acme"` or `migrate`.
set -eu

if [ "${1:-}" = "serve" ]; then
    case "${CLOSELOOP_DEMO:-0}" in
        1 | true | yes) demo=1 ;;
        0 | false | no | "") demo=0 ;;
        *)
            echo "error: CLOSELOOP_DEMO must be 1 (load the demo data into an empty database) or 0" >&2
            exit 2
            ;;
    esac
    closeloop migrate
    if [ "$demo" = 1 ]; then
        closeloop seed --if-empty
        closeloop snapshot --backfill 30
    fi
fi
exec closeloop "$@"
