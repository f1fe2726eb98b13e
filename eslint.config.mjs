// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.venv/**', 'trainer/**', '**/*.mjs', '**/*.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-exports': ['error', { restrictDefaultExports: { direct: true } }],
    },
  },
  {
    // src/core is plain Node: it must never import the vscode API.
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['vscode'] }] },
  },
  {
    // The pages run in a browser sandbox: no Node, no vscode, no host module. They share only
    // src/shared (pure) with the host (tsconfig.webview.json type-checks them without Node types).
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['vscode'],
          patterns: [
            { group: ['node:*', 'fs', 'path', 'child_process', 'os'], message: 'Webview code runs in a browser: no Node modules.' },
            { group: ['**/src/core/**', '**/src/vscode/**', '**/src/cli/**', '**/src/extension'], message: 'Webview code may import only webview/** and src/shared/**.' },
          ],
        },
      ],
    },
  },
  {
    // src/shared is imported by host and pages alike: pure, nothing outside itself.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['vscode'], patterns: [{ group: ['node:*', '../*', '**/webview/**'], message: 'src/shared is pure: no Node, no vscode, nothing outside src/shared.' }] },
      ],
    },
  },
);
