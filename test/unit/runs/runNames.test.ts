// Messages about a run name it as people named it (spec.json `name`), never by its folder id: every
// notification and progress title of the run commands, the Runs monitor and the dashboard.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runName } from '../../../src/core/runs/names';
import { packageRoot } from '../../../src/core/paths';

const REPO = packageRoot(__dirname);
const FILES = ['src/vscode/runs/commands.ts', 'src/vscode/runs/monitor.ts', 'src/vscode/dashboard/webview.ts', 'src/vscode/dashboard/register.ts', 'src/vscode/environment/register.ts'];
/** A message or progress title: the template literal it opens with. */
const SHOWN = /(?:show(?:Information|Warning|Error)Message|title:)\s*\(?\s*`([^`]*)`/g;
/** The one message that is about an id (one that is not valid). */
const ABOUT_IDS = /is not a run id/;

describe('run names in messages', () => {
  it('uses the name, else the id', () => {
    assert.equal(runName({ id: '20261130-120000-sst2', spec: { name: 'sst2 baseline' } }), 'sst2 baseline');
    assert.equal(runName({ id: '20261130-120000-sst2', spec: { name: '' } }), '20261130-120000-sst2');
    assert.equal(runName({ id: '20261130-120000-sst2' }), '20261130-120000-sst2');
  });

  it('no notification or progress title interpolates a run id', () => {
    let seen = 0;
    const offenders: string[] = [];
    for (const file of FILES) {
      const text = fs.readFileSync(path.join(REPO, file), 'utf8');
      for (const m of text.matchAll(SHOWN)) {
        seen++;
        const template = m[1] as string;
        if (ABOUT_IDS.test(template)) continue;
        if (/\$\{(?:id|runId|run\.id|r\.id|active\.id|info\.id)\}/.test(template)) offenders.push(`${file}: ${template}`);
      }
    }
    assert.ok(seen >= 15, `the scan found the messages (${seen})`);
    assert.deepEqual(offenders, []);
  });
});
