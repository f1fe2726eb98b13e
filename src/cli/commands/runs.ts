import * as path from 'node:path';
import { studioLayout } from '../../core/paths';
import { onInvalidRecord } from '../../core/runs/protocol';
import { RunStore, isRunId, isFinishing, type RunInfo } from '../../core/runs/store';
import { stopWorker } from '../../core/runs/worker';
import { UsageError, flag, parseArgs, type CliIo } from '../io';

export const RUNS_USAGE = `bert-studio runs [list] [--json]      runs in this workspace, newest first
bert-studio runs show RUN_ID [--json]  spec, status and last evaluation of one run
bert-studio runs stop RUN_ID           checkpoint and stop a running (or starting) worker`;

/** What `runs stop` printed for each outcome. */
const STOP_TEXT: Record<string, string> = {
  stopped: 'stopped (resume with: bert-studio train --resume ID)',
  killed: 'did not stop within the grace period and was killed; resume continues from its last checkpoint',
  'not-running': 'no worker is running for this run; nothing was signalled',
  'not-ours': 'its recorded pid could not be confirmed as this run\'s worker, so nothing was signalled; the stop file asks the worker to stop at its next step',
};

function summary(store: RunStore, info: RunInfo): Record<string, unknown> {
  const evals = store.events(info.id).filter((e) => e.type === 'eval');
  const last = evals.at(-1);
  return {
    id: info.id,
    state: info.state,
    task: info.spec?.task,
    model: info.spec?.model.name_or_path,
    step: info.status?.step,
    max_steps: info.status?.max_steps,
    best_metric: info.status?.best_metric ?? null,
    last_eval: last && last.type === 'eval' ? last.metrics : null,
    onnx: info.hasOnnx ? path.join(info.dir, 'onnx') : null,
    dir: info.dir,
  };
}

export async function runRunsCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, ['json'], ['workspace']);
  const json = args.flags.has('json');
  const store = new RunStore(studioLayout(path.resolve(flag(args, 'workspace') ?? process.cwd())).runsDir);
  const [sub = 'list', id] = args.positional;
  if (sub === 'list') {
    const rows = store.list().map((r) => summary(store, r));
    if (json) io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (!rows.length) io.stdout.write(`No runs in ${store.runsDir}\n`);
    else
      for (const r of rows) {
        const best = r.best_metric as { name: string; value: number } | null;
        io.stdout.write(`${String(r.id).padEnd(48)} ${String(r.state).padEnd(12)} ${String(r.task ?? '').padEnd(24)} step ${r.step ?? 0}/${r.max_steps ?? '?'}${best ? `  ${best.name}=${best.value.toFixed(4)}` : ''}\n`);
      }
    return 0;
  }
  if (sub !== 'show' && sub !== 'stop') throw new UsageError(`Unknown runs subcommand "${sub}".\n${RUNS_USAGE}`);
  if (!id) throw new UsageError(`runs ${sub} needs a RUN_ID.\n${RUNS_USAGE}`);
  if (!isRunId(id)) throw new UsageError(`"${String(id).slice(0, 80)}" is not a run id: a run id is a folder name in ${store.runsDir} (letters, digits, '.', '_', '-'; no '/'), as "bert-studio runs" lists them.`, 'RUN_ID');
  const problems: string[] = [];
  const sub2 = onInvalidRecord((file, reason) => problems.push(`${path.basename(file)}: ${reason}`));
  let info: RunInfo;
  try {
    info = store.get(id);
  } finally {
    sub2.dispose();
  }
  if (!info.spec) {
    if (problems.some((p) => p.startsWith('spec.json'))) throw new UsageError(`Run "${id}" has an invalid spec.json (${problems.join('; ')}); fix or remove ${path.join(info.dir, 'spec.json')}.`, 'spec.json');
    throw new UsageError(`No run "${id}" in ${store.runsDir}; "bert-studio runs" lists them.`, 'RUN_ID');
  }
  if (sub === 'show') {
    const s = { ...summary(store, info), spec: info.spec, status: info.status, ...(problems.length ? { problems } : {}) };
    io.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : Object.entries(s).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n') + '\n');
    return 0;
  }
  if (!['starting', 'running', 'stopping'].includes(info.state)) {
    io.stdout.write(json ? JSON.stringify({ id, result: 'not-running', state: info.state }) + '\n' : `${id}: is ${info.state}, not running; nothing to stop.\n`);
    return 0;
  }
  if (isFinishing(info.status)) {
    io.stdout.write(json ? JSON.stringify({ id, result: 'finishing' }) + '\n' : `${id}: has finished training and is writing its model and export; it will end as completed.\n`);
    return 0;
  }
  // The worker the run folder records (status.json, or launch.json for a run still starting),
  // signalled only once /proc confirms it is this run's worker.
  let reason: string | undefined;
  const how = await stopWorker(info.dir, undefined, 30_000, 200, (r) => (reason = r));
  io.stdout.write(json ? JSON.stringify({ id, result: how, ...(reason ? { reason } : {}) }) + '\n' : `${id}: ${STOP_TEXT[how]}${reason && how === 'not-ours' ? ` (${reason})` : ''}\n`);
  return 0;
}
