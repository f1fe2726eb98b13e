import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/core/paths';
import { venvPython } from '../../src/core/python/interpreter';
import { workerEnv } from '../../src/core/python/workerEnv';
import { checkSource, runDataSources } from '../../src/core/dashboard/sourceAccess';
import type { CheckpointEvent, EvalEvent, RunEvent, StepEvent } from '../../src/core/runs/protocol';
import { buildSpec } from '../../src/core/runs/spec';
import { RunStore } from '../../src/core/runs/store';
import { JsonlTail } from '../../src/core/runs/tail';
import { launchWorker, stopWorker } from '../../src/core/runs/worker';

const root = packageRoot(__dirname);
const python = venvPython(path.join(root, '.venv'));
const data = process.env.BERT_STUDIO_DATA ?? path.resolve(root, '..', 'shared', 'data');

/** Waits for a condition; fails at once, with the worker's log, if the worker exits first. */
async function waitFor(pred: () => boolean, ms: number, what: string, worker: { exited: Promise<number | null> }, runDir: string): Promise<void> {
  let exitCode: number | null | undefined;
  void worker.exited.then((c) => (exitCode = c));
  const deadline = Date.now() + ms;
  while (!pred()) {
    const log = (): string => fs.readFileSync(path.join(runDir, 'worker.log'), 'utf8').slice(-3000);
    if (exitCode !== undefined) throw new Error(`the worker exited (${exitCode}) before ${what}:\n${log()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worker client against the real trainer', function () {
  this.timeout(600_000);
  before(function () {
    if (!fs.existsSync(python)) throw new Error(`No Python environment at ${python}: run scripts/setup.sh`);
  });

  it('launches a tiny run, sees step and eval events, stops it at a checkpoint and resumes it', async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-int-'));
    const store = new RunStore(runs);
    const id = store.newId('int');
    const dir = store.runDir(id);
    fs.mkdirSync(dir);
    const spec = buildSpec({
      task: 'sequence_classification',
      model: 'default',
      train: path.join(data, 'sst2', 'train.tsv'),
      validation: path.join(data, 'sst2', 'dev.tsv'),
      device: 'cpu',
      // Long enough that the stop lands mid-run; small batches keep each step quick.
      // logging_steps 3 against save_steps 5: status.json must still keep up with every checkpoint.
      training: { max_steps: 400, per_device_train_batch_size: 8, max_seq_length: 32, eval_steps: 5, save_steps: 5, logging_steps: 3 },
      export: false,
    });
    (spec.data as Record<string, unknown>).max_eval_samples = 64;
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));

    const events: RunEvent[] = [];
    const tail = new JsonlTail(path.join(dir, 'events.jsonl'), (e) => events.push(...e)).start(100);
    try {
      const first = launchWorker({ python, runDir: dir, env: workerEnv(root), detached: false });
      await waitFor(() => events.some((e) => e.type === 'eval') && events.some((e) => e.type === 'checkpoint'), 300_000, 'an eval and a checkpoint', first, dir);
      assert.ok(events.some((e) => e.type === 'step'), 'step events arrive');
      const how = await stopWorker(dir, first.pid, 120_000);
      assert.equal(how, 'stopped');
      assert.equal(await first.exited, 0);
      const stopped = store.get(id);
      assert.equal(stopped.state, 'stopped');
      assert.ok(stopped.status?.last_checkpoint, 'the stop wrote a checkpoint');
      const stepAtStop = stopped.status?.step ?? 0;
      assert.ok(stepAtStop > 0 && stepAtStop < 400);
      const checkpoints = store.events(id).filter((e): e is CheckpointEvent => e.type === 'checkpoint');
      assert.equal(stopped.status?.last_checkpoint, checkpoints.at(-1)?.path);
      assert.equal(stepAtStop, checkpoints.at(-1)?.step, 'status step is the stop checkpoint step');

      // A misclassified example opens at its line: that line of the source file holds its text.
      const lastEval = store.events(id).filter((e): e is EvalEvent => e.type === 'eval').at(-1);
      const example = lastEval?.misclassified?.[0];
      assert.ok(example, 'the evaluation lists misclassified examples');
      const check = checkSource(example.source, { workspaces: [], dataSources: runDataSources(spec, undefined), base: dir });
      assert.ok(check.ok, check.ok ? '' : check.reason);
      const sourceLine = fs.readFileSync(check.file, 'utf8').split('\n')[check.line - 1] ?? '';
      assert.equal(sourceLine.split('\t')[0]?.trim(), example.text.trim());

      const before = events.length;
      const second = launchWorker({ python, runDir: dir, resume: true, env: workerEnv(root), detached: false });
      await waitFor(() => events.slice(before).some((e) => e.type === 'step'), 300_000, 'a step after resume', second, dir);
      const resumedStep = (events.slice(before).find((e) => e.type === 'step') as StepEvent).step;
      assert.ok(resumedStep > stepAtStop, `resumed at step ${resumedStep}, after the checkpoint at ${stepAtStop}`);
      await stopWorker(dir, second.pid, 120_000);
      await second.exited;
    } finally {
      tail.dispose();
    }
  });
});
