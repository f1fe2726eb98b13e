import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main';
import { flag, parseArgs } from '../../../src/cli/io';

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

describe('CLI', () => {
  it('parses flags, values and positionals', () => {
    const p = parseArgs(['import', 'a.tsv', '--task=ner', '--json', '--max-steps', '10', '--', '--literal'], ['json']);
    assert.deepEqual(p.positional, ['import', 'a.tsv', '--literal']);
    assert.equal(flag(p, 'task'), 'ner');
    assert.equal(flag(p, 'max-steps'), '10');
    assert.equal(p.flags.get('json'), true);
  });

  it('rejects a bad task with a message that names the choices', async () => {
    const out = sink();
    const err = sink();
    const code = await main(['train', '--task', 'summarize', '--train', 'x.tsv', '--python', '/nonexistent/python'], { stdout: out, stderr: err });
    assert.equal(code, 2);
    assert.match(err.text, /--task: unknown task "summarize"; use one of sequence_classification, /);
  });

  it('prints usage for an unknown command', async () => {
    const err = sink();
    assert.equal(await main(['frobnicate'], { stdout: sink(), stderr: err }), 2);
    assert.match(err.text, /unknown command "frobnicate"/);
  });
});
