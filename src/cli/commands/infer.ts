// bert-studio fill-mask / predict: the extension's inference engine from the command line.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InferenceEngine } from '../../core/inference/engine';
import type { Precision } from '../../core/inference/types';
import { studioLayout } from '../../core/paths';
import { bestTrialRunOf } from '../../core/sweeps/trialProcess';
import { flag, parseArgs, UsageError, type CliIo, type ParsedArgs } from '../io';
import { PREDICT_FILE_FLAGS, runPredictFile } from './predictFile';
import { cachedModel, hfHubCache, looksLikeHubId } from '../../core/models/resolve';

export const INFER_USAGE = `bert-studio fill-mask --model RUN_OR_DIR [--top-k 5] [--int8] [--json] "text with [MASK] or <mask>"...
bert-studio predict --model RUN_OR_DIR [--question Q] [--pair TEXT] [--int8] [--json] "text"...
bert-studio predict --model RUN_OR_DIR --input FILE --output OUT.jsonl|OUT.csv [--text C] [--text-pair C] [--label C]
  RUN_OR_DIR: a run id of this workspace, a run folder, a folder with model.onnx, or a Hugging Face
  cache id whose snapshot has an ONNX export (onnx/model.onnx).
  predict gives a label and probability per text (classifier), entities (token classifier),
  or the answer to --question in each text (question answering). --pair: the second segment of a
  sentence-pair classifier (MRPC, RTE). --input: every example of a text, JSONL, CSV or TSV file
  (columns as the importer picks them, or --text/--text-pair/--label), each output row with its
  source line; progress and throughput on stderr.`;

const BOOLEANS = ['json', 'int8', 'help'];

/**
 * onnxruntime-node reads /proc/self/cmdline when it starts and matches it with a recursive regex
 * that overflows the stack on a command line over about 32 KB (signal 11, nothing printed): about
 * 300 texts of 100 characters. A command line longer than this is run again in a child process
 * that reads its arguments from a private temporary file (ARGS_FILE_ENV) instead.
 */
export const COMMAND_LINE_LIMIT = 16 * 1024;
const ARGS_FILE_ENV = 'BERT_STUDIO_ARGS_FILE';
/** Texts per engine call in predict: results are printed as each group is done. */
const PREDICT_GROUP = 64;

/** The arguments of this command: `args`, or those the parent process left in ARGS_FILE_ENV. */
function ownArgs(args: string[]): string[] {
  const file = process.env[ARGS_FILE_ENV];
  if (!file || args.length > 0) return args;
  delete process.env[ARGS_FILE_ENV];
  return JSON.parse(readFileSync(file, 'utf8')) as string[];
}

/**
 * When `args` came from this process's own command line and that line is over COMMAND_LINE_LIMIT,
 * runs `command` again in a child with a short command line and returns its exit code; else
 * undefined (run here).
 */
