// bert-studio evaluate --model RUN --data FILE|DATASET[:split]: the run's model scored on another file
// or split by the worker (same tokenization and metrics as training), written into the run folder.
import * as path from 'node:path';
import { packageRoot, studioLayout } from '../../core/paths';
import { evaluateRun, EvaluationError, resolveEvalData } from '../../core/runs/evaluate';
import { flag, parseArgs, UsageError, type CliIo } from '../io';
import { cliPython } from '../python';
import { resolveModelArg } from './infer';

export const EVALUATE_USAGE = `bert-studio evaluate --model RUN_OR_DIR --data FILE|DATASET[:split] [--name N] [--device cpu|cuda] [--json]
  Scores the run's trained model on a labelled file, or on a split of an imported dataset
  (DATASET:test by default; import one with: bert-studio dataset import TRAIN --test TEST).
  Writes <run>/evaluations/<name>/metrics.json and predictions.jsonl (each example with its
  source line) and adds the result to the run's events beside the validation figures.`;

export async function runEvaluateCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, ['json', 'help'], ['model', 'data', 'name', 'device', 'workspace', 'python', 'out']);
  if (args.flags.has('help')) {
    io.stdout.write(`${EVALUATE_USAGE}\n`);
    return 0;
  }
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const model = resolveModelArg(flag(args, 'model'), workspace);
  const dataArg = flag(args, 'data');
  if (!dataArg) throw new UsageError(`--data FILE or DATASET[:split] is required.\n${EVALUATE_USAGE}`, '--data');
  const device = flag(args, 'device');
  if (device !== undefined && !/^(auto|cpu|cuda(:\d+)?)$/.test(device)) throw new UsageError(`--device ${JSON.stringify(device)}: use auto, cpu, cuda or cuda:N.`, '--device');
  try {
    const data = await resolveEvalData(dataArg, studioLayout(workspace).datasetsDir, flag(args, 'name'));
    const json = args.flags.has('json');
    if (!json) io.stderr.write(`Evaluating ${path.basename(model)} on ${data.file} (${data.split})…\n`);
    const report = await evaluateRun({
      python: await cliPython(args, workspace),
      model,
      data,
      packageRoot: packageRoot(),
      ...(flag(args, 'out') ? { out: path.resolve(flag(args, 'out') as string) } : {}),
      ...(device ? { device } : {}),
      onStderr: (line) => io.stderr.write(`${line}\n`),
    });
    if (json) {
      io.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    io.stdout.write(`${report.name} (${report.split}, ${report.examples} examples, step ${report.step}):\n`);
    for (const [k, v] of Object.entries(report.metrics)) io.stdout.write(`  ${k.padEnd(16)} ${v === null ? 'n/a' : v.toFixed(4)}\n`);
    io.stdout.write(`written to ${report.out}\n`);
    return 0;
  } catch (err) {
    if (err instanceof EvaluationError) throw new UsageError(err.message, '--data');
    throw err;
  }
}
