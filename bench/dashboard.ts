// Dashboard benchmark. Run after `npm run build && npm run compile-tests`:
//   node --expose-gc out/bench/dashboard.js
// 1. Render: two runs of 1M logged steps each (8 step series + eval metrics), downsampled on the
//    host by the same RunModel the extension uses, sent through the real protocol messages into
//    the built webview in headless Chromium: time to first render, then per-append update time.
// 2. Host memory: a simulated 10k-step run appended to events.jsonl while a RunFollower (JsonlTail
//    + downsampler) follows it and a session-like loop drains it; heap at 1k, 5k and 10k steps.
// Writes bench/results/dashboard.json.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunFollower } from '../src/core/dashboard/follower';
import { RunModel } from '../src/core/dashboard/model';
import { RunStore } from '../src/core/runs/store';
import type { RunEvent } from '../src/core/runs/protocol';
import { ToWebview, type HostMessage } from '../webview/dashboard/protocol';
import { rng, stepEvent, toJsonl } from '../test/unit/dashboard/fakeRun';
import { openHarness } from './dashboard.harness';

const REPO = path.resolve(__dirname, '..', '..');
const POINTS = Number(process.env.DASH_POINTS ?? 1_000_000);
const APPENDS = 60;
const PER_APPEND = 25;

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

const round = (v: number, d = 1): number => Number(v.toFixed(d));

/** Feeds `n` step events of a 1-step-logging run into the model in chunks (no giant array). */
function feed(model: RunModel, from: number, n: number, maxSteps: number, seed: number, t0: number): void {
  const r = rng(seed + from);
  const o = { maxSteps, learningRate: 5e-5 };
  const chunk: RunEvent[] = [];
  for (let step = from; step < from + n; step++) {
    chunk.push(stepEvent(step, t0 + step * 0.1, o, r));
    if (step % 1000 === 0) {
      const q = 0.9 - 0.2 * Math.exp(-step / 200_000);
      chunk.push({ type: 'eval', ts: t0 + step * 0.1, step, metrics: { accuracy: q, f1: q - 0.01, loss: 0.5 - q / 3 } });
    }
    if (chunk.length >= 10_000) model.ingest(chunk.splice(0));
  }
  model.ingest(chunk.splice(0));
}

function snapshotMessages(runId: string, model: RunModel): HostMessage[] {
  const s = model.snapshot();
  return [
    { type: ToWebview.Series, runId, reset: true, deltas: s.series },
    { type: ToWebview.Summary, runId, summary: s.summary },
    { type: ToWebview.Eval, runId, report: s.eval },
    { type: ToWebview.Logs, runId, reset: true, lines: s.logs },
  ];
}

async function renderBench(): Promise<Record<string, unknown>> {
  const runs = ['20250301-090000-bench-a', '20250301-100000-bench-b'];
  const harness = await openHarness(REPO, { width: 1400, height: 1000, state: { primary: runs[0], compare: [runs[1]], smoothing: 0.6 } });
  try {
    // Host: ingest + downsample 1M points per series for each run.
    const t0 = process.hrtime.bigint();
    const models = runs.map((_id, i) => {
      const m = new RunModel();
      m.ingest([{ type: 'status', ts: 1, state: 'running' }]);
      feed(m, 1, POINTS, POINTS + 100_000, i + 1, 1_760_000_000);
      return m;
    });
    const hostIngestMs = ms(t0);
    const t1 = process.hrtime.bigint();
    const messages: HostMessage[] = [
      { type: ToWebview.Runs, runs: runs.map((id) => ({ id, name: id, task: 'sequence_classification', state: 'running' })) },
      { type: ToWebview.Selection, selection: { primary: runs[0], compare: [runs[1] as string] } },
      ...runs.flatMap((id, i) => snapshotMessages(id, models[i] as RunModel)),
    ];
    const hostSnapshotMs = ms(t1);
    const payloadBytes = Buffer.byteLength(JSON.stringify(messages));
    const pointsSent = messages.reduce((a, m) => a + (m.type === ToWebview.Series ? m.deltas.reduce((b, d) => b + d.total, 0) : 0), 0);
    const t2 = process.hrtime.bigint();
    const firstRenderPageMs = await harness.send(messages);
    const firstRenderTransferAndPageMs = ms(t2);

    // Live appends to the primary run: 25 new steps per tick, as a 250 ms flush would carry.
    const hostAppendMs: number[] = [];
    const pageAppendMs: number[] = [];
    const appendBytes: number[] = [];
    let next = POINTS + 1;
    const primary = models[0] as RunModel;
    primary.drain();
    for (let i = 0; i < APPENDS; i++) {
      const t = process.hrtime.bigint();
      feed(primary, next, PER_APPEND, POINTS + 100_000, 9, 1_760_000_000);
      next += PER_APPEND;
      const d = primary.drain();
      const msg: HostMessage[] = [
        { type: ToWebview.Series, runId: runs[0] as string, reset: false, deltas: d.series },
        ...(d.summary ? [{ type: ToWebview.Summary, runId: runs[0] as string, summary: d.summary } as HostMessage] : []),
      ];
      hostAppendMs.push(ms(t));
      appendBytes.push(Buffer.byteLength(JSON.stringify(msg)));
      pageAppendMs.push(await harness.send(msg));
    }

    // Zoom: the host re-downsamples a range from full resolution.
    const tz = process.hrtime.bigint();
    const range = models.map((m, i) => ({ runId: runs[i] as string, deltas: m.range(400_000, 410_000) }));
    const hostZoomMs = ms(tz);
    const pageZoomMs = await harness.send([{ type: ToWebview.Range, requestId: 0, x0: 400_000, x1: 410_000, runs: range }]);

    const csp = await harness.cspViolations();
    const posted = await harness.posted();
    return {
      chromium: harness.browserVersion,
      runs: runs.length,
      pointsPerSeriesPerRun: POINTS,
      seriesPerRun: (messages.find((m) => m.type === ToWebview.Series) as Extract<HostMessage, { type: 'series' }>).deltas.length,
      firstRender: {
        hostIngestAndDownsampleMs: round(hostIngestMs),
        hostSnapshotMs: round(hostSnapshotMs),
        payloadBytes,
        pointsSent: pointsSent,
        pageApplyAndDrawMs: round(firstRenderPageMs),
        transferAndPageMs: round(firstRenderTransferAndPageMs),
        totalMs: round(hostIngestMs + hostSnapshotMs + firstRenderTransferAndPageMs),
      },
      append: {
        ticks: APPENDS,
        stepsPerTick: PER_APPEND,
        hostDrainMsMedian: round(quantile(hostAppendMs, 0.5), 2),
        hostDrainMsP95: round(quantile(hostAppendMs, 0.95), 2),
        messageBytesMedian: quantile(appendBytes, 0.5),
        pageApplyAndDrawMsMedian: round(quantile(pageAppendMs, 0.5), 2),
        pageApplyAndDrawMsP95: round(quantile(pageAppendMs, 0.95), 2),
        pageApplyAndDrawMsMax: round(Math.max(...pageAppendMs), 2),
      },
      zoom: { range: [400_000, 410_000], hostMs: round(hostZoomMs, 2), pageApplyAndDrawMs: round(pageZoomMs, 2) },
      cspViolations: csp,
      pageErrors: harness.errors,
      webviewSent: [...new Set(posted.map((m) => m.type))],
    };
  } finally {
    await harness.close();
  }
}

