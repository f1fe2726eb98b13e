// bert-studio analyze label-errors --model RUN [--data FILE|DATASET[:split] --folds K]: likely label errors
// by confident learning (the worker's `label-errors`), written to <run>/label_issues.jsonl and listed
// here as file:line with the given and the suggested label.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findLabelErrors, readLabelIssues } from '../../core/analysis/labelIssues';
import { packageRoot, studioLayout } from '../../core/paths';
import { EvaluationError, resolveEvalData } from '../../core/runs/evaluate';
import { flag, parseArgs, UsageError, type CliIo } from '../io';
import { cliPython } from '../python';
import { resolveModelArg } from './infer';

export const ANALYZE_USAGE = `bert-studio analyze label-errors --model RUN [--data FILE|DATASET[:split] --folds K] [--probs mean|first] [--top N] [--json]
  Finds likely label errors with confident learning (cleanlab). By default from the run's training
  dynamics (recorded while it trained, no extra training); --folds K cross-validates instead (K
  trainings with the run's settings), also for another file or dataset split given with --data.
  Writes <run>/label_issues.jsonl (example, source file:line, given label, suggested label, score),
  which the extension shows in the Problems panel.`;

const SHOWN = 20;

export async function runAnalyzeCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === 'help') {
    io.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  if (!sub) throw new UsageError(`analyze needs the analysis to run: label-errors.\n${ANALYZE_USAGE}`);
  if (sub !== 'label-errors') throw new UsageError(`analyze ${sub}: unknown analysis; use: analyze label-errors.\n${ANALYZE_USAGE}`);
  const args = parseArgs(rest, ['json', 'help'], ['model', 'data', 'folds', 'probs', 'top', 'workspace', 'python']);
  if (args.flags.has('help')) {
    io.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const run = resolveModelArg(flag(args, 'model'), workspace);
  if (!fs.existsSync(path.join(run, 'spec.json'))) throw new UsageError(`--model ${flag(args, 'model')}: not a training run (no spec.json); give a run id ("bert-studio runs" lists them) or a run folder.`, '--model');
  const foldsArg = flag(args, 'folds');
  const folds = foldsArg === undefined ? undefined : Number(foldsArg);
  if (folds !== undefined && (!Number.isInteger(folds) || folds < 2)) throw new UsageError(`--folds ${JSON.stringify(foldsArg)}: give a whole number of at least 2, e.g. --folds 5.`, '--folds');
  const probs = flag(args, 'probs');
  if (probs !== undefined && probs !== 'mean' && probs !== 'first') throw new UsageError(`--probs ${JSON.stringify(probs)}: use mean (over the epochs, the default) or first (the first epoch).`, '--probs');
  const top = Number(flag(args, 'top') ?? SHOWN);
  if (!Number.isInteger(top) || top < 0) throw new UsageError(`--top ${JSON.stringify(flag(args, 'top'))}: give a whole number of issues to list, e.g. --top 50.`, '--top');
  const dataArg = flag(args, 'data');
  if (dataArg && folds === undefined) throw new UsageError('--data needs --folds K: the run\'s training dynamics cover only its own training data; another file is cross-validated (e.g. --folds 5).', '--data');
  const json = args.flags.has('json');
  try {
    const data = dataArg ? (await resolveEvalData(dataArg, studioLayout(workspace).datasetsDir)).file : undefined;
    if (!json) io.stderr.write(`Finding likely label errors in ${path.basename(run)}${data ? ` on ${data}` : ''}${folds ? ` (${folds}-fold cross-validation)` : ''}…\n`);
    const summary = await findLabelErrors({
      python: await cliPython(args, workspace),
      run,
      ...(data ? { data } : {}),
      ...(folds !== undefined ? { folds } : {}),
      ...(probs ? { probs } : {}),
      packageRoot: packageRoot(),
      onStderr: (line) => {
        if (!json) io.stderr.write(`${line}\n`);
      },
    });
    const read = await readLabelIssues(run);
    const issues = read?.issues ?? [];
    if (json) {
      io.stdout.write(`${JSON.stringify({ ...summary, issues: issues.slice(0, top) })}\n`);
      return 0;
    }
    io.stdout.write(`${summary.flagged} likely label errors among ${summary.units} ${summary.task === 'token_classification' ? 'words' : 'examples'} (${summary.method}):\n`);
    for (const i of issues.slice(0, top)) {
      const rel = i.source ? path.relative(workspace, i.source.file) : '';
      const where = i.source ? `${rel && !rel.startsWith('..') ? rel : i.source.file}:${i.source.line}` : `example ${i.example}`;
      const what = i.word !== undefined ? `"${i.word}" ` : '';
      const text = i.text.length > 60 ? `${i.text.slice(0, 57)}…` : i.text;
      io.stdout.write(`  ${i.score.toFixed(3)}  ${where}  ${what}${i.given} -> ${i.suggested}  ${text}\n`);
    }
    if (issues.length > top) io.stdout.write(`  … ${issues.length - top} more in ${summary.file}\n`);
    else io.stdout.write(`written to ${summary.file}\n`);
    return 0;
  } catch (err) {
    if (err instanceof EvaluationError) throw new UsageError(err.message, '--model');
    throw err;
  }
}
