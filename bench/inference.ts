// Inference benchmark. Run after `npm run compile-tests`:
//   node out/bench/inference.js [--rounds 3] [--n 30] [--out bench/results/inference.json]
// MiniLM (L6/H384) with an MLM head and a token-classification head (fresh heads on the default
// encoder: latency does not depend on what the heads learned), exported by export.py.
// Fill-mask and NER latency through our engine (onnxruntime-node, fp32 and int8) against PyTorch
// fp32 with SDPA attention under torch.inference_mode in a Python worker (its recommended speed
// settings), on the same model and sentences; the three are alternated round
// by round in one run so machine noise hits all of them. Cold = load + first answer in a fresh
// engine / fresh Python model (modules already imported, and not the process's first load: that one is
// reported apart as first_cold_in_process_ms), with its breakdown for our engine (config,
// session, tokenizer, first run, CPU time). fp32-plain/int8-plain load model.onnx/model_quantized.onnx
// instead of the pre-optimised model_cpu.onnx/model_quantized_cpu.onnx (export.py), to show the
// difference in the same run. fp32/int8 (and the -plain and -unfused variants) are the engine's
// default, thread spinning `auto` (spinning while the cores are idle, src/core/inference/spinning.ts):
// what it chose at each load and at the end of each round's warm requests is recorded
// (auto_spinning); fp32-spin/int8-spin force it on and fp32-nospin/int8-nospin off, to show both
// sides in the same run. The Python worker is other work to the policy: after each PyTorch variant
// the run pauses SETTLE_MS so that the next variant does not start from the PyTorch worker's load.
// fp32-unfused/int8-unfused load an export made without the fused graph (<task>/onnx-unfused).
// model_cpu.onnx and model_quantized.onnx come from the fused graph where export.py could fuse it (its
// export.json `fusion`, recorded here); model.onnx is unfused. The models are rebuilt when export.py is
// newer than them. Writes bench/results/inference.json (or --out).

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { InferenceEngine } from '../src/core/inference/engine';
import { MONITOR_INTERVAL_MS, SPIN_POLICY, sharedCpuMonitor, type ThreadSpinning } from '../src/core/inference/spinning';
import type { Precision, SpinningState } from '../src/core/inference/types';

const REPO = path.resolve(__dirname, '..', '..');
const MODELS = path.join(REPO, '.cache', 'bench-inference');
const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const ROUNDS = arg('rounds', 3);
const N = arg('n', 30);
const OUT = process.argv.includes('--out') ? path.resolve(process.argv[process.argv.indexOf('--out') + 1]) : path.join(REPO, 'bench/results/inference.json');

type Task = 'mlm' | 'ner';
type Variant = 'fp32' | 'int8' | 'fp32-spin' | 'int8-spin' | 'fp32-nospin' | 'int8-nospin' | 'fp32-unfused' | 'int8-unfused' | 'fp32-plain' | 'int8-plain' | 'pytorch';
/** The engine's thread spinning for a variant: forced by -spin/-nospin, else the default (auto). */
const spinningOf = (v: Variant): ThreadSpinning => (v.endsWith('-nospin') ? 'off' : v.endsWith('-spin') ? 'on' : 'auto');
/** What `auto` chose in one round: at the load, and after the warm requests (it re-opens the session when it changes its mind). */
interface AutoChoice { round: number; at_load: SpinningState; at_end: SpinningState }
/**
 * The pause after a PyTorch variant: the spinning policy needs onWindows whole windows (spinning.ts
 * CpuMonitor) without the Python worker's load before it spins again, plus the window that the
 * worker's end fell in, plus slack for the timer.
 */
const SETTLE_MS = (SPIN_POLICY.onWindows + 1.5) * MONITOR_INTERVAL_MS;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
interface Stats { n: number; p50: number; p95: number; mean: number }
/** One cold load of our engine, in ms. */
interface Cold { total: number; config: number; session: number; tokenizer: number; cpu_window: number; first_run: number; rest: number; cpu: number; graph: string; spinning: SpinningState }

const median = (xs: number[]): number => +[...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)].toFixed(1);

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { n: s.length, p50: +q(0.5).toFixed(2), p95: +q(0.95).toFixed(2), mean: +(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2) };
}

