import { spawn, type SpawnOptions } from 'node:child_process';

/** Thin wrappers around child_process so callers never go through a shell and tests can stub. */

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Called with each chunk of stdout/stderr as it arrives (for progress). */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

export class CancellationError extends Error {
  constructor(message = 'Cancelled') {
    super(message);
    this.name = 'CancellationError';
  }
}

/** Runs a program with an argument list (never a shell) and collects its output. */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new CancellationError());
      return;
    }
    const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? process.env, shell: false, stdio: ['ignore', 'pipe', 'pipe'] };
    const child = spawn(command, [...args], spawnOptions);
    let stdout = '';
    let stderr = '';
    const onAbort = (): void => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      options.onOutput?.(c, 'stdout');
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      options.onOutput?.(c, 'stderr');
    });
    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) reject(new CancellationError());
      else resolve({ code, signal, stdout, stderr });
    });
  });
}
