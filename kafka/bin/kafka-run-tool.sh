#!/bin/sh
# Runs one of Apache Kafka's tools as a Tributary drop-in (kafka-run-tool.sh <tool> [args]): what every
# kafka-*.sh here execs, as Kafka's scripts exec kafka-run-class.sh. See "Kafka's scripts" in the README.
self=$(readlink -f "$0" 2>/dev/null || printf '%s' "$0")
root=$(cd "$(dirname "$self")/../.." && pwd)
entry="$root/dist/src/cli/kafka/entry.js"
if [ ! -f "$entry" ]; then
  echo "tributary is not built yet: run \`npm run build\` in $root" >&2
  exit 1
fi
exec "${TRIBUTARY_NODE:-node}" "$entry" "$@"
