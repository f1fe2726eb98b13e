// Dataset benchmark: streamed validation throughput and peak memory on a large TSV built by
// repeating SST-2 train, and token-statistics throughput against Python `tokenizers` on the same
// text (alternated, median of rounds). See bench/datasets.md for how to run it.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTokenCounter, findDefaultModel, WordPieceCounter, type TokenCounter } from '../src/core/datasets/tokenCount';
import { validateDataset } from '../src/core/datasets/validate';
import { packageRoot } from '../src/core/paths';

const ROOT = packageRoot(__dirname);
const DATA = process.env.BERT_STUDIO_DATA ?? path.resolve(ROOT, '..', 'shared', 'data');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** header + SST-2 train rows repeated until `sizeMb`. */
function buildFile(dir: string, sizeMb: number): string {
  const src = fs.readFileSync(path.join(DATA, 'sst2', 'train.tsv'));
  const nl = src.indexOf(10);
  const header = src.subarray(0, nl + 1);
  const body = src.subarray(nl + 1);
  const file = path.join(dir, `sst2-x${sizeMb}MB.tsv`);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, header);
  let written = header.length;
  while (written < sizeMb * 1024 * 1024) {
    fs.writeSync(fd, body);
    written += body.length;
  }
  fs.closeSync(fd);
  return file;
}

async function benchValidation(file: string): Promise<Record<string, number>> {
  const bytes = fs.statSync(file).size;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0;
  let peakHeap = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report = await validateDataset(
    { task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train: file } },
    {
      onProgress: () => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      },
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    cpu_seconds: +cpuSeconds.toFixed(2),
    mb_per_cpu_s: +(bytes / 1048576 / cpuSeconds).toFixed(1),
    load_average_1m: +os.loadavg()[0].toFixed(1),
    bytes,
    rows: report.files[0].counts.examples,
    seconds: +seconds.toFixed(2),
    mb_per_s: +(bytes / 1048576 / seconds).toFixed(1),
    rows_per_s: Math.round(report.files[0].counts.examples / seconds),
    peak_rss_mb: +(peakRss / 1048576).toFixed(1),
    rss_before_mb: +(rss0 / 1048576).toFixed(1),
    peak_heap_mb: +(peakHeap / 1048576).toFixed(1),
    max_rss_process_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  };
}

/** CPU seconds (the machine is shared, so wall time mostly measures the neighbours). */
function tsTokens(counter: TokenCounter, lines: readonly string[]): { seconds: number; tokens: number } {
  const c0 = process.cpuUsage();
  let tokens = 0;
  for (const l of lines) tokens += counter.count(l);
  const c = process.cpuUsage(c0);
  return { seconds: (c.user + c.system) / 1e6, tokens };
}

const PY = `
import json, resource, sys, time
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
tok.no_padding(); tok.no_truncation()  # tokenizer.json pads to 128: count real tokens, as the TS side does
lines = [l.split("\\t")[0] for l in open(sys.argv[2], encoding="utf-8").read().split("\\n")[1:] if l]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
t0 = cpu(); n = sum(len(e.ids) for e in tok.encode_batch(lines)); t1 = cpu()
m = sum(len(tok.encode(l).ids) for l in lines); t2 = cpu()
print(json.dumps({"batch_seconds": t1 - t0, "loop_seconds": t2 - t1, "tokens": n, "loop_tokens": m}))
`;

async function main(): Promise<void> {
  const sizeMb = Number(arg('size-mb', '1024'));
  const rounds = Number(arg('rounds', '3'));
  const out = arg('out', path.join(ROOT, 'bench', 'results', 'datasets.json'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-bench-'));
  try {
    process.stderr.write(`building a ${sizeMb} MB TSV in ${tmp}\n`);
    const file = buildFile(tmp, sizeMb);
    process.stderr.write('validating\n');
    const validation = await benchValidation(file);
    process.stderr.write(`${JSON.stringify(validation)}\n`);

    const model = findDefaultModel([ROOT]);
    if (!model) throw new Error('no default model folder (set BERT_STUDIO_DEFAULT_MODEL)');
    const textFile = path.join(DATA, 'sst2', 'train.tsv');
    const lines = fs.readFileSync(textFile, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]);
    const textMb = lines.reduce((n, l) => n + Buffer.byteLength(l), 0) / 1048576;
    const hf = await loadTokenCounter(model, 'transformers');
    const wp = WordPieceCounter.fromFolder(model) as WordPieceCounter;
    const runs: { ts: number[]; wp: number[]; pyBatch: number[]; pyLoop: number[] } = { ts: [], wp: [], pyBatch: [], pyLoop: [] };
    let tokens = { ts: 0, wp: 0, py: 0 };
    for (let r = 0; r < rounds; r++) {
      const a = tsTokens(hf, lines);
      runs.ts.push(a.seconds);
      const b = tsTokens(new WordPieceCounter(model, new Set(fs.readFileSync(path.join(model, 'vocab.txt'), 'utf8').split(/\r?\n/).filter(Boolean)), true), lines);
      runs.wp.push(b.seconds);
      const py = JSON.parse(execFileSync(PYTHON, ['-c', PY, path.join(model, 'tokenizer.json'), textFile], { encoding: 'utf8' })) as { batch_seconds: number; loop_seconds: number; tokens: number };
      runs.pyBatch.push(py.batch_seconds);
      runs.pyLoop.push(py.loop_seconds);
      tokens = { ts: a.tokens, wp: b.tokens, py: py.tokens };
      process.stderr.write(`round ${r + 1}: transformers.js ${a.seconds.toFixed(2)} s, wordpiece ${b.seconds.toFixed(2)} s, tokenizers batch ${py.batch_seconds.toFixed(2)} s, loop ${py.loop_seconds.toFixed(2)} s\n`);
    }
    void wp;
    const rate = (s: number): number => +(lines.length / s).toFixed(0);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gb: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${os.platform()} ${os.arch()}`, note: '2 cores shared with other jobs while measuring: throughput is also given per CPU second; token-statistics times are CPU seconds (Python: process CPU time, all threads)' },
      validation: { ...validation, size_mb: sizeMb, targets: { mb_per_s: 100, peak_rss_mb: 300 } },
      token_statistics: {
        text: 'SST-2 train sentences', lines: lines.length, mb: +textMb.toFixed(2), rounds,
        tokens: tokens,
        figures: {
          transformers_js: { seconds: +median(runs.ts).toFixed(3), lines_per_s: rate(median(runs.ts)) },
          wordpiece_ts: { seconds: +median(runs.wp).toFixed(3), lines_per_s: rate(median(runs.wp)) },
        },
        baseline: {
          python_tokenizers_encode_batch: { seconds: +median(runs.pyBatch).toFixed(3), lines_per_s: rate(median(runs.pyBatch)) },
          python_tokenizers_encode_loop: { seconds: +median(runs.pyLoop).toFixed(3), lines_per_s: rate(median(runs.pyLoop)) },
        },
        ratio: {
          transformers_js_vs_batch: +(median(runs.pyBatch) / median(runs.ts)).toFixed(3),
          wordpiece_ts_vs_batch: +(median(runs.pyBatch) / median(runs.wp)).toFixed(3),
          transformers_js_vs_loop: +(median(runs.pyLoop) / median(runs.ts)).toFixed(3),
          wordpiece_ts_vs_loop: +(median(runs.pyLoop) / median(runs.wp)).toFixed(3),
        },
        samples: runs,
      },
    };
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exitCode = 1;
});
