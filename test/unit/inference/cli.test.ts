import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runFillMaskCommand, runPredictCommand } from '../../../src/cli/commands/infer';
import type { CliIo } from '../../../src/cli/io';
import { ensureFixtures } from './fixtures';
import { needSetup } from '../needSetup';

function capture(): { io: CliIo; out: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  return { io: { stdout, stderr }, out: () => text };
}

describe('bert-studio predict / fill-mask', function () {
  this.timeout(300_000);
  let dir = '';
  before(function () {
    const fx = ensureFixtures();
    needSetup(this, fx, 'inference fixtures (the venv Python and shared SST-2)');
    dir = fx.dir;
  });

  it('predict classifies sentences: label + probability, and --json', async () => {
    const { io, out } = capture();
    assert.equal(await runPredictCommand(['--model', path.join(dir, 'sequence_classification'), 'a charming film', 'a dull film'], io), 0);
    const lines = out().trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^(negative|positive)\t0\.\d{4}\ta charming film$/);
    const j = capture();
    await runPredictCommand(['--json', '--model', path.join(dir, 'sequence_classification'), 'a charming film'], j.io);
    const row = JSON.parse(j.out()) as { label: string; probability: number };
    assert.ok(['negative', 'positive'].includes(row.label) && row.probability >= 0.5);
  });

  it('fill-mask prints the top-k and refuses a bad --top-k', async () => {
    const { io, out } = capture();
    assert.equal(await runFillMaskCommand(['--model', path.join(dir, 'mlm'), '--top-k', '3', '--json', 'the [MASK] is red .'], io), 0);
    const [r] = JSON.parse(out()) as { candidates: unknown[] }[];
    assert.equal(r.candidates.length, 3);
    await assert.rejects(runFillMaskCommand(['--model', path.join(dir, 'mlm'), '--top-k', '0', 'x [MASK]'], capture().io), /top-k/);
  });
});
