// Builds the Linux x64 .vsix: a production build of dist/, then vsce with .vscodeignore plus the
// node_modules packages reached only through dropped ones (see DROPPED below).
//   node scripts/package.mjs [--out FILE] [--no-build] [--if-stale]
// --if-stale: do nothing when the .vsix is newer than every packaged source (src, webview, media,
// trainer, manifest, lockfile, ignore rules, this script). Prints the .vsix path and its size.
// Env BERT_STUDIO_VSIX_OUT sets the output path too.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const TARGET = 'linux-x64';
// Packages that Node never loads at run time: @huggingface/transformers' Node build bundles what
// it needs of onnxruntime-web and runs on onnxruntime-node.
const DROPPED = new Set(['onnxruntime-web']);

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = resolve(argValue('--out') ?? process.env.BERT_STUDIO_VSIX_OUT ?? join(root, `${manifest.name}-${manifest.version}-${TARGET}.vsix`));

/** Finds a package folder the way Node does: nearest node_modules up from `from`. */
function resolvePackage(name, from) {
  for (let dir = from; dir.startsWith(root); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root) break;
  }
  return undefined;
}

/** Package folders reachable from the manifest's dependencies without passing through DROPPED. */
function reachablePackages() {
  const seen = new Set();
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const names = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
    for (const name of names) {
      if (DROPPED.has(name)) continue;
      const found = resolvePackage(name, dir);
      if (found) visit(found); // a missing one is an optional dependency for another platform
    }
  };
  visit(root);
  seen.delete(root);
  return seen;
}

/** What vsce itself will pack: `npm list --production --parseable`. */
function npmProductionPackages() {
  const stdout = execFileSync('npm', ['list', '--production', '--parseable', '--depth=99999', '--loglevel=error'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return stdout.split('\n').filter((l) => l.startsWith('/') && l !== root);
}

function ignorePatterns() {
  const keep = reachablePackages();
  const extra = npmProductionPackages()
    .filter((dir) => !keep.has(dir))
    .map((dir) => `${relative(root, dir)}/**`);
  const base = readFileSync(join(root, '.vscodeignore'), 'utf8');
  return { text: `${base}\n# Added by scripts/package.mjs: reached only through ${[...DROPPED].join(', ')}\n${extra.join('\n')}\n`, extra };
}

/** Newest modification time among the files the .vsix is made from. */
function newestSource() {
  let newest = 0;
  const walk = (path) => {
    if (!existsSync(path)) return;
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const entry of readdirSync(path)) {
        if (entry !== '__pycache__' && entry !== 'tests' && !entry.endsWith('.egg-info')) walk(join(path, entry));
      }
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['src', 'webview', 'media', 'trainer', 'package.json', 'package-lock.json', '.vscodeignore', 'esbuild.mjs', 'scripts/package.mjs', 'README.md', 'LICENSE']) {
    walk(join(root, p));
  }
  return newest;
}

async function main() {
  const started = performance.now();
  if (process.argv.includes('--if-stale') && existsSync(out) && statSync(out).mtimeMs > newestSource()) {
    console.log(`up to date: ${out}`);
    return;
  }
  if (!process.argv.includes('--no-build')) {
    execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    // A development build leaves source maps beside the bundles; .vscodeignore keeps them out.
  }
  const { text, extra } = ignorePatterns();
  const tmp = mkdtempSync(join(tmpdir(), 'bert-studio-package-'));
  const ignoreFile = join(tmp, 'vscodeignore');
  writeFileSync(ignoreFile, text);
  try {
    const { createVSIX } = require('@vscode/vsce');
    await createVSIX({
      cwd: root,
      packagePath: out,
      target: TARGET,
      ignoreFile,
      dependencies: true,
      useYarn: false,
      allowUnusedFilesPattern: true,
      allowMissingRepository: true,
      // README images are relative to the repository; the .vsix keeps them as they are.
      rewriteRelativeLinks: false,
      skipLicense: false,
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const mb = (statSync(out).size / 1024 / 1024).toFixed(1);
  console.log(`packaged ${relative(process.cwd(), out) || out}: ${mb} MB, ${extra.length} packages dropped, ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