function heap(): { heapUsedMB: number; arrayBuffersMB: number; rssMB: number } {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  const m = process.memoryUsage();
  return { heapUsedMB: round(m.heapUsed / 2 ** 20, 2), arrayBuffersMB: round(m.arrayBuffers / 2 ** 20, 2), rssMB: round(m.rss / 2 ** 20, 1) };
}

async function memoryBench(): Promise<Record<string, unknown>> {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-dash-bench-'));
  const id = '20250301-120000-memory';
  const dir = path.join(runsDir, id);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ version: 1, task: 'sequence_classification', data: { train: 't.jsonl' } }));
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'running', pid: process.pid, step: 0, max_steps: 10_000 }));
  const events = path.join(dir, 'events.jsonl');
  fs.writeFileSync(events, toJsonl([{ type: 'status', ts: 1, state: 'running' }]));
  const store = new RunStore(runsDir);
  let dirty = false;
  const follower = new RunFollower(store, id, () => (dirty = true), { eventsPollMs: 20, statusPollMs: 200, logPollMs: 200 });
  let sentBytes = 0;
  let messages = 0;
  const drain = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    const d = follower.model.drain();
    // What the session would post (serialised as VS Code does), then dropped.
    sentBytes += Buffer.byteLength(JSON.stringify(d));
    messages++;
  }, 50);
  const r = rng(5);
  const o = { maxSteps: 10_000, learningRate: 5e-5 };
  const samples: Record<string, unknown> = {};
  const baseline = heap();
  const t0 = process.hrtime.bigint();
  for (let step = 1; step <= 10_000; step += 50) {
    const batch: RunEvent[] = [];
    for (let s = step; s < step + 50; s++) {
      batch.push(stepEvent(s, 1_760_000_000 + s * 0.1, o, r));
      if (s % 500 === 0) batch.push({ type: 'eval', ts: 1_760_000_000 + s * 0.1, step: s, metrics: { accuracy: 0.9, loss: 0.3 } });
      if (s % 100 === 0) batch.push({ type: 'log', ts: 1_760_000_000 + s * 0.1, level: 'info', message: `step ${s}` });
    }
    fs.appendFileSync(events, toJsonl(batch));
    await new Promise((res) => setTimeout(res, 15));
    const done = step + 49;
    if (done === 1000 || done === 5000 || done === 10_000) {
      // Let the follower catch up before measuring.
      while ((follower.model.summary().step ?? 0) < done) await new Promise((res) => setTimeout(res, 10));
      samples[`step${done}`] = { ...heap(), pointsHeld: follower.model.pointCount };
    }
  }
  const elapsedMs = ms(t0);
  clearInterval(drain);
  follower.dispose();
  fs.rmSync(runsDir, { recursive: true, force: true });
  return { steps: 10_000, baseline, samples, messages, sentBytes, wallMs: round(elapsedMs) };
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(REPO, 'dist', 'webview', 'dashboard.js'))) throw new Error('Build first: npm run build');
  const memory = await memoryBench();
  const render = await renderBench();
  const result = {
    benchmark: 'dashboard',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' },
    render,
    memory,
  };
  const out = path.join(REPO, 'bench', 'results', 'dashboard.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
