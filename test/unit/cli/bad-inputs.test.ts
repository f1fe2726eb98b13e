// The fast part of bench/bad-inputs.ts: every CLI case that needs neither Python nor the inference
// engine, run through main() in this process, must get a clear answer (non-zero exit, 2 for usage;
// the flag, field or file named; a fix; no stack trace; no run folder left by a refused launch).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CASES, makeWorkspace, runCase, type Workspace } from '../../../bench/bad-inputs';

describe('bad inputs: every CLI mistake gets a clear answer (fast subset of bench/bad-inputs.ts)', function () {
  this.timeout(120_000);
  let scratch: string;
  let ws: Workspace;
  const fast = CASES.filter((c) => c.kind === 'cli' && !c.slow);

  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-bad-inputs-'));
    ws = await makeWorkspace(path.join(scratch, 'ws'));
  });
  after(() => scratch && fs.rmSync(scratch, { recursive: true, force: true }));

  it('covers every command with at least 80 cases', () => {
    assert.ok(fast.length >= 80, `${fast.length} fast CLI cases`);
    const commands = new Set(fast.map((c) => c.command));
    for (const c of ['train', 'dataset import', 'dataset validate', 'dataset stats', 'dataset list', 'runs', 'runs show', 'runs stop', 'fill-mask', 'predict']) assert.ok(commands.has(c), c);
    assert.ok(CASES.length >= 100);
  });

  for (const c of fast) {
    it(`${c.command}: ${c.id}`, async () => {
      const r = await runCase(c, ws, { inProcess: true, scratch });
      assert.ok(r.clear, `${r.why.join('; ')}\n${r.message}`);
    });
  }
});
