// ESLint flat config: type-checked rules, plus the layering rules of docs/ARCHITECTURE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/ARCHITECTURE.md ("may import"), bottom up: per lib and app, the @infergraph libs
 * (`libs`), the libs it may import types from only (`typeLibs`) and the packages (`packages`, `*` = one
 * path segment; `typePackages`: types only) its files may import. `node:` builtins are always allowed.
 * ESLint enforces each row on the files under its folder; scripts/lint/lib-cycles.mjs checks that the rows
 * name every folder under libs/ and apps/ and permit no cycle, and that the sources have none.
 */
export const LAYERS = {
  'libs/protocol': { layer: 'pure', libs: [], packages: ['zod', 'protobufjs'] },
  'libs/spec': { layer: 'pure', libs: ['protocol'], packages: ['zod', 'yaml'] },
  'libs/executor': { layer: 'pure', libs: ['protocol', 'spec'], packages: [] },
  'libs/detectors': { layer: 'pure', libs: ['spec'], packages: [] },
  'libs/nodes': { layer: 'pure', libs: ['protocol', 'spec', 'executor', 'detectors'], packages: ['zod'] },
  'libs/placement': { layer: 'pure', libs: [], packages: [] },
  // Worker threads for work kept off an event loop: request/reply calls, background threads at the lowest priority.
  'libs/threads': { layer: 'pure', libs: [], packages: [] },
  // node:http servers of the apps: how they stop (connections end with their last answer).
  'libs/http-server': { layer: 'adapter', libs: [], packages: [] },
  // Seldon Core v2 and KServe documents → graph documents: plain objects in and out, no I/O.
  'libs/importers': { layer: 'pure', libs: [], packages: [] },
  'libs/cluster': { layer: 'pure', libs: ['placement', 'spec'], packages: [] },
  'libs/rollout': { layer: 'pure', libs: ['spec'], packages: [] },
  'libs/runtime-onnx': { layer: 'adapter', libs: ['protocol', 'nodes', 'threads'], packages: ['onnxruntime-node'] },
  'libs/engine': { layer: 'composition', libs: ['protocol', 'spec', 'executor', 'nodes', 'detectors', 'rollout', 'threads'], packages: ['typescript', 'zod'] },
  'libs/transport-grpc': { layer: 'adapter', libs: ['protocol', 'spec', 'executor'], packages: ['@grpc/grpc-js', '@grpc/proto-loader'] },
  'libs/transport-kafka': { layer: 'adapter', libs: ['protocol', 'spec', 'executor'], packages: ['kafkajs'] },
  // Fed only by engine events: it knows their types, never calls the engine.
  'libs/telemetry': { layer: 'adapter', libs: ['spec', 'executor'], typeLibs: ['engine'], packages: ['prom-client', '@opentelemetry/*', 'zod'] },
  // The only code that calls the Kubernetes API.
  'libs/kube': { layer: 'adapter', libs: ['spec'], packages: ['@kubernetes/client-node'] },
  // The only code that downloads models (https, S3); implements the engine's ModelFetcher port.
  'libs/model-store': { layer: 'adapter', libs: ['spec', 'protocol'], typeLibs: ['engine'], packages: ['@aws-sdk/client-s3', 'zod'] },
  'libs/dashboard': { layer: 'adapter', libs: [], packages: [] },
  'apps/controller': {
    layer: 'app',
    libs: ['protocol', 'spec', 'placement', 'cluster', 'engine', 'telemetry', 'transport-grpc', 'kube', 'dashboard', 'http-server'],
    packages: ['@nestjs/common', '@nestjs/core', '@nestjs/platform-fastify', 'fastify', 'reflect-metadata', 'zod'],
  },
  'apps/gateway': {
    layer: 'app',
    libs: ['protocol', 'spec', 'executor', 'runtime-onnx', 'engine', 'telemetry', 'transport-grpc', 'transport-kafka', 'model-store', 'dashboard', 'http-server'],
    packages: ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', '@nestjs/platform-fastify', 'fastify', 'reflect-metadata', 'zod', 'jose'],
  },
  // A plain Node program (no NestJS): commands over the libs, the gateway as a child process, HTTP/gRPC clients.
  'apps/cli': {
    layer: 'app',
    libs: ['protocol', 'spec', 'runtime-onnx', 'engine', 'transport-grpc', 'importers'],
    packages: ['zod', 'yaml', '@grpc/grpc-js'],
  },
  // A NestJS application context, not a microservice: no @nestjs/microservices.
  'apps/worker': {
    layer: 'app',
    libs: ['protocol', 'spec', 'executor', 'runtime-onnx', 'engine', 'telemetry', 'transport-grpc', 'transport-kafka', 'model-store'],
    packages: ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'zod'],
    typePackages: ['@grpc/grpc-js'],
  },
};

