import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    // Folder boundaries: the codec layer is pure and imports nothing else from src/.
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/server/**', '**/storage/**', '**/cli/**', '**/client/**'], message: 'src/protocol is pure: no imports from other layers.' },
        { group: ['node:net', 'node:fs', 'node:fs/promises', 'net', 'fs'], message: 'src/protocol does no I/O.' },
      ] }],
    },
  },
  {
    // Storage knows record batches, not requests or sockets.
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/server/**', '**/protocol/generated/**', '**/cli/**'], message: 'src/storage knows record batches, not requests.' },
      ] }],
    },
  },
  {
    // The client speaks only the protocol, so it works against any Kafka: no broker internals.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/server/**', '**/storage/**', '**/coordinator/**', '**/cli/**', '**/connect/**'], message: 'src/client speaks only the protocol: no broker internals.' },
      ] }],
    },
  },
  {
    // Pipelines run on the client library, like any Kafka application: no broker internals.
    files: ['src/connect/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/server/**', '**/storage/**', '**/coordinator/**'], message: 'src/connect uses the client library, not broker internals.' },
      ] }],
    },
  },
);
