#!/usr/bin/env bash
# Installs the servers `npm run bench -- --only compare` measures Tributary against: Debian's nats-server (JetStream)
# and rabbitmq-server (its rabbitmq_stream plugin ships in the same package), unless both are already there. The
# bench starts and stops its own instances on 127.0.0.1 under a temporary directory; it does not need, start or touch
# a system service. Run as root (apt-get).
set -euo pipefail
installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for pkg in nats-server rabbitmq-server; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "nats-server and rabbitmq-server are installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
# Debian's package may start a system RabbitMQ where an init system runs; the bench uses its own node either way.
echo "installed: ${missing[*]}"
