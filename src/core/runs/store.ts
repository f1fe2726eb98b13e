import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEvent, type DisplayState, type RunEvent, type RunStatus, type Task } from './protocol';

export interface RunSpec {
  readonly version: number;
  readonly task: Task;
  readonly model: { readonly name_or_path: string; readonly from_scratch?: unknown; readonly trust_pickle?: boolean };
  readonly data: { readonly train: string; readonly validation?: string; readonly [k: string]: unknown };
  readonly training: Readonly<Record<string, unknown>>;
  readonly device: string;
  readonly export?: { readonly onnx?: boolean; readonly quantize?: boolean };
  /** Host-side description, ignored by the worker. */
  readonly name?: string;
  readonly dataset_id?: string;
}

export interface RunInfo {
  readonly id: string;
  readonly dir: string;
  readonly spec: RunSpec | undefined;
  readonly status: RunStatus | undefined;
  readonly state: DisplayState;
  readonly hasModel: boolean;
  readonly hasOnnx: boolean;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (signal 0 probes without touching it). */
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

/** The host's view of a run folder: its worker's word, corrected when the worker is gone. */
export function displayState(status: RunStatus | undefined, alive: (pid: number | undefined) => boolean = pidAlive): DisplayState {
  if (!status) return 'pending';
  if (LIVE_STATES.has(status.state) && !alive(status.pid)) return 'interrupted';
  return status.state;
}

/**
 * A live run past its last step: training is done and the worker is writing the model and the
 * export. A stop now would only kill that (the worker finishes the run whatever it is asked).
 */
export function isFinishing(status: RunStatus | undefined): boolean {
  return !!status && LIVE_STATES.has(status.state) && typeof status.max_steps === 'number' && status.max_steps > 0 && (status.step ?? 0) >= status.max_steps;
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

/** Reads the runs folder. Everything here is read-only: the worker owns a run's files. */
export class RunStore {
  constructor(readonly runsDir: string) {}

  runDir(id: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(id) || id === '.' || id === '..') throw new Error(`Invalid run id: ${id}`);
    return path.join(this.runsDir, id);
  }

  ids(): string[] {
    try {
      return fs
        .readdirSync(this.runsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && fs.existsSync(path.join(this.runsDir, d.name, 'spec.json')))
        .map((d) => d.name)
        .sort()
        .reverse();
    } catch {
      return [];
    }
  }

  get(id: string): RunInfo {
    const dir = this.runDir(id);
    const status = readJson<RunStatus>(path.join(dir, 'status.json'));
    return {
      id,
      dir,
      spec: readJson<RunSpec>(path.join(dir, 'spec.json')),
      status,
      state: displayState(status),
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
    return lines.map(parseEvent).filter((e): e is RunEvent => e !== undefined);
  }

  /** A new, unique, sortable run id: time first, then a short name. */
  newId(name: string, now: Date = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'run';
    let id = `${stamp}-${slug}`;
    for (let i = 2; fs.existsSync(path.join(this.runsDir, id)); i++) id = `${stamp}-${slug}-${i}`;
    return id;
  }
}
