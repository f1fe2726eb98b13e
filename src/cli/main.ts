// bert-studio: the command line over src/core, the same code the extension runs.
import { runDatasetCommand } from './commands/dataset';
import { runFillMaskCommand, runPredictCommand } from './commands/infer';
import { RUNS_USAGE, runRunsCommand } from './commands/runs';
import { TRAIN_USAGE, runTrainCommand } from './commands/train';
import { UsageError, type CliIo } from './io';

const USAGE = `Usage: bert-studio <command> [options]

Commands:
  dataset import|validate|stats FILE...   import and check data, show statistics
  train                                   fine-tune or pretrain (see: bert-studio train --help)
  runs [list|show|stop]                   training runs of this workspace
  fill-mask --model DIR "text with [MASK]"
  predict --model RUN_OR_DIR "text" ...   labels, entities or answers from an exported model
Add --json to any command for machine-readable output.

${TRAIN_USAGE}

${RUNS_USAGE}
`;

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  dataset: runDatasetCommand,
  train: runTrainCommand,
  runs: runRunsCommand,
  'fill-mask': runFillMaskCommand,
  predict: runPredictCommand,
};

export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(USAGE);
    return command ? 0 : 1;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
    return 1;
  }
  try {
    return await run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
