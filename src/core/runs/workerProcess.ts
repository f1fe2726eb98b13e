// Which process is a run's worker. A pid alone names nothing for long: pids are recycled, and
// status.json is a file anyone can write. Before the host signals a pid (stop, cancel, kill) or
// calls a run live, the process must be ours: its command line runs `bert_studio_trainer` on this
// run folder, and it started when the worker (status.json `pid_start`) or the host that launched
// it (launch.json) recorded. Linux's /proc gives both; where there is no /proc nothing is
// signalled (the stop file alone asks the worker to stop).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAUNCH_RECORD, checkRecord, type LaunchRecord, type RunStatus } from './protocol';
import { isStudyDriverOf } from '../sweeps/trialProcess';

export const LAUNCH_FILE = 'launch.json';
const WORKER_MODULE = 'bert_studio_trainer';

/** A process as recorded in a run folder: its pid and its start time (/proc/<pid>/stat field 22). */
export interface WorkerRef {
  readonly pid: number;
  readonly start: number | null | undefined;
}

export type WorkerCheck = { readonly ok: true } | { readonly ok: false; readonly gone: boolean; readonly reason: string };

const PROC = '/proc';

let procAvailable: boolean | undefined;

/** Whether /proc tells processes apart here (Linux). */
export function hasProc(): boolean {
  return (procAvailable ??= process.platform === 'linux' && fs.existsSync(path.join(PROC, 'self', 'stat')));
}

/** Fields of /proc/<pid>/stat after the command name: [0] is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(PROC, String(pid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const close = text.lastIndexOf(')');
  return close < 0 ? undefined : text.slice(close + 2).trim().split(/\s+/);
}

/** The process's start time in clock ticks since boot (field 22), or undefined when it does not exist. */
export function processStartTime(pid: number): number | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const f = statFields(pid)?.[22 - 3];
  const n = f === undefined ? NaN : Number(f);
  return Number.isSafeInteger(n) ? n : undefined;
}

function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** Checks that `ref` is this run's worker, alive now. */
export function verifyWorker(runDir: string, ref: WorkerRef | undefined): WorkerCheck {
  if (!ref || !Number.isSafeInteger(ref.pid) || ref.pid <= 0) return { ok: false, gone: true, reason: 'no worker pid recorded' };
  if (!hasProc()) return { ok: false, gone: false, reason: `cannot check process ${ref.pid} on this platform (no /proc); nothing is signalled` };
  const fields = statFields(ref.pid);
  if (!fields) return { ok: false, gone: true, reason: `process ${ref.pid} is not running` };
  if (fields[0] === 'Z' || fields[0] === 'X') return { ok: false, gone: true, reason: `process ${ref.pid} has exited` };
  if (typeof ref.start !== 'number') return { ok: false, gone: false, reason: `no start time recorded for process ${ref.pid}, so it cannot be told from another process with that pid` };
  const start = Number(fields[22 - 3]);
  if (start !== ref.start) return { ok: false, gone: true, reason: `pid ${ref.pid} now belongs to another process (started at tick ${start}, the worker at ${ref.start})` };
  let args: string[];
  let cwd: string | undefined;
  try {
    args = fs.readFileSync(path.join(PROC, String(ref.pid), 'cmdline'), 'utf8').split('\0').filter(Boolean);
  } catch {
    return { ok: false, gone: false, reason: `cannot read the command line of process ${ref.pid}` };
  }
  try {
    cwd = fs.readlinkSync(path.join(PROC, String(ref.pid), 'cwd'));
  } catch {
    cwd = undefined; // another user's process: relative arguments cannot match
  }
  if (!args.some((a) => a.includes(WORKER_MODULE))) return { ok: false, gone: true, reason: `process ${ref.pid} is not a ${WORKER_MODULE} worker` };
  const want = real(runDir);
  // A study's trials train in its sweep driver, whose command line names the study folder.
  const forRun = args.some((a) => (path.isAbsolute(a) ? real(a) === want : cwd !== undefined && real(path.resolve(cwd, a)) === want)) || isStudyDriverOf(runDir, args, cwd, real);
  if (!forRun) return { ok: false, gone: true, reason: `process ${ref.pid} is a worker for another run folder` };
  return { ok: true };
}

export function readLaunch(runDir: string): LaunchRecord | undefined {
  const file = path.join(runDir, LAUNCH_FILE);
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return checkRecord<LaunchRecord>(file, text, LAUNCH_RECORD);
}

/** Writes launch.json (atomically) for a worker just started. */
export function writeLaunch(runDir: string, pid: number, resume: boolean): LaunchRecord {
  const record: LaunchRecord = { pid, pid_start: processStartTime(pid) ?? null, launched_at: Date.now() / 1000, resume };
  const file = path.join(runDir, LAUNCH_FILE);
  const tmp = path.join(runDir, `.${LAUNCH_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(record) + '\n');
  fs.renameSync(tmp, file);
  return record;
}

/**
 * The newest worker the run folder records: status.json's unless the host launched a worker after
 * the last status was written (a start or a resume that has not reported yet), then launch.json's.
 * `fromLaunch` says which.
 */
export function recordedWorker(status: RunStatus | undefined, launch: LaunchRecord | undefined): (WorkerRef & { readonly fromLaunch: boolean }) | undefined {
  const fromStatus = status?.pid ? { pid: status.pid, start: status.pid_start, fromLaunch: false } : undefined;
  if (!launch) return fromStatus;
  const sameProcess = fromStatus && fromStatus.pid === launch.pid && (fromStatus.start ?? launch.pid_start) === launch.pid_start;
  const launchNewer = !status || typeof status.updated !== 'number' || launch.launched_at > status.updated;
  if (sameProcess) return { pid: launch.pid, start: fromStatus.start ?? launch.pid_start, fromLaunch: false };
  return launchNewer ? { pid: launch.pid, start: launch.pid_start, fromLaunch: true } : fromStatus;
}
