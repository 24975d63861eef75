/**
 * kafka-python 2.0.2 (Debian's python3-kafka) against Tributary. It negotiates old API versions
 * (Metadata v1, Produce v3, Fetch v4, ListOffsets v1) and pipelines requests on one connection.
 * Consumes with assign() and no group (group consumption: kafka-python-groups.test.ts).
 */
import { pythonClientSuite } from './support/python-suite.js';

pythonClientSuite('kafka-python', 'kafka_python');
