import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidAlive } from './store';

export interface LaunchOptions {
  readonly python: string;
  readonly runDir: string;
  readonly resume?: boolean;
  /** Extra environment (e.g. PYTHONPATH to the bundled trainer). */
  readonly env?: NodeJS.ProcessEnv;
  /** Run in the background, surviving the host (true for the extension, false for the CLI). */
  readonly detached?: boolean;
}

export interface LaunchedWorker {
  readonly pid: number;
  /** Resolves with the exit code once the worker ends (only while this process is alive). */
  readonly exited: Promise<number | null>;
}

export const WORKER_LOG = 'worker.log';

/**
 * Starts `python -m bert_studio_trainer train --run-dir DIR` without a shell. Its stdout and
 * stderr go to `worker.log` in the run folder rather than to pipes, so that a detached worker
 * keeps running (and logging) when the window that started it reloads.
 */
export function launchWorker(options: LaunchOptions): LaunchedWorker {
  const args = ['-m', 'bert_studio_trainer', 'train', '--run-dir', options.runDir];
  if (options.resume) args.push('--resume');
  const log = fs.openSync(path.join(options.runDir, WORKER_LOG), 'a');
  try {
    fs.rmSync(path.join(options.runDir, 'stop'), { force: true });
    const child = spawn(options.python, args, {
      cwd: options.runDir,
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...options.env },
      stdio: ['ignore', log, log],
      detached: options.detached ?? true,
      shell: false,
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code));
    });
    if (options.detached ?? true) child.unref();
    if (child.pid === undefined) throw new Error(`Could not start ${options.python}`);
    return { pid: child.pid, exited };
  } finally {
    fs.closeSync(log);
  }
}

/**
 * Graceful stop: the stop file and SIGTERM both ask the worker to checkpoint and exit; after the
 * grace period it is killed. Resolves with how it ended.
 */
export async function stopWorker(runDir: string, pid: number | undefined, graceMs = 30_000, pollMs = 200): Promise<'stopped' | 'killed' | 'not-running'> {
  fs.writeFileSync(path.join(runDir, 'stop'), `${Date.now()}\n`);
  if (!pidAlive(pid)) return 'not-running';
  try {
    process.kill(pid as number, 'SIGTERM');
  } catch {
    return 'not-running';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'stopped';
    await new Promise((r) => setTimeout(r, pollMs));
  }
  try {
    process.kill(pid as number, 'SIGKILL');
  } catch {
    // Gone between the check and the kill.
  }
  return 'killed';
}

export type StartOutcome = { readonly kind: 'started' } | { readonly kind: 'exited'; readonly code: number | null } | { readonly kind: 'cancelled' } | { readonly kind: 'timeout' };

/**
 * Waits until a launched worker reports (status.json appears), exits, or the user cancels; a
 * cancel stops the worker (stop file, SIGTERM, SIGKILL after `graceMs`) before resolving.
 */
export async function waitUntilStarted(runDir: string, worker: LaunchedWorker, signal: AbortSignal, options: { timeoutMs?: number; graceMs?: number; pollMs?: number } = {}): Promise<StartOutcome> {
  const statusFile = path.join(runDir, 'status.json');
  let exited: { code: number | null } | undefined;
  void worker.exited.then(
    (code) => (exited = { code }),
    () => (exited = { code: null }),
  );
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (signal.aborted) {
      await stopWorker(runDir, worker.pid, options.graceMs ?? 5000);
      return { kind: 'cancelled' };
    }
    // An exit is checked before status.json: a worker that wrote `failed` and quit has not started.
    if (exited) return exited.code === 0 && fs.existsSync(statusFile) ? { kind: 'started' } : { kind: 'exited', code: exited.code };
    if (fs.existsSync(statusFile)) return { kind: 'started' };
    if (Date.now() > deadline) return { kind: 'timeout' };
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}
