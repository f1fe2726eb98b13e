import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../../..');

/** Runs a one-test mocha file whose set-up is missing, with `env` added; returns mocha's summary. */
function runMissingSetup(env: Record<string, string>): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-need-setup-'));
  try {
    const file = path.join(dir, 'missing.test.js');
    fs.writeFileSync(file, `const { needSetup } = require(${JSON.stringify(path.join(__dirname, 'needSetup.js'))});
describe('a suite', function () {
  before(function () { needSetup(this, false, 'a model nobody built'); });
  it('needs the model', () => {});
});
`);
    const base = { ...process.env };
    delete base.CI;
    delete base.BERT_STUDIO_REQUIRE_SETUP;
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules/mocha/bin/mocha.js'), '--no-config', '--reporter', 'dot', file], { env: { ...base, ...env }, encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('tests whose set-up is missing', function () {
  this.timeout(60_000);

  it('are skipped (pending) on a developer machine', () => {
    const r = runMissingSetup({});
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /1 pending/);
    assert.doesNotMatch(r.out, /failing/);
  });

  it('fail under CI, naming what is missing', () => {
    for (const env of [{ CI: 'true' }, { BERT_STUDIO_REQUIRE_SETUP: '1' }] as Record<string, string>[]) {
      const r = runMissingSetup(env);
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, /1 failing/);
      assert.match(r.out, /Set-up missing under CI: a model nobody built/);
    }
  });
});
