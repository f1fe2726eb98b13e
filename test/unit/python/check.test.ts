// Finding out whether an interpreter can run the trainer (the set-up prompt, New Training Run's
// wait-or-offer) and which devices it has (the wizard lists only those), with real interpreters.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkTrainerEnvironment, cudaDevices, deviceChoices } from '../../../src/core/python/check';
import { venvPython } from '../../../src/core/python/interpreter';
import { packageRoot } from '../../../src/core/paths';
import { needSetup } from '../needSetup';

const python = venvPython(path.join(packageRoot(__dirname), '.venv'));

describe('trainer environment check', function () {
  this.timeout(60_000);

  it('the set-up venv has every module; a venv still being set up lacks them; no interpreter is a problem', async function () {
    needSetup(this, fs.existsSync(python), 'the trainer venv (.venv); run scripts/setup.sh');
    assert.deepEqual(await checkTrainerEnvironment(python), { ok: true, missing: [] });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-envcheck-'));
    try {
      execFileSync(python, ['-m', 'venv', '--without-pip', path.join(tmp, 'v')]);
      const bare = await checkTrainerEnvironment(venvPython(path.join(tmp, 'v')));
      assert.equal(bare.ok, true);
      assert.deepEqual([...bare.missing].sort(), ['torch', 'transformers', 'typing_extensions']);
      const none = await checkTrainerEnvironment(path.join(tmp, 'no-such-python'));
      assert.equal(none.ok, false);
      assert.match(none.problem ?? '', /ENOENT/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('offers cuda devices only when torch sees them', async function () {
    needSetup(this, fs.existsSync(python), 'the trainer venv (.venv); run scripts/setup.sh');
    const seen = await cudaDevices(python);
    const labels = deviceChoices(seen).map((d) => d.label);
    assert.deepEqual(labels.slice(0, 2), ['auto', 'cpu']);
    assert.equal(labels.includes('cuda'), seen.length > 0);
    assert.deepEqual(deviceChoices([]).map((d) => d.label), ['auto', 'cpu']);
    assert.deepEqual(deviceChoices(['A100']).map((d) => d.label), ['auto', 'cpu', 'cuda']);
    assert.deepEqual(deviceChoices(['A100', 'H100']).map((d) => d.label), ['auto', 'cpu', 'cuda', 'cuda:0', 'cuda:1']);
  });
});