const noDeepImports = {
  group: ['@infergraph/*/*'],
  message: 'Import a library through its public entry point (@infergraph/<lib>), never its files.',
};
const noCrossTreeRelative = {
  regex: '^(\\.\\./)+(libs|apps)/',
  message: 'Reach other libraries through @infergraph/<lib> path aliases, not relative paths.',
};

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A package name, `*` standing for one path segment, as a regex that also matches its subpaths. */
const packageRegex = (name) => `${escapeRegex(name).replace(/\\\*/g, '[^/]+')}(?:/|$)`;
const alternatives = (regexes) => (regexes.length === 0 ? '' : `|(?:${regexes.join('|')})`);
const listed = (names) => (names.length === 0 ? 'nothing' : names.join(', '));

/** The no-restricted-imports patterns of one row: the shared ones, then its libs and packages. */
function layerPatterns(dir, row) {
  const libs = [...row.libs, ...(row.typeLibs ?? [])];
  const packages = [...row.packages, ...(row.typePackages ?? [])];
  const where = `(its row in LAYERS, eslint.config.mjs; docs/ARCHITECTURE.md)`;
  return [
    noDeepImports,
    noCrossTreeRelative,
    {
      regex: libs.length === 0 ? '^@infergraph/' : `^@infergraph/(?!(?:${libs.map(escapeRegex).join('|')})$)`,
      caseSensitive: true,
      message: `${dir} may import only these @infergraph libs: ${listed(libs)} ${where}. Dependencies point down; an upward one means a missing lower layer.`,
    },
    {
      regex: `^(?!node:|\\.|@infergraph/${alternatives(packages.map(packageRegex))})`,
      caseSensitive: true,
      message:
        row.layer === 'pure'
          ? `${dir} is pure: besides node: builtins it imports only ${listed(packages)} ${where}. Put a framework or driver behind an adapter lib.`
          : `${dir} imports only node: builtins and ${listed(packages)} ${where}.`,
    },
  ];
}

/** One config object per row; each repeats the shared patterns, since a later no-restricted-imports replaces earlier ones. */
function layerConfigs() {
  return Object.entries(LAYERS).map(([dir, row]) => {
    const typeOnly = [...(row.typeLibs ?? []).map((l) => `@infergraph/${l}`), ...(row.typePackages ?? [])];
    return {
      name: `infergraph/layers/${dir}`,
      files: [`${dir}/**`],
      rules: {
        'no-restricted-imports': ['error', { patterns: layerPatterns(dir, row) }],
        ...(typeOnly.length === 0
          ? {}
          : {
              '@typescript-eslint/no-restricted-imports': [
                'error',
                {
                  patterns: typeOnly.map((name) => ({
                    regex: `^${packageRegex(name)}`,
                    caseSensitive: true,
                    allowTypeImports: true,
                    message: `${dir} may import only types from ${name} (LAYERS, eslint.config.mjs): use \`import type\`.`,
                  })),
                },
              ],
            }),
      },
    };
  });
}

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
  ...layerConfigs(),
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
  {
    // The dashboards' browser modules (apps/<app>/ui): browser globals instead of Node's.
    files: ['apps/*/ui/**/*.js', 'libs/dashboard/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', EventSource: 'readonly', CSS: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', URL: 'readonly', URLSearchParams: 'readonly' },
    },
  },
);
