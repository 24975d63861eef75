#!/usr/bin/env bash
# Installs librdkafka 2.15 for test/compat (@confluentinc/kafka-javascript 1.10.1, pinned by package-lock.json)
# unless its native binding is already built and loads. The prebuilt download is not reachable, so its
# install script builds the bundled librdkafka and the binding (node-gyp: g++, make, python3, libssl-dev,
# zlib1g-dev; about 1-3 minutes); CKJS_LINKING=dynamic links that librdkafka as a shared library next to the
# binding and uses the system's OpenSSL and zlib. package.json's allowScripts lets npm 11 run that script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
check() {
  node -e "const k = require('@confluentinc/kafka-javascript'); if (!/^2\.15\./.test(k.librdkafkaVersion)) { console.error('librdkafka ' + k.librdkafkaVersion + ', expected 2.15'); process.exit(1); } console.log('librdkafka ' + k.librdkafkaVersion + ' ready')"
}
if check 2>/dev/null; then exit 0; fi
CKJS_LINKING=dynamic npm ci --no-audit --no-fund
check
