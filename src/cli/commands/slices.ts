// bert-studio analyze slices --model RUN [--evaluation NAME] [--match TEXT | --regex PATTERN]: accuracy
// per slice of an evaluation's predictions.jsonl (length, gold label, the pattern, flagged label
// errors), the figures the dashboard's Slices section shows (src/core/analysis/slices.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listPredictionFiles, type SliceRow } from '../../core/analysis/slices';
import { loadSlices } from '../../core/dashboard/analysisData';
import { flag, parseArgs, UsageError, type CliIo } from '../io';
import { resolveModelArg } from './infer';

export const SLICES_USAGE = `bert-studio analyze slices --model RUN [--evaluation NAME] [--match TEXT | --regex PATTERN] [--json]
  Accuracy per slice of one of the run's evaluations (its predictions.jsonl, written by bert-studio
  evaluate; default the newest): by length in words, by gold label, by a keyword (--match, any case)
  or a regular expression (--regex, any case), and flagged as likely label errors (the run's
  label_issues.jsonl) or not. For a NER run: sentences, by entity type in the gold tags, and flagged
  when a word is, each with entity precision, recall, F1 (exact span and type) and token accuracy.`;

export async function runSlices(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, ['json', 'help'], ['model', 'evaluation', 'match', 'regex', 'workspace']);
  if (args.flags.has('help')) {
    io.stdout.write(`${SLICES_USAGE}\n`);
    return 0;
  }
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const model = flag(args, 'model');
  const run = resolveModelArg(model, workspace);
  if (!fs.existsSync(path.join(run, 'spec.json'))) throw new UsageError(`--model ${model}: not a training run (no spec.json); give a run id ("bert-studio runs" lists them) or a run folder.`, '--model');
  const match = flag(args, 'match');
  const regex = flag(args, 'regex');
  if (match !== undefined && regex !== undefined) throw new UsageError('--match and --regex: give one of them (--match for a keyword, --regex for a regular expression).', '--regex');
  const files = await listPredictionFiles(run);
  if (!files.length) throw new UsageError(`--model ${model}: the run has no evaluation with predictions; run bert-studio evaluate --model ${model} --data FILE|DATASET[:split] first (classification or NER).`, '--model');
  const evaluation = flag(args, 'evaluation');
  if (evaluation !== undefined && !files.some((f) => f.name === evaluation)) {
    throw new UsageError(`--evaluation ${JSON.stringify(evaluation)}: the run has no such evaluation; use one of ${files.map((f) => f.name).join(', ')}.`, '--evaluation');
  }
  const pattern = regex ?? match;
  const mode = regex !== undefined ? 'regex' : 'keyword';
  const slices = await loadSlices(run, { ...(evaluation !== undefined ? { evaluation } : {}), ...(pattern !== undefined ? { pattern, mode } : {}) }, undefined);
  if (slices.patternError) throw new UsageError(`${regex !== undefined ? '--regex' : '--match'}: ${slices.patternError}`, regex !== undefined ? '--regex' : '--match');
  const r = slices.report;
  if (!r) throw new UsageError(slices.note ?? 'no slices', '--model');
  if (args.flags.has('json')) {
    io.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
  const e = r.entities;
  if (e) io.stdout.write(`${r.examples} sentences of evaluation ${r.evaluation}, entity F1 ${pct(e.f1)} (precision ${pct(e.precision)}, recall ${pct(e.recall)}), token accuracy ${pct(e.tokenAccuracy)}\n`);
  else io.stdout.write(`${r.examples} examples of evaluation ${r.evaluation}, accuracy ${pct(r.accuracy)}\n`);
  const table = (title: string, rows: readonly SliceRow[]): void => {
    io.stdout.write(`${title}:\n`);
    const width = Math.max(...rows.map((x) => x.name.length), 5);
    if (e) io.stdout.write(`  ${''.padEnd(width)}  ${'count'.padStart(6)}  ${'P'.padStart(6)}  ${'R'.padStart(6)}  ${'F1'.padStart(6)}  ${'tokens'.padStart(6)}\n`);
    for (const x of rows) {
      const figures = x.entities ? [x.entities.precision, x.entities.recall, x.entities.f1, x.entities.tokenAccuracy] : [x.accuracy];
      io.stdout.write(`  ${x.name.padEnd(width)}  ${String(x.count).padStart(6)}  ${figures.map((v) => pct(v).padStart(6)).join('  ')}\n`);
    }
  };
  table(`By length (${r.lengthUnit})`, r.byLength);
  table(e ? 'By entity type in the gold tags' : 'By gold label', r.byLabel);
  if (r.pattern) table(`By ${r.pattern.mode === 'regex' ? 'regular expression' : 'keyword'}`, [r.pattern.matching, r.pattern.rest]);
  if (r.flagged) table(`Likely label errors (${r.flagged.issues} ${e ? 'words ' : ''}flagged in the run)`, [r.flagged.flagged, r.flagged.rest]);
  if (slices.note) io.stdout.write(`${slices.note}\n`);
  return 0;
}
