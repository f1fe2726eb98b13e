// Stub, owned by the inference feature: replace freely.
import type { CliIo } from '../io';

export async function runFillMaskCommand(_args: string[], io: CliIo): Promise<number> {
  io.stderr.write('bert-studio fill-mask: not available yet\n');
  return 1;
}

export async function runPredictCommand(_args: string[], io: CliIo): Promise<number> {
  io.stderr.write('bert-studio predict: not available yet\n');
  return 1;
}
