// Commands that start or signal a worker need a trusted workspace: their handlers call
// requireTrust before anything else, and package.json hides them in restricted mode.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO } from './helpers';

const GUARDED = ['bertStudio.stopRun', 'bertStudio.newRun', 'bertStudio.resumeRun', 'bertStudio.duplicateRun', 'bertStudio.retryRun'];

/** The first statement of each `registerCommand('id', handler)` handler in a file. */
function firstStatements(file: string): Map<string, string> {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.getText(sf).endsWith('registerCommand')) {
      const [id, handler] = node.arguments;
      if (id && ts.isStringLiteral(id) && handler && (ts.isArrowFunction(handler) || ts.isFunctionExpression(handler)) && ts.isBlock(handler.body)) {
        out.set(id.text, handler.body.statements[0]?.getText(sf) ?? '');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('security: workspace trust', () => {
  it('stop, new, resume and duplicate run check trust first', () => {
    const first = firstStatements(path.join(REPO, 'src', 'vscode', 'runs', 'commands.ts'));
    for (const id of GUARDED) assert.match(first.get(id) ?? '(not registered)', /^if \(!requireTrust\(ctx, /, id);
  });

  it('studies (stop, resume, sweep from a run) and Find Label Errors, which run the worker, check trust first', () => {
    const sweeps = firstStatements(path.join(REPO, 'src', 'vscode', 'sweeps', 'register.ts'));
    for (const id of ['bertStudio.stopStudy', 'bertStudio.resumeStudy', 'bertStudio.sweepFromRun']) assert.match(sweeps.get(id) ?? '(not registered)', /^if \(!requireTrust\(ctx, /, id);
    const analysis = firstStatements(path.join(REPO, 'src', 'vscode', 'analysis', 'labelErrors.ts'));
    assert.match(analysis.get('bertStudio.findLabelErrors') ?? '(not registered)', /^if \(!requireTrust\(ctx, /);
    const embeddings = firstStatements(path.join(REPO, 'src', 'vscode', 'analysis', 'embeddingMap.ts'));
    assert.match(embeddings.get('bertStudio.showEmbeddingMap') ?? '(not registered)', /^if \(!requireTrust\(ctx, /);
  });

  it('Evaluate on… (runs the worker) and Predict File… (loads a model) check trust first', () => {
    const first = firstStatements(path.join(REPO, 'src', 'vscode', 'runs', 'evaluateCommands.ts'));
    for (const id of ['bertStudio.evaluateModel', 'bertStudio.predictFile']) assert.match(first.get(id) ?? '(not registered)', /^if \(!requireTrust\(ctx, /, id);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { contributes: { menus: Record<string, { command: string; when?: string }[]> } };
    const items = Object.values(pkg.contributes.menus).flat().filter((i) => i.command === 'bertStudio.evaluateModel' || i.command === 'bertStudio.predictFile');
    assert.ok(items.length >= 4 && items.every((i) => /\bisWorkspaceTrusted\b/.test(i.when ?? '')), JSON.stringify(items));
  });

  it('and are hidden in restricted mode wherever a menu shows them', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { contributes: { menus: Record<string, { command: string; when?: string }[]> } };
    let seen = 0;
    for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
      for (const item of items) {
        if (!GUARDED.includes(item.command)) continue;
        seen++;
        assert.ok(item.when === 'false' || /\bisWorkspaceTrusted\b/.test(item.when ?? ''), `${menu}: ${item.command} when "${item.when ?? ''}"`);
      }
    }
    assert.ok(seen >= GUARDED.length, 'the menus list the commands');
  });
});
