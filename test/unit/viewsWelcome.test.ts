// The welcome texts of BERT Studio's views: VS Code shows every entry whose `when` holds, one under
// the other, so in each state of the context keys the extension sets (environment checked / ready /
// being set up, trust, a folder) a view must match at most one entry, and the Runs view exactly one
// whenever a folder is open: the set-up prompt, the set-up in progress, "no runs yet" or the
// restricted-workspace note. The `when` clauses are evaluated as VS Code does (!, &&, ||, ==, !=, parentheses).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

type Context = Readonly<Record<string, boolean | string>>;

/** A `when` clause's value in `context` (unset keys are undefined, hence false). */
export function evaluateWhen(clause: string, context: Context): boolean {
  const tokens = clause.match(/&&|\|\||==|!=|[!()]|[^\s!()&|=]+/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (t?: string): string => {
    const got = tokens[i++];
    if (got === undefined || (t !== undefined && got !== t)) throw new Error(`when clause "${clause}": expected ${t ?? 'a term'} at token ${i}, got ${got}`);
    return got;
  };
  const or = (): boolean => {
    let v = and();
    while (peek() === '||') {
      take('||');
      v = and() || v;
    }
    return v;
  };
  const and = (): boolean => {
    let v = unary();
    while (peek() === '&&') {
      take('&&');
      v = unary() && v;
    }
    return v;
  };
  const unary = (): boolean => {
    if (peek() === '!') {
      take('!');
      return !unary();
    }
    if (peek() === '(') {
      take('(');
      const v = or();
      take(')');
      return v;
    }
    const key = take();
    if (key === 'true' || key === 'false') return key === 'true';
    if (peek() === '==' || peek() === '!=') {
      const op = take();
      const value = take();
      return (String(context[key]) === value) === (op === '==');
    }
    return !!context[key];
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`when clause "${clause}": unexpected ${tokens[i]}`);
  return v;
}

/** Every combination of the keys' values. */
function states(keys: Readonly<Record<string, readonly (boolean | string)[]>>): Context[] {
  return Object.entries(keys).reduce<Context[]>((acc, [key, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))), [{}]);
}

describe('views welcome', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const welcome: { view: string; contents: string; when?: string }[] = manifest.contributes.viewsWelcome;
  const all = states({
    isWorkspaceTrusted: [true, false],
    workbenchState: ['empty', 'folder', 'workspace'],
    'bertStudio.environmentChecked': [false, true],
    'bertStudio.environmentReady': [false, true],
    'bertStudio.settingUp': [false, true],
  });
  const shown = (view: string, c: Context): string[] => welcome.filter((w) => w.view === view && evaluateWhen(w.when ?? 'true', c)).map((w) => w.contents.split('\n')[0]);

  it('evaluates when clauses as VS Code does', () => {
    const c = { a: true, b: false, s: 'folder' };
    assert.equal(evaluateWhen('a && !b', c), true);
    assert.equal(evaluateWhen('a && b || a', c), true);
    assert.equal(evaluateWhen('!(a || b)', c), false);
    assert.equal(evaluateWhen('s != empty && (b || !missing)', c), true);
    assert.equal(evaluateWhen('s == empty', c), false);
  });

  it('shows one welcome text at a time in each view', () => {
    for (const view of new Set(welcome.map((w) => w.view))) {
      for (const c of all) assert.ok(shown(view, c).length <= 1, `${view} in ${JSON.stringify(c)} shows ${JSON.stringify(shown(view, c))}`);
    }
  });

  it('the Runs view says the right thing for the environment: set up, being set up, or no runs yet', () => {
    const runs = (c: Context): string[] => shown('bertStudio.runs', { isWorkspaceTrusted: true, workbenchState: 'folder', ...c });
    const settingUp = runs({ 'bertStudio.environmentChecked': true, 'bertStudio.environmentReady': false, 'bertStudio.settingUp': true });
    assert.equal(settingUp.length, 1);
    assert.match(settingUp[0], /being set up/);
    assert.match(runs({ 'bertStudio.environmentChecked': true, 'bertStudio.environmentReady': false })[0], /needs a Python environment/);
    assert.match(runs({ 'bertStudio.environmentChecked': true, 'bertStudio.environmentReady': true })[0], /No training runs yet/);
    // Before the first check (a moment after activation): the usual text, not a set-up prompt.
    assert.match(runs({})[0], /No training runs yet/);
    for (const c of all.filter((x) => x.workbenchState !== 'empty')) assert.equal(shown('bertStudio.runs', c).length, 1, JSON.stringify(c));
  });
});
