// Bundles the extension host, the CLI and every webview. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native or heavy modules stay outside the bundle and ship in node_modules.
const nodeExternals = ['vscode', 'onnxruntime-node', '@huggingface/transformers', 'sharp', 'tokenizers'];

// jsonc-parser's "main" is a UMD build whose inner requires esbuild cannot follow: bundle its ES modules.
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info', alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' } };

const webviews = existsSync('webview')
  ? readdirSync('webview', { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`webview/${d.name}/main.ts`))
      .map((d) => d.name)
  : [];

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals, banner: { js: '#!/usr/bin/env node' } },
  ...webviews.map((name) => ({ ...common, entryPoints: [`webview/${name}/main.ts`], outfile: `dist/webview/${name}.js`, platform: 'browser', format: 'iife', target: 'es2022', loader: { '.css': 'css' } })),
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
