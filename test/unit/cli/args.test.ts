import * as assert from 'node:assert/strict';
import { main } from '../../../src/cli/main';
import { flag, parseArgs, textSink } from '../../../src/cli/io';


describe('CLI', () => {
  it('parses flags, values and positionals', () => {
    const p = parseArgs(['import', 'a.tsv', '--task=ner', '--json', '--max-steps', '10', '--', '--literal'], ['json']);
    assert.deepEqual(p.positional, ['import', 'a.tsv', '--literal']);
    assert.equal(flag(p, 'task'), 'ner');
    assert.equal(flag(p, 'max-steps'), '10');
    assert.equal(p.flags.get('json'), true);
  });

  it('rejects a bad task with a message that names the choices', async () => {
    const out = textSink();
    const err = textSink();
    const code = await main(['train', '--task', 'summarize', '--train', 'x.tsv', '--python', '/nonexistent/python'], { stdout: out, stderr: err });
    assert.equal(code, 2);
    assert.match(err.text, /--task: unknown task "summarize"; use one of sequence_classification, /);
  });

  it('prints usage for an unknown command', async () => {
    const err = textSink();
    assert.equal(await main(['frobnicate'], { stdout: textSink(), stderr: err }), 2);
    assert.match(err.text, /unknown command "frobnicate"/);
  });
});
