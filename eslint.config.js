// ESLint for the kit's TypeScript and JavaScript (`npm run lint`; ./kit test runs it through
// tooling/test/lint.test.ts). TypeScript is linted with its types (typescript-eslint's
// recommendedTypeChecked), each file with the tsconfig it is compiled with: the steps' sources
// with their own (their npm packages installed by tooling/lint.sh), tests and tooling with the
// root one. Formatting is Prettier's (.prettierrc.json): eslint-config-prettier turns off the
// rules it would fight with.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';

const root = import.meta.dirname;

export default defineConfig(
  {
    ignores: ['**/node_modules/', '**/dist/', 'slides/out/', 'out/', 'load/results/'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: [
          './tsconfig.json',
          './steps/*/tsconfig.json',
          './steps/04-operator/operator/tsconfig.json',
        ],
        tsconfigRootDir: root,
      },
    },
    rules: {
      // `_name` says "unused on purpose" (a parameter a callback's signature needs).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  // In tests, jest's asymmetric matchers (expect.any(Number), expect.stringContaining(...)) are
  // typed \`any\`: every object that holds one would be an "unsafe assignment".
  {
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  // Step 00 is broken on purpose: the prize is handed out in a promise nobody awaits or catches,
  // and its rejection kills the app (the step's README and slides are about that crash).
  {
    files: ['steps/00-broken-app/src/app.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  // JavaScript: Node.js modules (jest's config and plugins, the deck's engine, the stand-in
  // Prometheus) and k6 scripts (load/*.js: k6's own globals, no Node.js).
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['load/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly' } },
  },
  prettier,
  // The steps' sources are shown on slides: 100 columns at most. Prettier wraps code at 100; this
  // catches what it cannot wrap (comments, strings, template literals). After `prettier`, which
  // turns max-len off.
  {
    files: ['steps/*/src/**/*.ts', 'steps/04-operator/operator/src/**/*.ts'],
    rules: { 'max-len': ['error', { code: 100, tabWidth: 2 }] },
  },
);
