// Host code and page code are kept apart: a webview page may import only webview/** and
// src/shared/** (pure modules both sides use) and browser-safe packages; src/shared imports
// nothing outside itself. tsconfig.webview.json (DOM, no Node types) and the eslint rules enforce
// the same at build time; this test reads the imports themselves.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO, sourceFiles } from './helpers';

const BROWSER_PACKAGES = [/^uplot(\/|$)/, /^@vscode-elements\/elements\//];

/** Every module a file imports (import, export … from, side-effect imports, import(), require), by TypeScript's own scanner. */
function imports(file: string): string[] {
  return ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function inside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return !rel.startsWith('..') && !path.isAbsolute(rel);
}

describe('security: host and page code stay apart', () => {
  it('the scan sees imports, side-effect imports and requires', () => {
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bs-imp-')), 'x.ts');
    fs.writeFileSync(tmp, "import * as fs from 'node:fs';\nimport './a.css';\nexport { x } from '../y';\nconst v = require('vscode');\n");
    assert.deepEqual(imports(tmp).sort(), ['../y', './a.css', 'node:fs', 'vscode']);
  });

  it('webview pages import only webview/**, src/shared/** and browser packages', () => {
    const bad: string[] = [];
    const webview = path.join(REPO, 'webview');
    const shared = path.join(REPO, 'src', 'shared');
    for (const f of sourceFiles(webview)) {
      for (const spec of imports(f)) {
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(f), spec);
          if (!inside(target, webview) && !inside(target, shared)) bad.push(`${path.relative(REPO, f)}: ${spec}`);
        } else if (!BROWSER_PACKAGES.some((re) => re.test(spec))) bad.push(`${path.relative(REPO, f)}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('src/shared is pure: it imports only src/shared', () => {
    const shared = path.join(REPO, 'src', 'shared');
    const bad: string[] = [];
    for (const f of sourceFiles(shared)) for (const spec of imports(f)) if (!spec.startsWith('./')) bad.push(`${path.relative(REPO, f)}: ${spec}`);
    assert.deepEqual(bad, []);
  });

  it('host code (src/) imports page code only through its protocol', () => {
    const bad: string[] = [];
    for (const f of sourceFiles(path.join(REPO, 'src'))) {
      for (const spec of imports(f)) {
        const target = spec.startsWith('.') ? path.resolve(path.dirname(f), spec) : '';
        if (target && inside(target, path.join(REPO, 'webview')) && !/[\\/]protocol$/.test(target)) bad.push(`${path.relative(REPO, f)}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('the two tsconfigs: the host has no DOM, the pages have no Node types; typecheck runs both', () => {
    const strip = (t: string): string => t.replace(/^\s*\/\/.*$/gm, '');
    const host = JSON.parse(strip(fs.readFileSync(path.join(REPO, 'tsconfig.json'), 'utf8'))) as { compilerOptions: { lib: string[]; types: string[] }; include: string[] };
    const page = JSON.parse(strip(fs.readFileSync(path.join(REPO, 'tsconfig.webview.json'), 'utf8'))) as { compilerOptions: { lib: string[]; types: string[] }; include: string[] };
    assert.ok(!host.compilerOptions.lib.some((l) => /^dom/i.test(l)));
    assert.ok(!host.include.some((i) => i.startsWith('webview')));
    assert.ok(page.compilerOptions.lib.includes('DOM'));
    assert.deepEqual(page.compilerOptions.types, []);
    const scripts = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts.typecheck as string, /tsc -p \. .*tsc -p tsconfig\.webview\.json/);
  });
});
