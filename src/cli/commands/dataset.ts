// Stub, owned by the datasets feature: replace freely.
import type { CliIo } from '../io';

export async function runDatasetCommand(_args: string[], io: CliIo): Promise<number> {
  io.stderr.write('bert-studio dataset: not available yet\n');
  return 1;
}
