/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 (Debian's python3-confluent-kafka) against
 * Tributary. Consumes with assign() and nothing committed: the broker has no group coordinator yet.
 */
import { pythonClientSuite } from './support/python-suite.js';

pythonClientSuite('confluent-kafka', 'confluent_kafka');
