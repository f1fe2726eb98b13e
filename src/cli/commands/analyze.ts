// bert-studio analyze label-errors --model RUN [--data FILE|DATASET[:split] --folds K]: likely label errors
// by confident learning (the worker's `label-errors`), written to <run>/label_issues.jsonl and listed
// here as file:line with the given and the suggested label.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDynamics, REGION_THRESHOLDS, summarize, type Region } from '../../core/analysis/cartography';
import { findLabelErrors, readLabelIssues } from '../../core/analysis/labelIssues';
import { packageRoot, studioLayout } from '../../core/paths';
import { EvaluationError, resolveEvalData } from '../../core/runs/evaluate';
import { flag, parseArgs, UsageError, type CliIo } from '../io';
import { cliPython } from '../python';
import { EMBEDDINGS_USAGE, runEmbeddings } from './embeddings';
import { resolveModelArg } from './infer';
import { runSlices, SLICES_USAGE } from './slices';

export const ANALYZE_USAGE = `bert-studio analyze label-errors --model RUN [--data FILE|DATASET[:split] --folds K] [--probs mean|first] [--top N] [--json]
  Finds likely label errors with confident learning (cleanlab). By default from the run's training
  dynamics (recorded while it trained, no extra training); --folds K cross-validates instead (K
  trainings with the run's settings), also for another file or dataset split given with --data.
  Writes <run>/label_issues.jsonl (example, source file:line, given label, suggested label, score),
  which the extension shows in the Problems panel.
bert-studio analyze dynamics --model RUN [--region easy|ambiguous|hard] [--top N] [--json]
  Dataset cartography from the run's training dynamics (dynamics.jsonl): how many training examples
  are easy to learn, ambiguous (variability >= ${REGION_THRESHOLDS.variability}) or hard to learn
  (confidence < ${REGION_THRESHOLDS.confidence}), and each region's examples at their source lines.
${EMBEDDINGS_USAGE}
${SLICES_USAGE}`;

const REGIONS: readonly Region[] = ['hard', 'ambiguous', 'easy'];

const SHOWN = 20;

export async function runAnalyzeCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === 'help') {
    io.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  if (!sub) throw new UsageError(`analyze needs the analysis to run: label-errors, dynamics or embeddings.\n${ANALYZE_USAGE}`);
  if (sub === 'dynamics') return runDynamics(rest, io);
  if (sub === 'embeddings') return runEmbeddings(rest, io);
  if (sub === 'slices') return runSlices(rest, io);
  if (sub !== 'label-errors') throw new UsageError(`analyze ${sub}: unknown analysis; use: analyze label-errors, analyze dynamics, analyze embeddings, or analyze slices.\n${ANALYZE_USAGE}`);
  const args = parseArgs(rest, ['json', 'help'], ['model', 'data', 'folds', 'probs', 'top', 'workspace', 'python']);
  if (args.flags.has('help')) {
    io.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const run = runFolder(flag(args, 'model'), workspace);
  const foldsArg = flag(args, 'folds');
  const folds = foldsArg === undefined ? undefined : Number(foldsArg);
  if (folds !== undefined && (!Number.isInteger(folds) || folds < 2)) throw new UsageError(`--folds ${JSON.stringify(foldsArg)}: give a whole number of at least 2, e.g. --folds 5.`, '--folds');
  const probs = flag(args, 'probs');
  if (probs !== undefined && probs !== 'mean' && probs !== 'first') throw new UsageError(`--probs ${JSON.stringify(probs)}: use mean (over the epochs, the default) or first (the first epoch).`, '--probs');
  const top = topArg(flag(args, 'top'));
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
      const what = i.word !== undefined ? `"${i.word}" ` : '';
      const text = i.text.length > 60 ? `${i.text.slice(0, 57)}…` : i.text;
      io.stdout.write(`  ${i.score.toFixed(3)}  ${where(i.source, i.example, workspace)}  ${what}${i.given} -> ${i.suggested}  ${text}\n`);
    }
    if (issues.length > top) io.stdout.write(`  … ${issues.length - top} more in ${summary.file}\n`);
    else io.stdout.write(`written to ${summary.file}\n`);
    return 0;
  } catch (err) {
    if (err instanceof EvaluationError) throw new UsageError(err.message, '--model');
    throw err;
  }
}

function runFolder(model: string | undefined, workspace: string): string {
  const run = resolveModelArg(model, workspace);
  if (!fs.existsSync(path.join(run, 'spec.json'))) throw new UsageError(`--model ${model}: not a training run (no spec.json); give a run id ("bert-studio runs" lists them) or a run folder.`, '--model');
  return run;
}

function topArg(value: string | undefined): number {
  const top = Number(value ?? SHOWN);
  if (!Number.isInteger(top) || top < 0) throw new UsageError(`--top ${JSON.stringify(value)}: give a whole number of examples to list, e.g. --top 50.`, '--top');
  return top;
}

function where(source: { file: string; line: number } | null, example: number, workspace: string): string {
  if (!source) return `example ${example}`;
  const rel = path.relative(workspace, source.file);
  return `${rel && !rel.startsWith('..') ? rel : source.file}:${source.line}`;
}

async function runDynamics(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, ['json', 'help'], ['model', 'region', 'top', 'workspace']);
  if (args.flags.has('help')) {
    io.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const run = runFolder(flag(args, 'model'), workspace);
  const region = flag(args, 'region');
  if (region !== undefined && !(REGIONS as readonly string[]).includes(region)) throw new UsageError(`--region ${JSON.stringify(region)}: use easy, ambiguous or hard.`, '--region');
  const top = topArg(flag(args, 'top'));
  const read = await readDynamics(run);
  if (!read) throw new UsageError(`--model ${flag(args, 'model')}: the run has no dynamics.jsonl (trained with training.record_dynamics false, or not a classification or NER run, or not trained yet); train it with record_dynamics true.`, '--model');
  const summary = summarize(read.rows);
  const shown = region ? [region as Region] : REGIONS;
  if (args.flags.has('json')) {
    io.stdout.write(`${JSON.stringify({ file: read.file, examples: summary.examples, epochs: summary.epochs, regions: summary.regions, thresholds: REGION_THRESHOLDS, examplesByRegion: Object.fromEntries(shown.map((r) => [r, summary.byRegion[r].slice(0, top)])) })}\n`);
    return 0;
  }
  const pct = (n: number): string => `${((100 * n) / Math.max(1, summary.examples)).toFixed(1)}%`;
  io.stdout.write(`${summary.examples} training examples over ${summary.epochs} epochs: ${summary.regions.easy} easy to learn (${pct(summary.regions.easy)}), ${summary.regions.ambiguous} ambiguous (${pct(summary.regions.ambiguous)}), ${summary.regions.hard} hard to learn (${pct(summary.regions.hard)}).\n`);
  for (const r of shown) {
    const rows = summary.byRegion[r].slice(0, top);
    if (!rows.length) continue;
    io.stdout.write(`${r === 'hard' ? 'Hard to learn' : r === 'ambiguous' ? 'Ambiguous' : 'Easy to learn'} (confidence, variability, correctness):\n`);
    for (const row of rows) io.stdout.write(`  ${row.confidence.toFixed(3)} ${row.variability.toFixed(3)} ${row.correctness.toFixed(2)}  ${where(row.source, row.example, workspace)}${row.gold !== undefined ? `  ${row.gold}` : ''}\n`);
  }
  return 0;
}
