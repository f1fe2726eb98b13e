// bert-studio predict --input FILE --output OUT.jsonl|.csv: batch prediction with progress on stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outputKind, predictFile, PredictInputError } from '../../core/inference/batchPredict';
import type { InferenceEngine } from '../../core/inference/engine';
import { flag, ProgressBar, UsageError, type CliIo, type ParsedArgs } from '../io';

export const PREDICT_FILE_FLAGS = ['input', 'output', 'text', 'text-pair', 'label'];

function column(v: string | undefined): string | number | undefined {
  if (v === undefined) return undefined;
  return /^\d+$/.test(v) ? Number(v) : v;
}

export async function runPredictFile(engine: InferenceEngine, model: string, p: ParsedArgs, io: CliIo): Promise<number> {
  const input = flag(p, 'input') as string;
  const output = flag(p, 'output');
  if (!output) throw new UsageError('--output OUT.jsonl (or OUT.csv) is required with --input.', '--output');
  if (p.positional.length) throw new UsageError('Give either texts or --input FILE, not both.');
  let st: fs.Stats;
  try {
    st = fs.statSync(input);
  } catch {
    throw new UsageError(`--input ${input}: no such file. Check the path.`, '--input');
  }
  if (!st.isFile()) throw new UsageError(`--input ${input}: not a regular file; give a text, JSONL, CSV or TSV file.`, '--input');
  try {
    outputKind(output);
  } catch (err) {
    throw new UsageError(`--output ${(err as Error).message}`, '--output');
  }
  if (path.resolve(output) === path.resolve(input)) throw new UsageError('--output must not be the input file.', '--output');
  if (!fs.existsSync(path.dirname(path.resolve(output)))) throw new UsageError(`--output ${output}: the folder ${path.dirname(path.resolve(output))} does not exist.`, '--output');
  const bar = new ProgressBar(io.stderr);
  const t0 = Date.now();
  try {
    const result = await predictFile(engine, model, input, output, {
      text: column(flag(p, 'text')),
      pair: column(flag(p, 'text-pair')),
      label: column(flag(p, 'label')),
      onProgress: (done, read, bytes) => {
        const s = (Date.now() - t0) / 1000;
        bar.update(read, bytes, `bytes · ${done} examples · ${s > 0 ? (done / s).toFixed(1) : '0'} examples/s`);
      },
    });
    bar.done();
    const rate = result.seconds > 0 ? result.examples / result.seconds : result.examples;
    if (p.flags.has('json')) io.stdout.write(`${JSON.stringify({ ...result, examples_per_second: rate })}\n`);
    else io.stdout.write(`${result.examples} predictions in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} examples/s) written to ${result.output}\n`);
    return 0;
  } catch (err) {
    bar.done();
    if (err instanceof PredictInputError) throw new UsageError(err.message, '--input');
    throw err;
  }
}
