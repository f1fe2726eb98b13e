// Chinese data sets in the editor (issue 13): a GB18030/GBK file made from ChnSentiCorp reviews is
// named as such at its first Chinese line, with the iconv fix, and the fix (the same bytes decoded as
// GB18030, as iconv does) imports every row; the statistics page's line on characters and [UNK]s
// warns, with its fix, when the tokenizer does not know Chinese.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { StatisticsBuilder } from '../../../src/core/datasets/stats';
import { findDefaultModel, loadTokenCounter } from '../../../src/core/datasets/tokenCount';
import type { DatasetRequest } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { characterSummary } from '../../../webview/datasetStats/cjk';
import { DATA, REPO, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

/**
 * A GB18030 encoder for the characters of two bytes (GBK, which covers the Chinese of these reviews),
 * built from Node's own GB18030 decoder (ICU): every lead byte 0x81–0xFE with every trail byte.
 */
function gb18030Encoder(): (text: string) => Buffer | undefined {
  const decoder = new TextDecoder('gb18030', { fatal: true });
  const table = new Map<string, [number, number]>();
  for (let lead = 0x81; lead <= 0xfe; lead++)
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      try {
        const ch = decoder.decode(Uint8Array.of(lead, trail));
        if ([...ch].length === 1 && !table.has(ch)) table.set(ch, [lead, trail]);
      } catch {
        // not a character
      }
    }
  return (text) => {
    const bytes: number[] = [];
    for (const ch of text) {
      const code = ch.codePointAt(0) ?? 0;
      if (code < 0x80) bytes.push(code);
      else {
        const pair = table.get(ch);
        if (!pair) return undefined; // a character of four bytes: the row is left out
        bytes.push(...pair);
      }
    }
    return Buffer.from(bytes);
  };
}

async function requestFor(file: string): Promise<DatasetRequest> {
  const g = await guessDataset(file);
  assert.ok(g.task, `no task guessed for ${file}`);
  return { task: g.task, format: g.format, mapping: g.mapping, files: { train: file }, options: { ...g.options } };
}

describe('datasets: Chinese encodings and the statistics page', function () {
  this.timeout(120_000);
  let work: string;
  let lines: string[];
  before(function () {
    const csv = path.join(DATA, 'chnsenticorp', 'ChnSentiCorp_htl_all.csv');
    needSetup(this, fs.existsSync(csv), `shared ChnSentiCorp at ${DATA}`);
    // Reviews without quotes or commas inside, so that each line is a plain `label,review` row.
    lines = fs.readFileSync(csv, 'utf8').split('\n').slice(1).filter((l) => /^[01],[^",\r]+$/.test(l)).slice(0, 300);
    work = tmpDir();
  });
  after(() => work && fs.rmSync(work, { recursive: true, force: true }));

  it('GB18030 reviews: named GB18030/GBK at the first Chinese line with the iconv fix; decoded as that fix does, every row imports', async () => {
    assert.ok(typeof TextDecoder === 'function' && new TextDecoder('gb18030').encoding === 'gb18030', 'Node with full ICU decodes GB18030');
    const encode = gb18030Encoder();
    const rows = lines.map((l) => ({ l, bytes: encode(l) })).filter((r) => r.bytes !== undefined);
    assert.ok(rows.length >= 250, `${rows.length} reviews encodable in two bytes`);
    const file = path.join(work, 'chnsenticorp-gb18030.csv');
    const bytes = Buffer.concat([Buffer.from('label,review\n'), ...rows.flatMap((r) => [r.bytes as Buffer, Buffer.from('\n')])]);
    fs.writeFileSync(file, bytes);
    assert.ok(!bytes.equals(Buffer.from(`label,review\n${rows.map((r) => r.l).join('\n')}\n`)), 'the bytes are not UTF-8');

    const report = await validateDataset(await requestFor(file));
    const diags = report.files.flatMap((f) => f.diagnostics);
    const gb = diags.filter((d) => d.code === 'encoding.gb18030');
    assert.equal(gb.length, 1, diags.map((d) => `${d.code}@${d.line}`).join(', '));
    assert.equal(gb[0].severity, 'error');
    assert.equal(gb[0].line, 2, 'the first line with Chinese text (the header is ASCII)');
    assert.match(gb[0].message, /GB18030\/GBK \(Chinese\)/);
    assert.match(gb[0].message, /iconv -f GB18030 -t UTF-8 "chnsenticorp-gb18030\.csv" > "utf8-chnsenticorp-gb18030\.csv"/);
    const r = await importDataset(await requestFor(file), path.join(work, 'datasets'), { id: 'gb' });
    assert.equal(r.ok, false, 'nothing is imported from text read in the wrong encoding');

    // The fix: the same bytes decoded as GB18030 (what iconv writes) give back the reviews, and import.
    const fixed = path.join(work, 'utf8-chnsenticorp-gb18030.csv');
    const decoded = new TextDecoder('gb18030').decode(bytes);
    assert.equal(decoded, `label,review\n${rows.map((x) => x.l).join('\n')}\n`);
    fs.writeFileSync(fixed, decoded, 'utf8');
    const ok = await importDataset(await requestFor(fixed), path.join(work, 'datasets'), { id: 'utf8' });
    assert.ok(ok.ok, ok.reason);
    assert.equal(ok.manifest!.splits.train?.count, rows.length);
  });

  it('the statistics page shows characters, the CJK share and the [UNK] share, and warns with the fix under an English tokenizer', async function () {
    const model = findDefaultModel([REPO]);
    needSetup(this, model, 'the default model');
    const counter = await loadTokenCounter(model, 'transformers');
    const b = new StatisticsBuilder('sequence_classification', { counter, maxSeqLength: 128 });
    const texts = lines.map((l) => l.slice(2));
    for (const text of texts) b.add('train', { text, label: '1', source: { file: 'x', line: 1 } });
    const split = b.result().splits[0];
    const all = [...texts.join('')];
    const cjk = all.filter((c) => /\p{Script=Han}/u.test(c)).length;
    const shown = characterSummary(split);
    assert.ok(shown);
    assert.match(shown.text, new RegExp(`^${all.length.toLocaleString('en-US')} characters, ${((cjk / all.length) * 100).toFixed(1)}% CJK · [\\d.]+ tokens per character · ${split.unknownTokens!.count.toLocaleString('en-US')} \\[UNK\\] tokens \\(${(split.unknownTokens!.share * 100).toFixed(1)}% of tokens\\)$`));
    assert.ok(split.unknownTokens!.share > 0.3, 'most Chinese is unknown to the English vocabulary');
    assert.equal(shown.warn, true);
    assert.match(shown.fix ?? '', /Choose a Chinese model's tokenizer/);
    // English text under the same tokenizer: no warning.
    const en = new StatisticsBuilder('sequence_classification', { counter, maxSeqLength: 128 });
    en.add('train', { text: 'The room was clean and the staff were friendly.', label: '1', source: { file: 'x', line: 1 } });
    const quiet = characterSummary(en.result().splits[0]);
    assert.equal(quiet?.warn, false);
    assert.equal(quiet?.fix, undefined);
  });
});
