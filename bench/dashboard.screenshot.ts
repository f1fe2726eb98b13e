// Renders the dashboard with realistic runs (CoNLL-2003 NER fine-tuning: one live, two finished
// for comparison) in headless Chromium and saves media/screenshots/dashboard.png.
//   node out/bench/dashboard.screenshot.js
// Example sentences come from $BERT_STUDIO_DATA/conll2003/valid.txt when present.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunModel } from '../src/core/dashboard/model';
import { ToWebview, type HostMessage } from '../webview/dashboard/protocol';
import { fakeRun } from '../test/unit/dashboard/fakeRun';
import { openHarness } from './dashboard.harness';

const REPO = path.resolve(__dirname, '..', '..');

function conllSentences(limit: number): string[] {
  const file = path.join(process.env.BERT_STUDIO_DATA ?? path.join(REPO, '..', 'shared', 'data'), 'conll2003', 'valid.txt');
  if (!fs.existsSync(file)) return [];
  const out: string[] = [];
  let words: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const word = line.split(' ')[0];
    if (!line.trim() || line.startsWith('-DOCSTART-')) {
      if (words.length >= 8) out.push(words.join(' '));
      words = [];
      if (out.length >= limit) break;
    } else if (word) words.push(word);
  }
  return out;
}

async function main(): Promise<void> {
  const texts = conllSentences(40);
  const runs = [
    { id: '20250314-101500-conll-lr3e-5', name: 'conll lr 3e-5', events: fakeRun({ maxSteps: 5000, upTo: 3420, task: 'token_classification', learningRate: 3e-5, seed: 4, texts, sourceFile: 'data/conll2003/valid.txt', stepSeconds: 0.11 }) },
    { id: '20250313-181200-conll-lr5e-5', name: 'conll lr 5e-5', events: fakeRun({ maxSteps: 5000, task: 'token_classification', learningRate: 5e-5, seed: 2, texts, stepSeconds: 0.11 }) },
    { id: '20250313-142000-conll-lr2e-5', name: 'conll lr 2e-5', events: fakeRun({ maxSteps: 5000, task: 'token_classification', learningRate: 2e-5, seed: 3, texts, stepSeconds: 0.11 }) },
  ];
  const [live] = runs;
  const harness = await openHarness(REPO, { width: 1280, height: 900, scale: 1, state: { primary: live?.id, compare: runs.slice(1).map((r) => r.id), smoothing: 0.7 } });
  try {
    const messages: HostMessage[] = [
      { type: ToWebview.Runs, runs: runs.map((r, i) => ({ id: r.id, name: r.name, task: 'token_classification', state: i === 0 ? 'running' : 'completed' })) },
      { type: ToWebview.Selection, selection: { primary: live?.id, compare: runs.slice(1).map((r) => r.id) } },
    ];
    for (const [i, r] of runs.entries()) {
      const m = new RunModel();
      m.ingest(r.events);
      if (i === 0) {
        m.setStatus({ state: 'running', pid: 4242, step: 3420, max_steps: 5000, best_metric: { name: 'f1', value: 0.9012, step: 3400 }, last_checkpoint: 'checkpoints/step-3400' }, 'running');
        m.addLogLines([
          'INFO loading dataset snapshot .bert-studio/datasets/conll2003 (14041 train, 3250 validation sentences)',
          'INFO model: MiniLM-L6-H384-uncased, 9 labels (IOB2), bf16 autocast on cuda:0',
          'INFO step 3400: saved checkpoint checkpoints/step-3400 (best f1 0.9012)',
        ]);
      }
      const s = m.snapshot();
      // A live run's clock: "now" is shortly after its last event.
      const summary = i === 0 ? m.summary(((r.events.at(-1)?.ts as number) ?? 0) + 0.5) : s.summary;
      messages.push(
        { type: ToWebview.Series, runId: r.id, reset: true, deltas: s.series },
        { type: ToWebview.Summary, runId: r.id, summary },
        { type: ToWebview.Eval, runId: r.id, report: s.eval },
        { type: ToWebview.Logs, runId: r.id, reset: true, lines: s.logs },
      );
    }
    await harness.send(messages);
    // Show the examples behind one off-diagonal cell (gold ORG, predicted LOC).
    await harness.page.click('table.confusion tr:nth-child(4) td:nth-child(2)');
    await harness.page.evaluate(() => new Promise((r) => setTimeout(r, 300)), undefined);
    const out = path.join(REPO, 'media', 'screenshots', 'dashboard.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await harness.page.screenshot({ path: out, fullPage: true });
    const csp = await harness.cspViolations();
    process.stdout.write(`${out}\nCSP violations: ${csp.length ? csp.join('; ') : 'none'}\npage errors: ${harness.errors.length ? harness.errors.join('; ') : 'none'}\n`);
  } finally {
    await harness.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
