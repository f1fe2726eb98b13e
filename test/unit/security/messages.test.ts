// Every webview (dashboard, dataset statistics, fill-mask, attention) speaks one message style —
// `{type, ...fields}` typed once as guards in webview/<page>/protocol.ts with src/shared/guard.ts —
// and both ends check what they receive: the host through src/core/webview/messages.ts (or the
// dashboard session, on the same guard), the page through webview/shared/messages.ts.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { receiveChecked } from '../../../src/core/webview/messages';
import type { Guard } from '../../../src/shared/guard';
import * as attention from '../../../webview/attention/protocol';
import * as dashboard from '../../../webview/dashboard/protocol';
import * as stats from '../../../webview/datasetStats/protocol';
import * as embeddings from '../../../webview/embeddings/protocol';
import * as fillMask from '../../../webview/fillMask/protocol';
import { REPO, sourceFiles } from './helpers';

const PAGES: Record<string, { toHost: Guard<unknown>; toPage: Guard<unknown>; good: readonly Record<string, unknown>[] }> = {
  dashboard: { toHost: dashboard.WEBVIEW_MESSAGE, toPage: dashboard.HOST_MESSAGE, good: [{ type: 'ready' }, { type: 'openLog', runId: 'r1' }, { type: 'requestRange', requestId: 1, x0: 0, x1: 5 }] },
  datasetStats: { toHost: stats.WEBVIEW_MESSAGE, toPage: stats.HOST_MESSAGE, good: [{ type: 'ready' }, { type: 'requestRows', requestId: 0, split: 'train', start: 0, count: 100 }, { type: 'openRow', split: 'validation', row: 3 }] },
  fillMask: { toHost: fillMask.WEBVIEW_MESSAGE, toPage: fillMask.HOST_MESSAGE, good: [{ type: 'ready' }, { type: 'query', id: 1, text: 'a [MASK]', topK: 5 }] },
  attention: { toHost: attention.WEBVIEW_MESSAGE, toPage: attention.HOST_MESSAGE, good: [{ type: 'ready' }, { type: 'compare' }, { type: 'export', format: 'svg', data: '<svg/>', name: 'attention L1' }] },
  embeddings: { toHost: embeddings.WEBVIEW_MESSAGE, toPage: embeddings.HOST_MESSAGE, good: [{ type: 'ready' }, { type: 'open', point: 3 }, { type: 'compute', settings: { split: 'train', method: 'pca', pooling: 'mean' } }, { type: 'cancel' }] },
};

describe('security: webview messages', () => {
  for (const [page, p] of Object.entries(PAGES)) {
    it(`${page}: the host accepts the protocol and refuses everything else, saying why`, () => {
      for (const m of p.good) assert.equal(p.toHost.problem(m), undefined, `${page} ${JSON.stringify(m)}`);
      const hostile: unknown[] = [
        null,
        undefined,
        'ready',
        42,
        [],
        [{ type: 'ready' }],
        {},
        { type: 'openFile', path: '/etc/passwd' },
        { type: 'eval', code: 'require("child_process")' },
        { type: 7 },
        { type: 'toString' },
        { type: '__proto__' },
        ...p.good.map((m) => ({ ...m, path: '/etc/passwd' })),
        ...p.good.map((m) => JSON.parse(JSON.stringify(m).replace(/}$/, ',"__proto__":{"polluted":1}}')) as unknown),
      ];
      for (const m of hostile) {
        assert.equal(p.toHost(m), false, `${page} accepted ${JSON.stringify(m)}`);
        assert.ok(p.toHost.problem(m), 'a reason');
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  it('refused messages are logged with type, keys and reason, never the payload, and never handled', () => {
    const handled: unknown[] = [];
    const logged: string[] = [];
    const receive = receiveChecked('fillMask panel', fillMask.WEBVIEW_MESSAGE, (m) => handled.push(m), (l) => logged.push(l));
    receive({ type: 'query', id: 1, text: 'SECRET '.repeat(5000), topK: 5 });
    receive({ type: 'query', id: 1, text: 'a [MASK]', topK: 500 });
    receive({ type: 'query', id: 1, text: 'a [MASK]', topK: 5 });
    assert.equal(handled.length, 1);
    assert.equal(logged.length, 2);
    assert.match(logged[0] as string, /fillMask panel: dropped a malformed message from the webview \(type="query" keys=type,id,text,topK: text: longer than 20000 characters\)/);
    assert.doesNotMatch(logged.join(), /SECRET/);
    assert.match(logged[1] as string, /topK: 500 is outside \[1, 50\]/);
  });

  it('no page or panel reads messages around the guards', () => {
    const offenders: string[] = [];
    for (const f of sourceFiles(path.join(REPO, 'webview'))) {
      const text = fs.readFileSync(f, 'utf8');
      if (/addEventListener\(\s*['"]message['"]/.test(text) && !f.endsWith(path.join('shared', 'messages.ts'))) offenders.push(path.relative(REPO, f));
    }
    for (const f of sourceFiles(path.join(REPO, 'src'))) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/onDidReceiveMessage\(([^\n]*)/g)) {
        if (!/receiveChecked\(|session\.receive\(|this\.receive\(/.test(m[1] as string)) offenders.push(`${path.relative(REPO, f)}: ${m[0].slice(0, 80)}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
