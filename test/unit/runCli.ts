import { textSink } from '../../src/cli/io';
import { main } from '../../src/cli/main';

/** Runs the CLI in process, as `bert-studio ARGS…`: its exit code and what it wrote. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = textSink();
  const stderr = textSink();
  const code = await main(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
