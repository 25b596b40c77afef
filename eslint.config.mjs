// ESLint flat config: type-checked rules, plus the layering rules of docs/ARCHITECTURE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PURE_LIBS = ['libs/protocol/**', 'libs/spec/**', 'libs/executor/**', 'libs/nodes/**', 'libs/detectors/**', 'libs/placement/**', 'libs/cluster/**'];
const DRIVERS = ['@nestjs/*', 'onnxruntime-node', 'onnxruntime-common', 'kafkajs', '@grpc/*', 'fastify', 'prom-client', '@opentelemetry/*'];

const noDeepImports = {
  group: ['@infergraph/*/*'],
  message: 'Import a library through its public entry point (@infergraph/<lib>), never its files.',
};
const noCrossTreeRelative = {
  regex: '^(\\.\\./)+(libs|apps)/',
  message: 'Reach other libraries through @infergraph/<lib> path aliases, not relative paths.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'coverage/**', 'test/fixtures/modules/broken.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [noDeepImports, noCrossTreeRelative] }],
    },
  },
  {
    files: PURE_LIBS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noDeepImports,
            noCrossTreeRelative,
            { group: DRIVERS, message: 'Pure libraries import no framework or driver; put it behind an adapter.' },
          ],
        },
      ],
    },
  },
  {
    // NestJS resolves constructor parameters from decorator metadata: type-only imports of
    // injected classes would erase it.
    files: ['apps/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', module: 'readonly', exports: 'writable', require: 'readonly' },
    },
  },
);
