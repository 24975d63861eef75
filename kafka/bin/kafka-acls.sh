#!/bin/sh
# Apache Kafka's kafka-acls.sh as a Tributary drop-in (same flags, same output): see "Kafka's scripts" in the README.
exec "$(dirname "$(readlink -f "$0" 2>/dev/null || printf '%s' "$0")")/kafka-run-tool.sh" kafka-acls "$@"
