import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importCycles from './tools/lint/import-cycles.mjs';

/** Import patterns naming the given folders of src/. */
const layers = (...names) => names.map((n) => `**/${n}/**`);

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'node_modules/**', 'data/**', 'src/protocol/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // Layers, bottom to top (docs/ARCHITECTURE.md draws them): util and protocol import no other layer; storage
  // knows batches; coordinator reaches partitions only through its CoordinatorPartitions; server wires them;
  // client speaks only the protocol; connect and experiment run on the client; cli sits on top of all.
  {
    // Shared helpers below all their users: they import no layer.
    files: ['src/util/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('protocol', 'storage', 'security', 'coordinator', 'cluster', 'server', 'client', 'connect', 'experiment', 'cli'), message: 'src/util is below every layer: it imports none.' },
      ] }],
    },
  },
  {
    // The codec layer is pure and imports nothing else from src/.
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('util', 'storage', 'security', 'coordinator', 'cluster', 'server', 'client', 'connect', 'experiment', 'cli'), message: 'src/protocol is pure: no imports from other layers.' },
        { group: ['node:net', 'node:fs', 'node:fs/promises', 'net', 'fs'], message: 'src/protocol does no I/O.' },
      ] }],
    },
  },
  {
    // Storage knows record batches, not requests or sockets.
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: [...layers('security', 'coordinator', 'cluster', 'server', 'client', 'connect', 'experiment', 'cli'), '**/protocol/generated/**'], message: 'src/storage knows record batches, not requests.' },
      ] }],
    },
  },
  {
    // Security (SASL mechanisms, SCRAM credentials, JAAS) sits on util, protocol and storage; the server, the
    // cluster layer (etcd credential backend) and the client (its SASL side) use it.
    files: ['src/security/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('coordinator', 'cluster', 'server', 'client', 'connect', 'experiment', 'cli'), message: 'src/security imports only util, protocol and storage.' },
      ] }],
    },
  },
  {
    // Coordinators reach partitions through CoordinatorPartitions (where the cluster's leadership goes), not
    // through the server's TopicManager or the storage layer's logs; only the atomic file write is shared.
    files: ['src/coordinator/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: [...layers('storage', 'cluster', 'server', 'client', 'connect', 'experiment', 'cli'), '!**/storage/file-io.js'], message: 'src/coordinator reaches partitions only through CoordinatorPartitions (coordinator-partitions.ts).' },
      ] }],
    },
  },
  {
    // The cluster layer (etcd metadata, controller, replication) sits under the server; it talks to other brokers
    // through the client's wire connection only.
    files: ['src/cluster/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: [...layers('coordinator', 'server', 'connect', 'experiment', 'cli'), '**/client/*.js', '**/client/**/*.js', '!**/client/connection.js'], message: 'src/cluster uses storage, protocol and the client\'s Connection only.' },
      ] }],
    },
  },
  {
    // The broker is not a client.
    files: ['src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('client', 'connect', 'experiment', 'cli'), message: 'src/server is the broker: no client-side layers.' },
      ] }],
    },
  },
  {
    // Metrics read the broker (its context, the hooks the request path fills) and run the endpoint; they are not a client.
    // The server reaches them only through server/metrics-hooks.ts, and broker.ts alone starts them.
    files: ['src/metrics/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('client', 'connect', 'experiment', 'cli', 'console'), message: 'src/metrics reads the broker: no client-side layers.' },
      ] }],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    ignores: ['src/server/broker.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('client', 'connect', 'experiment', 'cli'), message: 'src/server is the broker: no client-side layers.' },
        { group: layers('metrics'), message: 'The request path reports through server/metrics-hooks.ts; only broker.ts starts the metrics.' },
      ] }],
    },
  },
  {
    // The client speaks only the protocol, so it works against any Kafka: no broker internals.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('storage', 'coordinator', 'cluster', 'server', 'connect', 'experiment', 'cli'), message: 'src/client speaks only the protocol: no broker internals.' },
      ] }],
    },
  },
  {
    // Pipelines run on the client library, like any Kafka application: no broker internals, no CLI.
    files: ['src/connect/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('storage', 'coordinator', 'cluster', 'server', 'experiment', 'cli'), message: 'src/connect uses the client library, not broker internals or the CLI.' },
      ] }],
    },
  },
  {
    // Stream processing is an application on the client library (its runtime comes later): no broker internals.
    files: ['src/streams/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('storage', 'security', 'coordinator', 'cluster', 'server', 'metrics', 'connect', 'experiment', 'console', 'cli'), message: 'src/streams runs on the client library like any Kafka application: no broker internals, connect or CLI.' },
      ] }],
    },
  },
  {
    // The web console's server sits on the client like any Kafka tool (so it serves Apache Kafka too): the
    // client, util and protocol only.
    files: ['src/console/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('storage', 'security', 'coordinator', 'cluster', 'server', 'connect', 'experiment', 'cli'), message: 'src/console talks to Kafka through the client library only: no broker internals, connect or CLI.' },
      ] }],
    },
  },
  {
    // The console's web app runs in the browser: its own files, preact and uplot only (esbuild bundles them).
    files: ['src/console/web/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^(?!preact(/hooks)?$|uplot$|\\./[a-z-]+$).*', message: 'src/console/web imports only its own files, preact and uplot.' },
      ] }],
    },
  },
  {
    // The schema registry (REST API, store, client, serdes) is an application on the client library, like the
    // console: it keeps its state in the `_schemas` topic, so it serves Apache Kafka too.
    files: ['src/registry/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('storage', 'security', 'coordinator', 'cluster', 'server', 'metrics', 'connect', 'streams', 'experiment', 'console', 'cli'), message: 'src/registry runs on the client library: no broker internals, connect, streams or CLI.' },
      ] }],
    },
  },
  {
    // The experiment runs pipelines and direct loaders as an application would.
    files: ['src/experiment/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: layers('storage', 'coordinator', 'cluster', 'server', 'cli'), message: 'src/experiment uses the client and connect layers, not broker internals or the CLI.' },
      ] }],
    },
  },
  {
    // No import cycles between the files of src/ (e.g. the broker context and the handler shape).
    files: ['src/**/*.ts'],
    plugins: { layers: importCycles },
    rules: { 'layers/no-cycle': 'error' },
  },
);
