import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Infer } from '../../shared/guard';
import { RUN_SPEC, RUN_STATUS, checkEvent, checkRecord, normalizeStatus, reportInvalid, type DisplayState, type LaunchRecord, type RunEvent, type RunSpec, type RunStatus } from './protocol';
import { isRunId, RUN_ID_PATTERN } from '../../shared/runId';
import { hasProc, readLaunch, recordedWorker, verifyWorker, type WorkerRef } from './workerProcess';

export type { RunSpec };
export { isRunId, RUN_ID_PATTERN };

export interface RunInfo {
  readonly id: string;
  readonly dir: string;
  readonly spec: RunSpec | undefined;
  readonly status: RunStatus | undefined;
  readonly state: DisplayState;
  readonly hasModel: boolean;
  readonly hasOnnx: boolean;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (signal 0 probes without touching it). Says nothing of whose it is. */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LIVE_STATES = new Set(['starting', 'running', 'stopping']);

/** Whether the recorded worker is alive and is this run's worker (command line and start time). */
export type WorkerAlive = (ref: WorkerRef) => boolean;

/**
 * The host's view of a run folder: its worker's word, corrected when the worker is gone.
 * - No status.json and no launch.json: `pending` (nothing was started).
 * - The host launched a worker that has not reported yet: `starting` while it lives; once it is
 *   gone without a status, `failed` (it died before starting), or `stopped` when a stop was asked.
 * - A live state whose worker is gone: `interrupted`; when it was still starting with nothing
 *   trained (no step, no checkpoint, not a resume), `failed`, or `stopped` when a stop was asked.
 */
export function displayState(status: RunStatus | undefined, alive: WorkerAlive, launch?: LaunchRecord, stopRequested = false): DisplayState {
  const worker = recordedWorker(status, launch);
  const neverStarted: DisplayState = stopRequested ? 'stopped' : 'failed';
  if (worker?.fromLaunch) {
    if (alive(worker)) return 'starting';
    if (!status) return neverStarted;
  }
  if (!status) return 'pending';
  if (!LIVE_STATES.has(status.state)) return status.state;
  const ref = worker && !worker.fromLaunch ? worker : status.pid ? { pid: status.pid, start: status.pid_start } : undefined;
  if (ref && alive(ref)) return status.state;
  // A resume that died while starting still has the checkpoints it was resuming from.
  return status.state === 'starting' && !status.step && !status.last_checkpoint && !launch?.resume ? neverStarted : 'interrupted';
}

/**
 * `displayState` for a run folder, with the worker checked through /proc (command line and start
 * time). Without /proc (macOS, Windows) only whether the pid exists can be known: shown as live,
 * but never signalled (`stopWorker` writes the stop file only).
 */
export function runState(runDir: string, status: RunStatus | undefined, launch: LaunchRecord | undefined = readLaunch(runDir)): DisplayState {
  const alive: WorkerAlive = hasProc() ? (ref) => verifyWorker(runDir, ref).ok : (ref) => pidAlive(ref.pid);
  return displayState(status, alive, launch, fs.existsSync(path.join(runDir, 'stop')));
}

/**
 * A live run past its last step: training is done and the worker is writing the model and the
 * export. A stop now would only kill that (the worker finishes the run whatever it is asked).
 */
export function isFinishing(status: RunStatus | undefined): boolean {
  return !!status && LIVE_STATES.has(status.state) && typeof status.max_steps === 'number' && status.max_steps > 0 && (status.step ?? 0) >= status.max_steps;
}

export class InvalidRunIdError extends Error {
  constructor(readonly id: unknown) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id) : typeof id;
    super(`Invalid run id ${shown}: a run id is a folder name in the runs folder (letters, digits, '.', '_', '-'; no '/' and not starting with '.'), as \`bert-studio runs\` lists them.`);
    this.name = 'InvalidRunIdError';
  }
}

/** The id itself when it is a valid run id; else throws InvalidRunIdError with the fix. */
export function checkRunId(id: unknown): string {
  if (!isRunId(id)) throw new InvalidRunIdError(id);
  return id;
}

const LIVE_DISPLAY = new Set<DisplayState>(['starting', 'running', 'stopping']);

function mtimeSeconds(file: string): number {
  try {
    return fs.statSync(file).mtimeMs / 1000;
  } catch {
    return 0;
  }
}

/** When a run last showed signs of life (unix seconds): its status or events, else its spec. */
export function lastActivity(run: RunInfo): number {
  const updated = typeof run.status?.updated === 'number' && Number.isFinite(run.status.updated) ? run.status.updated : 0;
  const files = Math.max(mtimeSeconds(path.join(run.dir, 'status.json')), mtimeSeconds(path.join(run.dir, 'events.jsonl')));
  return Math.max(updated, files) || mtimeSeconds(path.join(run.dir, 'spec.json'));
}

