import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_CHUNK_CHARS, textChunks } from '../../../src/core/inference/chunks';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { dataDir, ensureFixtures } from './fixtures';
import { needSetup } from '../needSetup';

/** A \r\n document from SST-2 dev sentences: short paragraphs, a long one, emoji and CJK. */
function documentFromData(): { doc: string; paragraphs: string[] } | undefined {
  const file = path.join(dataDir(), 'sst2/dev.tsv');
  if (!fs.existsSync(file)) return undefined;
  const sentences = fs.readFileSync(file, 'utf8').split('\n').slice(1, 80).map((r) => r.split('\t')[0].trim()).filter(Boolean);
  const long = sentences.slice(20, 79).join('\r\n'); // well over MAX_CHUNK_CHARS, one sentence per line
  const paragraphs = [
    `${sentences[0]}\r\n${sentences[1]}`,
    `Zürich 🙂 café — 東京 ${sentences[2]}`,
    sentences[3],
    long,
  ];
  return { doc: `\r\n${paragraphs.join('\r\n\r\n')}\r\n`, paragraphs };
}

describe('document chunks for annotations (offsets into the document)', () => {
  it('splits at blank lines, long paragraphs into lines, and every chunk slices the document at its offset', function () {
    const d = documentFromData();
    needSetup(this, d, 'shared data');
    assert.ok(d.paragraphs[3].length > MAX_CHUNK_CHARS);
    const chunks = textChunks(d.doc);
    const longLines = d.paragraphs[3].split('\r\n');
    assert.deepEqual(chunks.map((c) => c.text), [...d.paragraphs.slice(0, 3), ...longLines]);
    for (const c of chunks) {
      assert.equal(d.doc.slice(c.offset, c.offset + c.text.length), c.text);
      assert.ok(c.text.length <= MAX_CHUNK_CHARS && !c.text.includes('\r\n\r\n'));
    }
  });

  it('a selection: offsets are the selection start plus the offset within it', function () {
    const d = documentFromData();
    needSetup(this, d, 'shared data');
    const start = d.doc.indexOf('Zürich');
    const selection = d.doc.slice(start, d.doc.indexOf(d.paragraphs[3]) + 40);
    const chunks = textChunks(selection, start);
    assert.equal(chunks[0].offset, start);
    for (const c of chunks) assert.equal(d.doc.slice(c.offset, c.offset + c.text.length), c.text);
    assert.equal(chunks.length, 3); // the emoji paragraph, sentence 3, the start of the long one
  });

  it('entities found per chunk land on the same characters of the whole \\r\\n document', async function () {
    this.timeout(300_000);
    const d = documentFromData();
    const fx = d && ensureFixtures();
    needSetup(this, d && fx, 'shared data and inference fixtures');
    const engine = new InferenceEngine({ idleMs: 60_000 });
    try {
      let seen = 0;
      for (const c of textChunks(d.doc)) {
        for (const e of await engine.tokenClassify(path.join(fx.dir, 'token_classification'), c.text)) {
          assert.equal(d.doc.slice(c.offset + e.start, c.offset + e.end), e.text);
          seen++;
        }
      }
      assert.ok(seen > 0, 'the tiny model found no entity at all');
    } finally {
      await engine.dispose();
    }
  });
});
