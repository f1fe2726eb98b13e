// bert-studio: the command line over src/core, the same code the extension runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ANALYZE_USAGE, runAnalyzeCommand } from './commands/analyze';
import { runDatasetCommand } from './commands/dataset';
import { runEvaluateCommand } from './commands/evaluate';
import { runFillMaskCommand, runPredictCommand } from './commands/infer';
import { RUNS_USAGE, runRunsCommand } from './commands/runs';
import { SWEEP_USAGE, runSweepCommand } from './commands/sweep';
import { TRAIN_USAGE, runTrainCommand } from './commands/train';
import { closestName } from '../core/runs/launch';
import { InvalidRunIdError, RunFolderError } from '../core/runs/store';
import { ProblemsError, UsageError, type CliIo } from './io';

const USAGE = `Usage: bert-studio <command> [options]

Commands:
  dataset import|validate|stats FILE...   import and check data, show statistics
  train                                   fine-tune or pretrain (see: bert-studio train --help)
  sweep                                   hyperparameter search, each trial a run (see: bert-studio sweep --help)
  runs [list|show|stop]                   training runs of this workspace
  fill-mask --model DIR "text with [MASK]"
  predict --model RUN_OR_DIR "text" ...   labels, entities or answers from an exported model
  predict --model RUN --input F --output OUT.jsonl|.csv   a whole file, each row with its source line
  evaluate --model RUN --data FILE|DATASET[:split]       metrics and predictions on another file or split
  analyze label-errors --model RUN [--folds K]           likely label errors at their source lines
  analyze dynamics --model RUN                            dataset cartography: easy, ambiguous, hard examples
  analyze embeddings --model RUN [--method pca|umap]      2-D map of a split's embeddings, misclassified points listed
  analyze slices --model RUN [--regex P]                  accuracy per slice of an evaluation (length, label, pattern, flagged)
Add --json to any command for machine-readable output.

${TRAIN_USAGE}

${SWEEP_USAGE}

${RUNS_USAGE}

${ANALYZE_USAGE}
`;

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  dataset: runDatasetCommand,
  train: runTrainCommand,
  sweep: runSweepCommand,
  runs: runRunsCommand,
  'fill-mask': runFillMaskCommand,
  predict: runPredictCommand,
  evaluate: runEvaluateCommand,
  analyze: runAnalyzeCommand,
};

/** Where unexpected errors' stack traces go (the user sees one line that names this file). */
export function cliLogFile(): string {
  return process.env.BERT_STUDIO_CLI_LOG ?? path.join(os.tmpdir(), 'bert-studio-cli.log');
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the disk',
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a path component is not a folder',
  EMFILE: 'too many open files',
};

/** A one-line description of an error the user can act on, or undefined for a bug. */
function knownError(err: unknown): { message: string; field?: string } | undefined {
  if (err instanceof RunFolderError) return { message: err.message, field: err.folder };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && ERRNO_TEXT[e.code]) {
    const where = e.path ?? '';
    const fix = e.code === 'ENOSPC' ? 'free some space and try again' : e.code === 'ENOENT' ? 'check the path' : 'check the permissions of that path, or work in another folder (--workspace DIR)';
    return { message: `cannot ${e.syscall ?? 'access'}${where ? ` ${where}` : ' a file'}: ${ERRNO_TEXT[e.code]}; ${fix}.`, field: where || undefined };
  }
  return undefined;
}

/** Appends an unexpected error's stack to the log; the path, or undefined when even that fails. */
function logError(argv: readonly string[], err: unknown): string | undefined {
  const file = cliLogFile();
  try {
    fs.appendFileSync(file, `${new Date().toISOString()} bert-studio ${argv.join(' ')}\n${(err as Error)?.stack ?? String(err)}\n\n`);
    return file;
  } catch {
    return undefined;
  }
}

export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  /** Fatal errors: a JSON object on stdout with --json, else `error: …` lines on stderr. */
  const fail = (code: number, problems: readonly { field?: string; message: string }[]): number => {
    for (const p of problems) {
      if (json) io.stdout.write(JSON.stringify({ type: 'error', ...(p.field ? { field: p.field } : {}), message: p.message }) + '\n');
      else io.stderr.write(`error: ${p.field && !p.message.includes(p.field) ? `${p.field}: ` : ''}${p.message}\n`);
    }
    return code;
  };
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    const hint = closestName(command, Object.keys(COMMANDS));
    if (json) return fail(2, [{ field: 'command', message: `unknown command "${command}"${hint ? `; did you mean ${hint}?` : ''} (commands: ${Object.keys(COMMANDS).join(', ')})` }]);
    io.stderr.write(`error: unknown command "${command}"${hint ? `; did you mean ${hint}?` : ''}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (err) {
    if (err instanceof ProblemsError) return fail(2, err.problems);
    if (err instanceof UsageError) return fail(2, [{ field: err.field, message: err.message }]);
    if (err instanceof InvalidRunIdError) return fail(2, [{ field: 'run', message: err.message }]);
    const known = knownError(err);
    if (known) return fail(1, [known]);
    const log = logError(argv, err);
    return fail(1, [{ message: `unexpected ${(err as Error)?.name ?? 'error'}: ${(err as Error)?.message ?? String(err)}${log ? ` (details in ${log}; please report it)` : ''}` }]);
  }
}

if (require.main === module) {
  // `bert-studio runs | head -1`: a reader that went away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  // Whatever escapes (a timer, a stream): one line for the user, the stack in the log.
  process.on('uncaughtException', (err) => {
    const log = logError(process.argv.slice(2), err);
    process.stderr.write(`error: unexpected ${err.name}: ${err.message}${log ? ` (details in ${log}; please report it)` : ''}\n`);
    process.exit(1);
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