function sentences(): { mlm: string[]; ner: string[] } {
  const data = process.env.BERT_STUDIO_DATA ?? path.resolve(REPO, '../shared/data');
  const rows = fs.readFileSync(path.join(data, 'sst2/dev.tsv'), 'utf8').split('\n').slice(1, 41).map((r) => r.split('\t')[0].trim()).filter((s) => s.split(' ').length >= 6);
  const mlm = rows.slice(0, 20).map((s) => {
    const w = s.split(' ');
    w[Math.floor(w.length / 2)] = '[MASK]';
    return w.join(' ');
  });
  return { mlm, ner: rows.slice(0, 20) };
}

class PythonWorker {
  private readonly proc;
  private readonly lines: AsyncIterableIterator<string>;
  constructor(python: string) {
    this.proc = spawn(python, [path.join(REPO, 'bench/inference_models.py'), 'serve', MODELS], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async call(cmd: object): Promise<{ ms: number[]; threads?: number; torch?: string }> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error('The Python worker exited.');
    return JSON.parse(value) as { ms: number[]; threads?: number; torch?: string };
  }
  close(): void {
    this.proc.stdin.end();
  }
}

/** The export a variant loads: `<task>/onnx`, or `<task>/onnx-unfused` (exported without the fused graph). */
const exportDir = (task: Task, v?: Variant): string => path.join(MODELS, task, v?.endsWith('-unfused') ? 'onnx-unfused' : 'onnx');

async function nodeRun(engine: InferenceEngine, task: Task, texts: string[], n: number, v?: Variant): Promise<number[]> {
  const folder = exportDir(task, v);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (task === 'mlm') await engine.fillMask(folder, texts[i % texts.length], 5);
    else await engine.tokenClassify(folder, texts[i % texts.length]);
    times.push(performance.now() - t);
  }
  return times;
}

/** Fresh engine → first answer, with where the time went (the engine's own load timings). */
async function nodeCold(engine: InferenceEngine, task: Task, texts: string[], v?: Variant): Promise<Cold> {
  const cpu0 = process.cpuUsage();
  const [total] = await nodeRun(engine, task, texts, 1, v);
  const cpu = process.cpuUsage(cpu0);
  const t = await engine.loadTimings(exportDir(task, v));
  if (!t || t.firstRunMs === undefined) throw new Error('The engine reported no load timings.');
  const rest = total - t.configMs - t.sessionMs - t.tokenizerMs - t.cpuWindowMs - t.firstRunMs;
  return { total, config: t.configMs, session: t.sessionMs, tokenizer: t.tokenizerMs, cpu_window: t.cpuWindowMs, first_run: t.firstRunMs, rest, cpu: (cpu.user + cpu.system) / 1000, graph: path.basename(t.graphFile), spinning: t.spinning };
}

/** Whether the exported models are missing or older than export.py (then they are rebuilt). */
function stale(): boolean {
  const exporter = fs.statSync(path.join(REPO, 'trainer/bert_studio_trainer/export.py')).mtimeMs;
  return ['mlm', 'ner'].some((task) => ['onnx', 'onnx-unfused'].some((folder) => {
    const built = path.join(MODELS, task, folder, 'export.json');
    return !fs.existsSync(path.join(MODELS, task, folder, 'model_quantized_cpu.onnx')) || !fs.existsSync(built) || fs.statSync(built).mtimeMs < exporter;
  }));
}

/** What export.py wrote for a task's graphs: whether they are fused (and which ops), the parity figures. */
function exportFacts(task: Task, folder = 'onnx'): unknown {
  const meta = JSON.parse(fs.readFileSync(path.join(MODELS, task, folder, 'export.json'), 'utf8')) as Record<string, unknown>;
  return { fusion: meta.fusion, max_abs_diff: meta.max_abs_diff, cpu_max_abs_diff: meta.cpu_max_abs_diff, quantized_max_abs_diff: meta.quantized_max_abs_diff, mask_positions: meta.mask_positions };
}

