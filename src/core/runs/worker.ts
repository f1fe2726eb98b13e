import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readStatus } from './store';
import { readLaunch, recordedWorker, verifyWorker, writeLaunch, type WorkerRef } from './workerProcess';

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
  /** Its start time (/proc/<pid>/stat field 22), as launch.json records it; undefined without /proc. */
  readonly start?: number | null;
  /** Resolves with the exit code once the worker ends (only while this process is alive). */
  readonly exited: Promise<number | null>;
}

export const WORKER_LOG = 'worker.log';

/**
 * `python -m bert_studio_trainer ARGS` with pipes, without a shell: a worker subcommand the host
 * talks to over stdin/stdout (attributions' `attribute --serve`).
 */
export function spawnWorkerCommand(python: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(python, ['-m', 'bert_studio_trainer', ...args], { env: { ...process.env, PYTHONUNBUFFERED: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'], shell: false });
}

/**
 * Starts `python -m bert_studio_trainer train --run-dir DIR` without a shell. Its stdout and
 * stderr go to `worker.log` in the run folder rather than to pipes, so that a detached worker
 * keeps running (and logging) when the window that started it reloads.
 */
export function launchWorker(options: LaunchOptions): LaunchedWorker {
  // Absolute: the process check compares this argument with the run folder.
  const runDir = path.resolve(options.runDir);
  return launchDetached({ ...options, dir: runDir, log: WORKER_LOG, args: ['train', '--run-dir', runDir, ...(options.resume ? ['--resume'] : [])] });
}

/**
 * `python -m bert_studio_trainer ARGS` in `dir` without a shell, stdout and stderr appended to
 * `dir/log`, its `stop` file cleared and `launch.json` written before it writes anything (so the
 * host tells a worker still starting from one that died): a run's worker, or a study's driver.
 */
export function launchDetached(options: { python: string; dir: string; log: string; args: readonly string[]; resume?: boolean; env?: NodeJS.ProcessEnv; detached?: boolean }): LaunchedWorker {
  const log = fs.openSync(path.join(options.dir, options.log), 'a');
  try {
    fs.rmSync(path.join(options.dir, 'stop'), { force: true });
    const child = spawn(options.python, ['-m', 'bert_studio_trainer', ...options.args], {
      cwd: options.dir,
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
    const launch = writeLaunch(options.dir, child.pid, options.resume ?? false);
    return { pid: child.pid, start: launch.pid_start, exited };
  } finally {
    fs.closeSync(log);
  }
}

export type StopResult = 'stopped' | 'killed' | 'not-running' | 'not-ours';

/**
 * The worker the run folder records (launch.json, status.json); with `pid`, only that process
 * (e.g. the child the caller launched), still with its recorded start time.
 */
export function workerOf(runDir: string, pid?: number): WorkerRef | undefined {
  const launch = readLaunch(runDir);
  const status = readStatus(runDir);
  if (pid === undefined) return recordedWorker(status, launch);
  if (launch?.pid === pid) return { pid, start: launch.pid_start };
  if (status?.pid === pid) return { pid, start: status.pid_start };
  return { pid, start: undefined };
}

/**
 * Graceful stop: the stop file and SIGTERM both ask the worker to checkpoint and exit; after the
 * grace period it is killed. No signal goes to a process that is not this run's worker (command
 * line and start time, `verifyWorker`), checked again before each signal. Resolves with how it
 * ended: `not-ours` when the recorded pid is alive but is some other process (nothing signalled).
 * `worker`: the process to stop (a pid is looked up in the run's records); default: the recorded one.
 */
export async function stopWorker(runDir: string, worker?: number | WorkerRef, graceMs = 30_000, pollMs = 200, onRefused?: (reason: string) => void): Promise<StopResult> {
  fs.writeFileSync(path.join(runDir, 'stop'), `${Date.now()}\n`);
  const ref = typeof worker === 'number' ? workerOf(runDir, worker) : (worker ?? workerOf(runDir));
  const ours = (): ReturnType<typeof verifyWorker> => verifyWorker(runDir, ref);
  const first = ours();
  if (!first.ok) {
    onRefused?.(first.reason);
    return first.gone ? 'not-running' : 'not-ours';
  }
  const pid = (ref as WorkerRef).pid;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'not-running';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!ours().ok) return 'stopped';
    await new Promise((r) => setTimeout(r, pollMs));
  }
  if (!ours().ok) return 'stopped';
  try {
    process.kill(pid, 'SIGKILL');
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
      await stopWorker(runDir, { pid: worker.pid, start: worker.start }, options.graceMs ?? 5000, options.pollMs ?? 100);
      return { kind: 'cancelled' };
    }
    // An exit is checked before status.json: a worker that wrote `failed` and quit has not started.
    if (exited) return exited.code === 0 && fs.existsSync(statusFile) ? { kind: 'started' } : { kind: 'exited', code: exited.code };
    if (fs.existsSync(statusFile)) return { kind: 'started' };
    if (Date.now() > deadline) return { kind: 'timeout' };
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}
