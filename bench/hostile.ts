// Hostile dataset corpus figures: writes the corpus of test/fixtures/hostile/corpus.ts into a
// temporary folder, validates every file the way `dataset validate` does with the corpus's flags,
// and counts the files whose expected diagnostics all came at the expected line with a fix in the
// message. Merges hostile_files, hostile_files_diagnosed_at_line and hostile_files_missed into
// bench/results/reliability.json, keeping every other key (read-modify-write at write time).
//
//   npm run -s compile-tests && node out/bench/hostile.js

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateDataset } from '../src/core/datasets/validate';
import { packageRoot } from '../src/core/paths';
import { FIX_WORDS, writeHostileCorpus } from '../test/fixtures/hostile/corpus';

const ROOT = packageRoot(__dirname);
const RESULTS = path.join(ROOT, 'bench', 'results', 'reliability.json');

interface Miss {
  readonly file: string;
  readonly expected: string;
  readonly got: string;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-hostile-bench-'));
  const misses: Miss[] = [];
  let diagnosed = 0;
  let cases = 0;
  try {
    const corpus = writeHostileCorpus(dir);
    cases = corpus.length;
    for (const c of corpus) {
      let got = '';
      let ok = true;
      let expected = '';
      try {
        const report = await validateDataset({ ...c.request, files: c.files });
        const all = report.files.flatMap((f) => f.diagnostics.map((d) => ({ ...d, split: f.split })));
        got = all.map((d) => `${d.split}:${d.code}@${d.line}`).join(', ');
        for (const e of c.expect) {
          const split = e.split ?? 'train';
          const d = all.find((x) => x.split === split && x.code === e.code && x.line === e.line);
          if (!d || !FIX_WORDS.test(d.message)) {
            ok = false;
            expected += `${expected ? ', ' : ''}${split}:${e.code}@${e.line}${d ? ' (no fix in the message)' : ''}`;
          }
        }
      } catch (err) {
        ok = false;
        expected = c.expect.map((e) => `${e.split ?? 'train'}:${e.code}@${e.line}`).join(', ');
        got = `crash: ${(err as Error).message}`;
      }
      if (ok) diagnosed++;
      else misses.push({ file: c.name, expected, got });
      process.stderr.write(`${ok ? 'ok  ' : 'MISS'} ${c.name}\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // Read at the moment of writing: other scripts write other keys into the same file.
  let results: Record<string, unknown> = {};
  try {
    results = JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  results.hostile_files = cases;
  results.hostile_files_diagnosed_at_line = diagnosed;
  results.hostile_files_missed = misses;
  results.hostile_corpus = 'test/fixtures/hostile/corpus.ts (generated at run time; expected code and line per file, a fix in the message)';
  const tmp = `${RESULTS}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(results, null, 1)}\n`);
  fs.renameSync(tmp, RESULTS);
  process.stdout.write(`hostile_files ${cases}, diagnosed at the right line with a fix ${diagnosed}${misses.length ? `; missed: ${misses.map((m) => m.file).join(', ')}` : ''}\n`);
  if (diagnosed !== cases) process.exitCode = 1;
}

void main();