function ortVersion(): string {
  return (JSON.parse(fs.readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
}

/** The CPU's vector and matrix extensions that the kernels may use (Linux /proc/cpuinfo; empty elsewhere). */
function cpuFlags(): string[] {
  try {
    const flags = /^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(' ') ?? [];
    return flags.filter((f) => /^(avx|fma|f16c|amx|sse4)/.test(f));
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const python = process.env.BERT_STUDIO_PYTHON ?? path.join(REPO, '.venv/bin/python');
  if (stale()) execFileSync(python, [path.join(REPO, 'bench/inference_models.py'), 'build', MODELS], { stdio: 'inherit' });
  const texts = sentences();
  const importStart = performance.now();
  await import('onnxruntime-node');
  await import('@huggingface/transformers');
  const importMs = performance.now() - importStart;

  // The process's first model load also pays one-time costs that module import does not (onnxruntime's
  // environment, V8 compiling the tokenizer code): measured once, fp32 fill-mask as the extension's
  // first request, and kept out of the per-variant figures so that they compare like with like.
  const firstEngine = new InferenceEngine({ precision: 'fp32' });
  const firstCold = await nodeCold(firstEngine, 'mlm', texts.mlm);
  await firstEngine.dispose();
  const loadBefore = os.loadavg()[0];
  const py = new PythonWorker(python);
  const firstPyCold = (await py.call({ op: 'cold', task: 'mlm', texts: texts.mlm })).ms[0]; // likewise for Python
  await sleep(SETTLE_MS);
  const variants: Variant[] = ['fp32', 'int8', 'fp32-spin', 'int8-spin', 'fp32-nospin', 'int8-nospin', 'fp32-unfused', 'int8-unfused', 'fp32-plain', 'int8-plain', 'pytorch'];
  const autoSpinning: Record<string, AutoChoice[]> = {};
  const warm: Record<string, number[]> = {};
  const cold: Record<string, number[]> = {};
  const breakdown: Record<string, Cold[]> = {};
  let torchInfo: { threads?: number; torch?: string } = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const task of ['mlm', 'ner'] as Task[]) {
      // Rotate the order each round so no variant always runs first.
      for (const v of variants.map((_, k) => variants[(k + round) % variants.length])) {
        const key = `${task}/${v}`;
        if (v === 'pytorch') {
          cold[key] = [...(cold[key] ?? []), ...(await py.call({ op: 'cold', task, texts: texts[task] })).ms];
          const r = await py.call({ op: 'warm', task, texts: texts[task], n: N });
          torchInfo = { threads: r.threads, torch: r.torch };
          warm[key] = [...(warm[key] ?? []), ...r.ms];
          await sleep(SETTLE_MS);
        } else {
          const spinning = spinningOf(v);
          const engine = new InferenceEngine({ precision: v.slice(0, 4) as Precision, optimisedGraphs: !v.endsWith('-plain'), spinning });
          const c = await nodeCold(engine, task, texts[task], v);
          cold[key] = [...(cold[key] ?? []), c.total];
          breakdown[key] = [...(breakdown[key] ?? []), c];
          await nodeRun(engine, task, texts[task], 3, v); // settle
          warm[key] = [...(warm[key] ?? []), ...(await nodeRun(engine, task, texts[task], N, v))];
          if (spinning === 'auto') {
            const atEnd = (await engine.info(exportDir(task, v))).spinning;
            autoSpinning[key] = [...(autoSpinning[key] ?? []), { round: round + 1, at_load: c.spinning, at_end: atEnd }];
          }
          await engine.dispose();
        }
        const b = breakdown[key]?.at(-1);
        const parts = b ? ` (session ${b.session.toFixed(0)}, tokenizer ${b.tokenizer.toFixed(0)}, first run ${b.first_run.toFixed(0)}, cpu ${b.cpu.toFixed(0)})` : '';
        const auto = autoSpinning[key]?.at(-1)?.round === round + 1 ? autoSpinning[key].at(-1) : undefined;
        const chose = auto ? `, auto ${auto.at_load.spinning ? 'spinning' : 'not spinning'}${auto.at_end.spinning !== auto.at_load.spinning ? ` then ${auto.at_end.spinning ? 'spinning' : 'not spinning'}` : ''}` : '';
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${key}: warm p50 ${stats(warm[key]).p50} ms, cold ${cold[key].at(-1)?.toFixed(0)} ms${parts}${chose}\n`);
      }
    }
  }
  py.close();

  type ColdMedians = Omit<Cold, 'total' | 'graph' | 'spinning'> & { graph: string };
  const figures: Record<string, { warm: Stats; cold: Stats; cold_breakdown_p50_ms?: ColdMedians }> = {};
  for (const key of Object.keys(warm)) {
    const b = breakdown[key];
    const med = (k: keyof Omit<Cold, 'graph' | 'spinning'>): number => median(b.map((c) => c[k]));
    figures[key] = {
      warm: stats(warm[key]),
      cold: stats(cold[key]),
      ...(b ? { cold_breakdown_p50_ms: { config: med('config'), session: med('session'), tokenizer: med('tokenizer'), cpu_window: med('cpu_window'), first_run: med('first_run'), rest: med('rest'), cpu: med('cpu'), graph: b[0].graph } } : {}),
    };
  }
  const ratios: Record<string, { fp32: number; int8: number }> = {};
  const spinRatios: Record<string, { fp32: number; int8: number }> = {};
  const noSpinRatios: Record<string, { fp32: number; int8: number }> = {};
  const unfusedRatios: Record<string, { fp32: number; int8: number }> = {};
  for (const task of ['mlm', 'ner']) {
    const base = figures[`${task}/pytorch`].warm.p50;
    const ratio = (v: Variant): number => +(base / figures[`${task}/${v}`].warm.p50).toFixed(2);
    ratios[task] = { fp32: ratio('fp32'), int8: ratio('int8') };
    spinRatios[task] = { fp32: ratio('fp32-spin'), int8: ratio('int8-spin') };
    noSpinRatios[task] = { fp32: ratio('fp32-nospin'), int8: ratio('int8-nospin') };
    unfusedRatios[task] = { fp32: ratio('fp32-unfused'), int8: ratio('int8-unfused') };
  }
  const cpus = os.cpus();
  const result = {
    benchmark: 'inference',
    date: new Date().toISOString(),
    model: 'default MiniLM (6 layers, hidden 384, 12 heads) with fresh MLM / 9-label token-classification heads',
    sentences: { mlm: texts.mlm.length, ner: texts.ner.length, source: 'SST-2 dev' },
    method: `rounds=${ROUNDS}, n=${N} warm requests per variant per round, variants alternated; latency = tokenize + forward + post-process of one sentence; cold = fresh engine to first answer, modules imported; ${SETTLE_MS / 1000} s pause after each PyTorch variant (the spinning policy's windows)`,
    cold_breakdown: 'medians over rounds: config = find folder + config.json; session = onnxruntime session of the main graph; tokenizer = parse + build (files read during the session); cpu_window = the wait for a CPU window long enough for thread spinning auto to decide, beyond the tokenizer it overlaps (0 when the monitor already had one); first_run = first forward pass; rest = tokenize + post-process of the first answer; cpu = process CPU time of the cold request (all threads), the least noisy figure on a shared machine; graph = file loaded',
    baseline: { what: 'PyTorch fp32 with SDPA attention (attn_implementation="sdpa") under torch.inference_mode, in Python', ...torchInfo },
    ours: {
      what: 'onnxruntime-node CPU provider, graph optimisation level all, sequential execution, default intra-op threads (one per core), thread spinning auto: spinning within a request (force_spinning_stop) while other work leaves an idle core per thread, else not (the -spin variants: always, the -nospin variants: never); Hugging Face tokenizers (Node bindings), or for one printable-ASCII text with a BERT-shaped tokenizer.json the engine\'s own JavaScript WordPiece (wordpiece.ts: the same ids and offsets)',
      intra_op_threads: sharedCpuMonitor().threads,
      onnxruntime_node: ortVersion(),
      graphs: { mlm: exportFacts('mlm'), ner: exportFacts('ner'), 'mlm-unfused': exportFacts('mlm', 'onnx-unfused'), 'ner-unfused': exportFacts('ner', 'onnx-unfused') },
    },
    targets: { warm_p50_speedup_fp32: 2, warm_p50_speedup_int8: 3.5, cold_ms: 1000 },
    module_import_ms: +importMs.toFixed(0),
    first_cold_in_process_pytorch_ms: +firstPyCold.toFixed(0),
    first_cold_in_process_ms: Object.fromEntries(Object.entries(firstCold).map(([k, v]) => [k, typeof v === 'number' ? +v.toFixed(1) : v])),
    figures,
    speedup_vs_pytorch_warm_p50: ratios,
    speedup_vs_pytorch_warm_p50_spinning: spinRatios,
    speedup_vs_pytorch_warm_p50_not_spinning: noSpinRatios,
    auto_spinning: autoSpinning,
    speedup_vs_pytorch_warm_p50_unfused: unfusedRatios,
    machine: { cpu: cpus[0]?.model ?? 'unknown', cpu_flags: cpuFlags(), cores: cpus.length, memory_gb: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, load_average_1min: { start: +loadBefore.toFixed(1), end: +os.loadavg()[0].toFixed(1) }, note: 'cores shared with other work; figures are noisy' },
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify({ figures, ratios, spinRatios, noSpinRatios, unfusedRatios, autoSpinning }, null, 1)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
