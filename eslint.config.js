import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', 'dist/**', '.tools/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly',
        AbortController: 'readonly', fetch: 'readonly', globalThis: 'readonly', TextDecoder: 'readonly',
        TextEncoder: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly',
        Deno: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The launcher is CommonJS (scripts/bm.cjs says why).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The console's page runs in the browser.
    files: ['web/**'],
    languageOptions: {
      globals: { document: 'readonly', window: 'readonly', EventSource: 'readonly', HTMLElement: 'readonly', HTMLDialogElement: 'readonly', HTMLTextAreaElement: 'readonly', HTMLAnchorElement: 'readonly', MessageEvent: 'readonly', Node: 'readonly' },
    },
  },
);
