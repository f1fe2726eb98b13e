// bert-studio analyze embeddings --model RUN [--split validation|train --method pca|umap --pooling mean|cls
// --max-examples N --seed N --force]: the worker's embedding map of a split, cached in
// <run>/analysis/, summarised here (and the misclassified points at their source lines).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { computeEmbeddingMap, pointWhere } from '../../core/analysis/embeddingMap';
import { packageRoot } from '../../core/paths';
import { EvaluationError } from '../../core/runs/evaluate';
import { METHODS, POOLINGS, SPLITS, type Settings } from '../../../webview/embeddings/protocol';
import { flag, parseArgs, UsageError, type CliIo } from '../io';
import { cliPython } from '../python';
import { resolveModelArg } from './infer';

export const EMBEDDINGS_USAGE = `bert-studio analyze embeddings --model RUN [--split validation|train] [--method pca|umap] [--pooling mean|cls] [--max-examples N] [--seed N] [--force] [--top N] [--json]
  Embeds a split of the run's data with its trained model (mean of the tokens, or [CLS]) and projects
  it to 2-D (PCA, fast; UMAP needs umap-learn). Writes <run>/analysis/embeddings-<split>-<method>-<pooling>.json
  (per point: x, y, gold, predicted, source file:line), which "BERT Studio: Show Embedding Map" draws;
  the same model, data and settings reuse it. Lists the misclassified points.`;

const SHOWN = 20;

function choice<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} ${JSON.stringify(value)}: use ${allowed.join(' or ')}.`, `--${name}`);
  return value as T;
}

function whole(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} ${JSON.stringify(value)}: give a whole number of at least ${min}.`, `--${name}`);
  return n;
}

export async function runEmbeddings(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, ['json', 'help', 'force'], ['model', 'split', 'method', 'pooling', 'max-examples', 'seed', 'top', 'workspace', 'python']);
  if (args.flags.has('help')) {
    io.stdout.write(`${EMBEDDINGS_USAGE}\n`);
    return 0;
  }
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const model = flag(args, 'model');
  const run = resolveModelArg(model, workspace);
  if (!fs.existsSync(path.join(run, 'spec.json'))) throw new UsageError(`--model ${model}: not a training run (no spec.json); give a run id ("bert-studio runs" lists them) or a run folder.`, '--model');
  const settings: Settings = {
    split: choice(flag(args, 'split'), SPLITS, 'split') ?? 'validation',
    method: choice(flag(args, 'method'), METHODS, 'method') ?? 'pca',
    pooling: choice(flag(args, 'pooling'), POOLINGS, 'pooling') ?? 'mean',
  };
  const maxExamples = whole(flag(args, 'max-examples'), 'max-examples', 1);
  const seed = whole(flag(args, 'seed'), 'seed', 0);
  const top = whole(flag(args, 'top'), 'top', 0) ?? SHOWN;
  const json = args.flags.has('json');
  try {
    if (!json) io.stderr.write(`Embedding the ${settings.split} split of ${path.basename(run)} (${settings.pooling === 'cls' ? '[CLS]' : 'mean'} pooling, ${settings.method.toUpperCase()})…\n`);
    const { summary, map } = await computeEmbeddingMap({
      python: await cliPython(args, workspace),
      run,
      settings,
      ...(maxExamples !== undefined ? { maxExamples } : {}),
      ...(seed !== undefined ? { seed } : {}),
      force: args.flags.has('force'),
      packageRoot: packageRoot(),
      onStderr: (line) => {
        if (!json) io.stderr.write(`${line}\n`);
      },
    });
    const wrong = map.points.filter((p) => !p.correct);
    if (json) {
      io.stdout.write(`${JSON.stringify({ ...summary, misclassified: wrong.length, labels: map.labels, explainedVariance: map.explained_variance })}\n`);
      return 0;
    }
    const variance = map.explained_variance ? ` (axes explain ${map.explained_variance.map((v) => `${(v * 100).toFixed(1)}%`).join(' and ')} of the variance)` : '';
    io.stdout.write(`${summary.points} of ${summary.examples} ${map.task === 'token_classification' ? 'sentences' : 'examples'} mapped by ${settings.method.toUpperCase()}${variance}${summary.cached ? ', from the cache' : ''}; ${wrong.length} misclassified:\n`);
    for (const p of wrong.slice(0, top)) {
      const text = p.text.length > 60 ? `${p.text.slice(0, 57)}…` : p.text;
      io.stdout.write(`  ${pointWhere(p.source, workspace, true) ?? `example ${p.index}`}  ${p.gold} -> ${p.pred}  (${p.x.toFixed(2)}, ${p.y.toFixed(2)})  ${text}\n`);
    }
    if (wrong.length > top) io.stdout.write(`  … ${wrong.length - top} more in ${summary.file}\n`);
    else io.stdout.write(`written to ${summary.file}\n`);
    return 0;
  } catch (err) {
    if (err instanceof EvaluationError) throw new UsageError(err.message, '--model');
    throw err;
  }
}
