import { readdirSync } from 'node:fs';
import { URL } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * The domain tier (libs/domain) is pure: records, the status machine, policies, delay-tier maths,
 * classification, redaction, the delivery decisions and the projection fold. It does no I/O and
 * knows no edge: clocks and ids are passed in. These imports break that, so the lint fails.
 */
// Every folder of libs/edge is an edge lib (@herald/<folder>), so a new one is covered at once.
const EDGE_LIBS = readdirSync(new URL('libs/edge/', import.meta.url));
const IO_MODULES = [
  'kafkajs',
  '@kafkajs/*',
  'mongodb',
  'undici',
  'nodemailer',
  'nodemailer/*',
  'smtp-server',
  'express',
  'prom-client',
  'jose',
  '@nestjs/*',
];
const NODE_IO = [
  'child_process',
  'crypto',
  'dgram',
  'dns',
  'fs',
  'fs/*',
  'http',
  'http2',
  'https',
  'net',
  'tls',
];
/** Services, libraries and tools never reach into the tests' support code. */
const NOT_TESTS = { group: ['**/test/**'], message: 'nothing outside test/ imports test/' };
const domainImports = {
  patterns: [
    {
      group: [...IO_MODULES, ...NODE_IO.flatMap((name) => [name, `node:${name}`])],
      message:
        'libs/domain is pure: no I/O library, no clock or id source (pass them in); do the I/O in libs/edge.',
    },
    {
      group: [
        ...EDGE_LIBS.map((name) => `@herald/${name}`),
        '**/edge/**',
        '@tools/*',
        '**/apps/**',
      ],
      message:
        'libs/domain must not depend on libs/edge, apps or tools: edges depend on the domain.',
    },
    NOT_TESTS,
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.herald/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'tools/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NOT_TESTS] }] },
  },
  // After the block above: for a domain file this rule replaces it (NOT_TESTS included).
  {
    files: ['libs/domain/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', domainImports] },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The dashboard's one browser script (served as is, no build step).
  {
    files: ['apps/dashboard/src/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        DOMParser: 'readonly',
      },
    },
  },
);
