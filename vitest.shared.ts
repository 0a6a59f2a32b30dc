// The one test-runner configuration every project extends. SWC compiles the
// TypeScript so that NestJS's decorator metadata (emitDecoratorMetadata) is
// emitted, which esbuild-based runners cannot do.
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export function projectConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    plugins: [
      swc.vite({
        jsc: {
          target: 'es2023',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
        module: { type: 'es6' },
      }),
    ],
    resolve: { conditions: ['@petrel/source'] },
    ssr: { resolve: { conditions: ['@petrel/source'], externalConditions: ['@petrel/source'] } },
    test: {
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      testTimeout: options.testTimeout ?? 20_000,
      pool: 'forks',
      reporters: ['default'],
    },
  });
}
