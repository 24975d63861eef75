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
# The CLI bundle (tools/build-cli.mjs) when it is not older than the last tsc build: it loads in a fraction of the time.
bundle="$root/dist/src/bundle/kafka/entry.js"
if [ -f "$bundle" ] && ! [ "$root/dist/.tsbuildinfo" -nt "$bundle" ]; then
  entry="$bundle"
fi
exec "${TRIBUTARY_NODE:-node}" "$entry" "$@"
