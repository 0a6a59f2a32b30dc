// Lint is part of the architecture: @nx/enforce-module-boundaries turns the
// design's layering into errors (apps never import apps, core libs import only
// core libs), and the core libs may not touch I/O, Redis, Nest or gRPC.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const ioModules = [
  'net',
  'node:net',
  'tls',
  'node:tls',
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'dns',
  'node:dns',
  'http',
  'node:http',
  'https',
  'node:https',
  'child_process',
  'node:child_process',
  'dgram',
  'node:dgram',
  'timers',
  'node:timers',
];

const boundaries = {
  enforceBuildableLibDependency: false,
  allow: [],
  depConstraints: [
    { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
    { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
    // bench/cluster: the local cluster that benches and chaos tests start.
    { sourceTag: 'type:bench-lib', onlyDependOnLibsWithTags: ['type:lib'] },
    { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib', 'type:bench-lib'] },
  ],
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.tools/**', '.nx/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    plugins: { '@nx': nx },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@nx/enforce-module-boundaries': ['error', boundaries],
    },
  },
  {
    // The tests of any project (core libs included) may use the shared test
    // harness, @petrel/testing: it ships in no build, so a test reaching it
    // bends no layer of the shipped code. Everything else stays enforced.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { ...boundaries, allow: ['@petrel/testing'] }],
    },
  },
  {
    // Tool configuration files may reach the root's shared configuration.
    files: ['**/vitest.config.ts', '**/*.config.mjs'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    // The pure cores (the protocol, the bounce builder): no sockets, timers,
    // clock, randomness or frameworks.
    files: ['libs/smtp/src/**/*.ts', 'libs/dsn/src/**/*.ts'],
    ignores: ['libs/smtp/src/**/*.spec.ts', 'libs/dsn/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'a pure core is sans-I/O' })),
          patterns: [
            {
              group: ['@nestjs/*', 'bullmq', 'ioredis', '@grpc/*'],
              message: 'a pure core is sans-I/O',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'timeouts arrive as inputs' },
        { name: 'setInterval', message: 'timeouts arrive as inputs' },
        { name: 'fetch', message: 'a pure core is sans-I/O' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'the clock arrives as an input' },
        { object: 'Math', property: 'random', message: 'randomness arrives as an input' },
      ],
    },
  },
);
