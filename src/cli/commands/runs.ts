import * as path from 'node:path';
import { studioLayout } from '../../core/paths';
import { RunStore, type RunInfo } from '../../core/runs/store';
import { stopWorker } from '../../core/runs/worker';
import { UsageError, flag, parseArgs, type CliIo } from '../io';

export const RUNS_USAGE = `bert-studio runs [list] [--json]      runs in this workspace, newest first
bert-studio runs show RUN_ID [--json]  spec, status and last evaluation of one run
bert-studio runs stop RUN_ID           checkpoint and stop a running worker`;

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
  if (!id) throw new UsageError(`runs ${sub} needs a RUN_ID.\n${RUNS_USAGE}`);
  const info = store.get(id);
  if (!info.spec) throw new UsageError(`No run "${id}" in ${store.runsDir}.`);
  if (sub === 'show') {
    const s = { ...summary(store, info), spec: info.spec, status: info.status };
    io.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : Object.entries(s).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n') + '\n');
    return 0;
  }
  if (sub === 'stop') {
    const how = await stopWorker(info.dir, info.status?.pid);
    io.stdout.write(json ? JSON.stringify({ id, result: how }) + '\n' : `${id}: ${how}\n`);
    return 0;
  }
  throw new UsageError(`Unknown runs subcommand "${sub}".\n${RUNS_USAGE}`);
}