async function rerunWithShortCommandLine(command: string, args: readonly string[], io: CliIo): Promise<number | undefined> {
  const argv = process.argv;
  const fromCommandLine = args.length > 0 && argv.length >= args.length + 2 && args.every((a, i) => a === argv[argv.length - args.length + i]);
  if (!fromCommandLine || Buffer.byteLength(argv.join('\0')) <= COMMAND_LINE_LIMIT) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bert-studio-args-'));
  const file = path.join(dir, 'args.json');
  writeFileSync(file, JSON.stringify(args), { mode: 0o600 });
  try {
    const child = spawn(process.execPath, [...process.execArgv, argv[1], command], {
      env: { ...process.env, [ARGS_FILE_ENV]: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A run id (in <workspace>/.bert-studio/runs), a study id (its best trial's run) or a path. */
export function resolveModelArg(value: string | undefined, workspace: string): string {
  if (!value) throw new UsageError('--model RUN_OR_DIR is required.');
  if (existsSync(value)) return path.resolve(value);
  const run = path.join(studioLayout(workspace).runsDir, value);
  if (/^[\w.-]+$/.test(value) && existsSync(run)) return run;
  const study = bestTrialRunOf(studioLayout(workspace).studiesDir, value);
  if (study?.run) return path.join(studioLayout(workspace).runsDir, study.run);
  if (study) throw new UsageError(`--model: the study ${value} has no completed trial yet; wait for one ("bert-studio sweep show ${value}"), or give a trial's run id.`);
  // A model of the Hugging Face cache with an ONNX export (onnx/model.onnx beside config.json, as transformers.js models have).
  const cached = cachedModel(value);
  if (cached) return cached.folder;
  throw new UsageError(`--model: no run or folder named ${value}${looksLikeHubId(value) ? `, and no "${value}" in the Hugging Face cache (${hfHubCache()})` : ''}. Give a run id of this workspace ("bert-studio runs" lists them), a run folder, or a folder with model.onnx.`);
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

export async function runFillMaskCommand(given: string[], io: CliIo): Promise<number> {
  const args = ownArgs(given);
  const rerun = await rerunWithShortCommandLine('fill-mask', args, io);
  if (rerun !== undefined) return rerun;
  const p = parseArgs(args, BOOLEANS, ['model', 'top-k', 'workspace']);
  if (p.flags.has('help')) {
    io.stdout.write(`${INFER_USAGE}\n`);
    return 0;
  }
  const model = resolveModelArg(flag(p, 'model'), flag(p, 'workspace') ?? process.cwd());
  const k = Number(flag(p, 'top-k') ?? 5);
  if (!Number.isInteger(k) || k < 1 || k > 100) throw new UsageError('--top-k must be an integer from 1 to 100.');
  if (p.positional.length === 0) throw new UsageError('Give a text with the mask token to fill: [MASK] or <mask> (either is read as the model\'s own).');
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
    if (r.note) io.stderr.write(`note: ${r.note}\n`);
    for (const c of r.candidates) io.stdout.write(`  ${pct(c.probability).padStart(6)}  ${c.token.padEnd(16)} ${c.sequence}\n`);
  }
  return 0;
}

export async function runPredictCommand(given: string[], io: CliIo): Promise<number> {
  const args = ownArgs(given);
  const rerun = await rerunWithShortCommandLine('predict', args, io);
  if (rerun !== undefined) return rerun;
  const p = parseArgs(args, BOOLEANS, ['model', 'question', 'workspace', 'pair', ...PREDICT_FILE_FLAGS]);
  if (p.flags.has('help')) {
    io.stdout.write(`${INFER_USAGE}\n`);
    return 0;
  }
  const model = resolveModelArg(flag(p, 'model'), flag(p, 'workspace') ?? process.cwd());
  if (flag(p, 'input') !== undefined) return withEngine(p, (engine) => runPredictFile(engine, model, p, io));
  const pair = flag(p, 'pair');
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
        // In groups, each printed when it is done: the first lines come at once, whatever the count.
        for (let g = 0; g < texts.length; g += PREDICT_GROUP) {
          const group = texts.slice(g, g + PREDICT_GROUP);
          const labels = await engine.classify(model, group, pair !== undefined ? { pairs: group.map(() => pair) } : {});
          // A multi-label model gives every label over its threshold (c.labels) rather than one winner.
          labels.forEach((c, i) => write(
            { text: group[i], ...(pair !== undefined ? { text_pair: pair } : {}), label: c.label, probability: c.probability, probabilities: c.probabilities, ...(c.labels ? { labels: c.labels } : {}), ...(c.truncated ? { truncated: true } : {}) },
            c.labels ? `${c.labels.join(',') || '(none)'}\t${group[i]}` : `${c.label}\t${c.probability.toFixed(4)}\t${group[i]}`,
          ));
          labels.forEach((c, i) => {
            if (c.truncated) io.stderr.write(`note: text ${g + i + 1} is longer than the ${info.maxLength} tokens this model reads${info.trainedMaxLength ? ` (it was trained to ${info.trainedMaxLength})` : ''}: only its first ${info.maxLength} tokens were classified.\n`);
          });
        }
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
