export { startBroker, type StartBrokerOptions, type RunningBroker } from './server/broker.js';
export { TributaryError, KafkaError } from './errors.js';
