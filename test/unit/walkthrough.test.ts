// The Get Started walkthrough's steps can complete: every completion event names a command the
// extension contributes or registers, a view it contributes, or a context key it sets; every step's
// media file exists. (A step waiting on an event nothing fires stays unchecked for ever.)
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Step {
  readonly id: string;
  readonly media?: { readonly markdown?: string; readonly image?: string };
  readonly completionEvents?: readonly string[];
}

function sources(dir: string): string {
  return fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? fs.readFileSync(p, 'utf8') : '';
  }).join('\n');
}

describe('Get Started walkthrough', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const walkthrough = manifest.contributes.walkthroughs.find((w: { id: string }) => w.id === 'bertStudio.gettingStarted');
  const steps: Step[] = walkthrough.steps;
  const commands = new Set<string>(manifest.contributes.commands.map((c: { command: string }) => c.command));
  const views = new Set<string>(Object.values(manifest.contributes.views).flat().map((v) => (v as { id: string }).id));
  const src = sources(path.join(ROOT, 'src'));

  it('has the five steps of the first use, in order', () => {
    assert.deepEqual(steps.map((s) => s.id), ['setUp', 'import', 'train', 'watch', 'try']);
  });

  for (const step of steps) {
    it(`step ${step.id}: each completion event can fire`, () => {
      assert.ok(step.completionEvents?.length, 'no completion events: the step never completes by itself');
      for (const event of step.completionEvents ?? []) {
        const [kind, name] = [event.slice(0, event.indexOf(':')), event.slice(event.indexOf(':') + 1)];
        if (kind === 'onCommand') assert.ok(commands.has(name) || src.includes(`registerCommand('${name}'`), `${event}: no such command`);
        else if (kind === 'onView') assert.ok(views.has(name), `${event}: no such contributed view`);
        else if (kind === 'onContext') assert.ok(src.includes(`'${name}'`) && src.includes("'setContext'"), `${event}: the extension never sets it`);
        else assert.fail(`${event}: an event kind this test does not know`);
      }
    });

    it(`step ${step.id}: its media exists`, () => {
      const file = step.media?.markdown ?? step.media?.image;
      assert.ok(file && fs.existsSync(path.join(ROOT, file)), `missing ${file}`);
    });
  }

  it('"Watch it train" completes when the dashboard panel shows (a run opens it by itself)', () => {
    const watch = steps.find((s) => s.id === 'watch');
    assert.ok(watch?.completionEvents?.includes('onContext:bertStudio.dashboardShown'));
    assert.match(fs.readFileSync(path.join(ROOT, 'src', 'vscode', 'dashboard', 'panel.ts'), 'utf8'), /'setContext', 'bertStudio\.dashboardShown', true/);
  });
});
