// bert-studio fill-mask / predict: the extension's inference engine from the command line.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { InferenceEngine } from '../../core/inference/engine';
import type { Precision } from '../../core/inference/types';
import { studioLayout } from '../../core/paths';
import { flag, parseArgs, UsageError, type CliIo, type ParsedArgs } from '../io';

export const INFER_USAGE = `bert-studio fill-mask --model RUN_OR_DIR [--top-k 5] [--int8] [--json] "text with [MASK]"...
bert-studio predict --model RUN_OR_DIR [--question Q] [--int8] [--json] "text"...
  RUN_OR_DIR: a run id of this workspace, a run folder, or a folder with model.onnx.
  predict gives a label and probability per text (classifier), entities (token classifier),
  or the answer to --question in each text (question answering).`;

const BOOLEANS = ['json', 'int8', 'help'];

/** A run id (in <workspace>/.bert-studio/runs) or a path. */
export function resolveModelArg(value: string | undefined, workspace: string): string {
  if (!value) throw new UsageError('--model RUN_OR_DIR is required.');
  if (existsSync(value)) return path.resolve(value);
  const run = path.join(studioLayout(workspace).runsDir, value);
  if (/^[\w.-]+$/.test(value) && existsSync(run)) return run;
  throw new UsageError(`--model: no run or folder named ${value}.`);
}

async function withEngine<T>(p: ParsedArgs, fn: (engine: InferenceEngine) => Promise<T>): Promise<T> {
  const { InferenceEngine } = await import('../../core/inference/engine');
  const precision: Precision = p.flags.has('int8') ? 'int8' : 'fp32';
  const engine = new InferenceEngine({ precision, idleMs: 60_000 });
  try {
    return await fn(engine);
  } finally {
    await engine.dispose();
  }
}

const pct = (p: number): string => `${(p * 100).toFixed(1)}%`;

export async function runFillMaskCommand(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, BOOLEANS, ['model', 'top-k', 'workspace']);
  if (p.flags.has('help')) {
    io.stdout.write(`${INFER_USAGE}\n`);
    return 0;
  }
  const model = resolveModelArg(flag(p, 'model'), flag(p, 'workspace') ?? process.cwd());
  const k = Number(flag(p, 'top-k') ?? 5);
  if (!Number.isInteger(k) || k < 1 || k > 100) throw new UsageError('--top-k must be an integer from 1 to 100.');
  if (p.positional.length === 0) throw new UsageError('Give a text with [MASK] to fill.');
  const results = await withEngine(p, async (engine) => {
    const out = [];
    for (const text of p.positional) out.push({ text, ...(await engine.fillMask(model, text, k)) });
    return out;
  });
  if (p.flags.has('json')) {
    io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  for (const r of results) {
    io.stdout.write(`${r.text}\n`);
    for (const c of r.candidates) io.stdout.write(`  ${pct(c.probability).padStart(6)}  ${c.token.padEnd(16)} ${c.sequence}\n`);
  }
  return 0;
}

export async function runPredictCommand(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, BOOLEANS, ['model', 'question', 'workspace']);
  if (p.flags.has('help')) {
    io.stdout.write(`${INFER_USAGE}\n`);
    return 0;
  }
  const model = resolveModelArg(flag(p, 'model'), flag(p, 'workspace') ?? process.cwd());
  const texts = p.positional;
  if (texts.length === 0) throw new UsageError('Give one or more texts to predict.');
  const json = p.flags.has('json');
  const write = (value: unknown, line: string): void => {
    io.stdout.write(json ? `${JSON.stringify(value)}\n` : `${line}\n`);
  };
  await withEngine(p, async (engine) => {
    const info = await engine.info(model);
    switch (info.task) {
      case 'sequence-classification': {
        const labels = await engine.classify(model, texts);
        // A multi-label model gives every label over its threshold (c.labels) rather than one winner.
        labels.forEach((c, i) => write(
          { text: texts[i], label: c.label, probability: c.probability, probabilities: c.probabilities, ...(c.labels ? { labels: c.labels } : {}) },
          c.labels ? `${c.labels.join(',') || '(none)'}\t${texts[i]}` : `${c.label}\t${c.probability.toFixed(4)}\t${texts[i]}`,
        ));
        return;
      }
      case 'token-classification':
        for (const text of texts) {
          const entities = await engine.tokenClassify(model, text);
          write({ text, entities }, `${text}\n${entities.map((e) => `  ${e.type}\t${e.probability.toFixed(4)}\t${e.start}-${e.end}\t${e.text}`).join('\n') || '  (no entities)'}`);
        }
        return;
      case 'question-answering': {
        const question = flag(p, 'question');
        if (!question) throw new UsageError('This is a question-answering model: give --question "..." and the contexts as texts.');
        for (const text of texts) {
          const answer = await engine.answer(model, question, text);
          write({ text, question, answer: answer ?? null }, answer ? `${answer.text}\t${answer.score.toFixed(4)}\t${answer.start}-${answer.end}` : '(no answer)');
        }
        return;
      }
      case 'fill-mask':
        throw new UsageError('This is a masked-LM model: use bert-studio fill-mask.');
    }
  });
  return 0;
}