/**
 * The run to show when the user has not chosen one: the live run (the most recently active of
 * them if several), else the most recently active run. Not simply the newest id: a resumed or
 * CLI-started run can be older than the last run created.
 */
export function defaultRunId(runs: readonly RunInfo[]): string | undefined {
  const live = runs.filter((r) => LIVE_DISPLAY.has(r.state));
  const pool = live.length ? live : runs;
  let best: RunInfo | undefined;
  let bestAt = -Infinity;
  for (const r of pool) {
    const at = lastActivity(r);
    if (at > bestAt) {
      best = r;
      bestAt = at;
    }
  }
  return best?.id;
}

/** A run folder that cannot be made (read-only workspace, full disk); the message names the folder and the fix. */
export class RunFolderError extends Error {
  constructor(
    message: string,
    readonly folder: string,
  ) {
    super(message);
    this.name = 'RunFolderError';
  }
}

/** status.json, checked against its contract (an invalid one is reported and ignored). */
export function readStatus(runDir: string): RunStatus | undefined {
  const file = path.join(runDir, 'status.json');
  const raw = checkRecord<Infer<typeof RUN_STATUS>>(file, readText(file), RUN_STATUS);
  return raw && normalizeStatus(raw);
}

/** spec.json, checked for the fields the host reads (the worker checks all of them). */
export function readSpec(runDir: string): RunSpec | undefined {
  const file = path.join(runDir, 'spec.json');
  return checkRecord<RunSpec>(file, readText(file), RUN_SPEC);
}

/** Reads the runs folder; `create` makes a new run's folder. The worker owns a run's other files. */
export class RunStore {
  constructor(readonly runsDir: string) {}

  /** The folder of run `id`; throws InvalidRunIdError for anything that is not a run id. */
  runDir(id: string): string {
    return path.join(this.runsDir, checkRunId(id));
  }

  ids(): string[] {
    try {
      return fs
        .readdirSync(this.runsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && isRunId(d.name) && fs.existsSync(path.join(this.runsDir, d.name, 'spec.json')))
        .map((d) => d.name)
        .sort()
        .reverse();
    } catch {
      return [];
    }
  }

  get(id: string): RunInfo {
    const dir = this.runDir(id);
    const status = readStatus(dir);
    return {
      id,
      dir,
      spec: readSpec(dir),
      status,
      state: runState(dir, status),
      hasModel: fs.existsSync(path.join(dir, 'model', 'config.json')),
      hasOnnx: fs.existsSync(path.join(dir, 'onnx', 'model.onnx')),
    };
  }

  list(): RunInfo[] {
    return this.ids().map((id) => this.get(id));
  }

  /** All complete events so far (a torn last line is left for the next read). */
  events(id: string): RunEvent[] {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.runDir(id), 'events.jsonl'), 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n');
    lines.pop();
    const file = path.join(this.runDir(id), 'events.jsonl');
    const out: RunEvent[] = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const c = checkEvent(line);
      if (c.ok) out.push(c.value);
      else reportInvalid(file, `line ${i + 1}: ${c.reason}; the line is ignored`);
    });
    return out;
  }

  /** A new, unique, sortable run id: time first, then a short name. */
  newId(name: string, now: Date = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'run';
    let id = `${stamp}-${slug}`;
    for (let i = 2; fs.existsSync(path.join(this.runsDir, id)); i++) id = `${stamp}-${slug}-${i}`;
    return id;
  }

  /**
   * The one place a run folder is made: a new id from `name`, the folder, and spec.json (written
   * to a temporary name, then renamed). Only `createRun` (create.ts) calls it, after every
   * pre-launch check passed. A folder that cannot be made gives a RunFolderError naming it.
   */
  create(name: string, spec: RunSpec): { id: string; dir: string } {
    const where = path.relative(path.dirname(path.dirname(this.runsDir)), this.runsDir) || this.runsDir;
    const fail = (err: unknown, folder: string): never => {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'EROFS' ? 'read-only file system' : e.code === 'ENOSPC' ? 'no space left on the disk' : e.code === 'ENOTDIR' ? 'a file is in the way' : (e.message ?? String(err));
      throw new RunFolderError(`cannot create ${where} in ${folder}: ${why}; make that folder writable or work in another folder (CLI: --workspace DIR).`, folder);
    };
    try {
      fs.mkdirSync(this.runsDir, { recursive: true });
    } catch (err) {
      fail(err, path.dirname(path.dirname(this.runsDir)));
    }
    for (let attempt = 0; ; attempt++) {
      const id = this.newId(name);
      const dir = this.runDir(id);
      try {
        fs.mkdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue; // another process took the id
        fail(err, this.runsDir);
      }
      try {
        const tmp = path.join(dir, '.spec.json.tmp');
        fs.writeFileSync(tmp, JSON.stringify(spec, null, 2) + '\n');
        fs.renameSync(tmp, path.join(dir, 'spec.json'));
      } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        fail(err, dir);
      }
      return { id, dir };
    }
  }
}
