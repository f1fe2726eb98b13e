// Static checks of src/: processes are started without a shell, from an argument list. Parsed with
// the TypeScript compiler, so comments and strings do not fool the checks.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO, sourceFiles } from './helpers';

const CHILD_PROCESS = new Set(['child_process', 'node:child_process']);
// Functions of child_process that take (file, args[], options) and never a command line.
const ARGV_FUNCTIONS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork']);
// exec and execSync hand a command line to a shell.
const SHELL_FUNCTIONS = /^exec(Sync)?$/;

function isStringBuilt(node: ts.Expression): boolean {
  const e = ts.isParenthesizedExpression(node) ? node.expression : node;
  if (ts.isTemplateExpression(e)) return true;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return true;
  if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && ['join', 'concat'].includes(e.expression.name.text)
    && !ts.isArrayLiteralExpression(e.expression.expression)) return true;
  return false;
}

function looksLikeCommandLine(node: ts.Expression): boolean {
  return (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && /\s/.test(node.text);
}

/** Problems in one file's text: `file:line: what`. */
export function processProblems(text: string, file: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const problems: string[] = [];
  const at = (n: ts.Node): string => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const named = new Map<string, string>(); // local name -> child_process export
  const namespaces = new Set<string>();

  const moduleName = (n: ts.Node): string | undefined => (ts.isStringLiteral(n) ? n.text : undefined);
  const visitImports = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && CHILD_PROCESS.has(moduleName(n.moduleSpecifier) ?? '')) {
      const b = n.importClause?.namedBindings;
      if (b && ts.isNamespaceImport(b)) namespaces.add(b.name.text);
      if (b && ts.isNamedImports(b)) for (const s of b.elements) named.set(s.name.text, (s.propertyName ?? s.name).text);
      if (n.importClause?.name) namespaces.add(n.importClause.name.text);
    }
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'require'
      && n.arguments[0] && CHILD_PROCESS.has(moduleName(n.arguments[0]) ?? '')) {
      const decl = n.parent;
      if (ts.isVariableDeclaration(decl) && ts.isIdentifier(decl.name)) namespaces.add(decl.name.text);
      else if (ts.isVariableDeclaration(decl) && ts.isObjectBindingPattern(decl.name)) {
        for (const e of decl.name.elements) if (ts.isIdentifier(e.name)) named.set(e.name.text, (e.propertyName && ts.isIdentifier(e.propertyName) ? e.propertyName : e.name).text);
      } else problems.push(`${at(n)}: require('child_process') used in a way this check cannot follow`);
    }
    ts.forEachChild(n, visitImports);
  };
  visitImports(sf);
  for (const [local, exported] of named) {
    if (SHELL_FUNCTIONS.test(exported)) problems.push(`${file}: imports ${exported} from child_process (as ${local}); use spawn/execFile with an argument list`);
  }

  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAssignment(n) && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name)) && n.name.text === 'shell'
      && n.initializer.kind !== ts.SyntaxKind.FalseKeyword) {
      problems.push(`${at(n)}: shell: ${n.initializer.getText(sf)}`);
    }
    if (ts.isShorthandPropertyAssignment(n) && n.name.text === 'shell') problems.push(`${at(n)}: shell option from a variable`);
    if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && namespaces.has(n.expression.text)
      && SHELL_FUNCTIONS.test(n.name.text)) {
      problems.push(`${at(n)}: ${n.getText(sf)} runs a command line through a shell`);
    }
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const fn = ts.isIdentifier(callee) ? named.get(callee.text)
        : ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && namespaces.has(callee.expression.text) ? callee.name.text : undefined;
      if (fn && ARGV_FUNCTIONS.has(fn)) {
        const [file0, args] = n.arguments;
        if (file0 && (isStringBuilt(file0) || looksLikeCommandLine(file0))) problems.push(`${at(n)}: ${fn} with a string-built command`);
        if (args && (ts.isStringLiteral(args) || ts.isNoSubstitutionTemplateLiteral(args) || isStringBuilt(args))) {
          problems.push(`${at(n)}: ${fn} with arguments as one string`);
        }
      }
      // VS Code's terminals and shell tasks run a command line in a shell.
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'sendText') problems.push(`${at(n)}: terminal.sendText`);
    }
    if (ts.isNewExpression(n) && /ShellExecution$/.test(n.expression.getText(sf))) problems.push(`${at(n)}: ShellExecution`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return problems;
}

describe('security: processes in src/', () => {
  it('the check finds what it looks for', () => {
    const bad = [
      "import { exec, execSync, spawn } from 'node:child_process';",
      "import * as cp from 'child_process';",
      'spawn(`python ${script}`, [], { shell: true });',
      "spawn('python -m x', ['a']);",
      "spawn(python, 'a b c');",
      "spawn(python, ['-m', mod], { shell: process.platform === 'win32' });",
      "cp.exec('ls ' + dir);",
      "cp.spawn(python + ' ' + args.join(' '));",
      "const { execSync: run } = require('child_process');",
      "terminal.sendText('python train.py');",
      "new vscode.ShellExecution('python');",
    ].join('\n');
    const found = processProblems(bad, 'bad.ts');
    for (const what of ['imports exec ', 'imports execSync ', 'shell: true', 'string-built command', 'arguments as one string',
      "shell: process.platform === 'win32'", 'cp.exec runs', 'bad.ts:8: spawn with a string-built', 'imports execSync from child_process (as run)',
      'sendText', 'ShellExecution']) {
      assert.ok(found.some((p) => p.includes(what)), `not found: ${what}\n${found.join('\n')}`);
    }
    const good = [
      "import { spawn, type SpawnOptions } from 'node:child_process';",
      "spawn(options.python, ['-m', 'bert_studio_trainer', 'train', '--run-dir', runDir], { shell: false });",
      "const args = ['-m', 'x']; spawn(command, [...args], spawnOptions);",
      "const msg = 'do not use shell: true or exec( here';",
    ].join('\n');
    assert.deepEqual(processProblems(good, 'good.ts'), []);
  });

  it('no source starts a shell or builds a command line', () => {
    const files = sourceFiles(path.join(REPO, 'src'));
    assert.ok(files.length > 20, `only ${files.length} files under src/`);
    const problems = files.flatMap((f) => processProblems(fs.readFileSync(f, 'utf8'), path.relative(REPO, f)));
    assert.deepEqual(problems, []);
  });

  it('the worker and the statistics process are spawned with an argument list', () => {
    const spawning = sourceFiles(path.join(REPO, 'src')).filter((f) => /from 'node:child_process'|from 'child_process'/.test(fs.readFileSync(f, 'utf8')));
    const names = spawning.map((f) => path.relative(REPO, f).split(path.sep).join('/'));
    // A new file that starts processes should be looked at (and added here) on purpose.
    for (const known of ['src/core/process.ts', 'src/core/runs/worker.ts']) assert.ok(names.includes(known), names.join(', '));
    assert.ok(names.length <= 6, `files that import child_process: ${names.join(', ')}`);
  });
});
