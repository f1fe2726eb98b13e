import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess, type RunOptions } from '../process';
import { venvPython } from './interpreter';

export interface SetupStep {
  readonly message: string;
  /** 0..100 share of the whole setup this step represents. */
  readonly increment: number;
}

export interface SetupOptions {
  /** A base interpreter to create the venv with (python3 on PATH by default). */
  readonly basePython?: string;
  readonly venvDir: string;
  /** The folder holding the trainer package (pyproject.toml, requirements.txt). */
  readonly trainerDir: string;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: SetupStep) => void;
  readonly onOutput?: (line: string) => void;
}

export class SetupError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'SetupError';
  }
}

/** Last lines of pip's output that carry the reason it failed. */
function reasonFrom(output: string): string {
  const lines = output.split(/\r?\n/).filter((l) => l.trim());
  const errors = lines.filter((l) => /error|not find|no matching|conflict/i.test(l));
  return (errors.length ? errors : lines).slice(-3).join('\n');
}

/** Creates a venv and installs the trainer with its pinned requirements; returns the venv's python. */
export async function setUpTrainingEnvironment(options: SetupOptions): Promise<string> {
  const python = venvPython(options.venvDir);
  const run = async (cmd: string, args: string[], what: string): Promise<void> => {
    const runOptions: RunOptions = {
      signal: options.signal,
      onOutput: (chunk) => chunk.split(/\r?\n/).filter(Boolean).forEach((l) => options.onOutput?.(l)),
    };
    let result;
    try {
      result = await runProcess(cmd, args, runOptions);
    } catch (err) {
      if ((err as Error).name === 'CancellationError') throw err;
      throw new SetupError(`${what} could not start ${cmd}: ${(err as Error).message}. Set bertStudio.pythonPath to a Python 3.10+ interpreter.`, '');
    }
    if (result.code !== 0) {
      const output = result.stdout + result.stderr;
      throw new SetupError(`${what} failed (exit ${result.code}):\n${reasonFrom(output)}`, output);
    }
  };
  if (!fs.existsSync(python)) {
    options.onStep?.({ message: `Creating virtual environment in ${options.venvDir}`, increment: 10 });
    await run(options.basePython ?? 'python3', ['-m', 'venv', options.venvDir], 'Creating the virtual environment');
  }
  options.onStep?.({ message: 'Installing PyTorch, transformers and the trainer (pinned requirements)', increment: 20 });
  await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', path.join(options.trainerDir, 'requirements.txt')], 'Installing the requirements');
  options.onStep?.({ message: 'Installing the BERT Studio trainer', increment: 60 });
  await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-deps', '-e', options.trainerDir], 'Installing the trainer');
  options.onStep?.({ message: 'Checking the trainer imports', increment: 10 });
  await run(python, ['-c', 'import bert_studio_trainer, torch, transformers'], 'Checking the installation');
  return python;
}
