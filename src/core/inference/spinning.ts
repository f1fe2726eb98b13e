/**
 * Whether onnxruntime's intra-op threads spin (runtime.ts cpuOptions). A spinning thread does not
 * sleep between a request's parallel sections: on idle cores warm requests get faster (NER against
 * PyTorch SDPA 1.88x -> 2.24x fp32, 3.41x -> 4.68x int8, bench/inference.md), but when other
 * processes want the cores spinning steals them, and it made requests 1.5-3x slower there.
 *
 * `auto` spins only while other work leaves an idle core for every intra-op thread. Idleness is
 * measured from the CPU time counters (os.cpus(), every platform; os.loadavg() reacts in minutes
 * and is 0 on Windows) minus this process's own CPU time (process.cpuUsage(), all its threads):
 * our own requests, spinning threads included, never count as contention, so spinning cannot switch
 * itself off. `decideSpinning` is the pure policy (two snapshots in, a decision and its reason out);
 * `CpuMonitor` takes the snapshots, once a second while an engine is in use, its sampler injectable.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

export type ThreadSpinning = 'auto' | 'on' | 'off';
export const THREAD_SPINNING_VALUES: readonly ThreadSpinning[] = ['auto', 'on', 'off'];
export const THREAD_SPINNING_SETTING = 'bertStudio.inference.threadSpinning';

/**
 * The setting's value as a mode. Booleans read as "on"/"off"; anything else that is not one of the
 * values falls back to "auto" with `problem` naming the setting, the value and the fix.
 */
export function parseThreadSpinning(value: unknown): { mode: ThreadSpinning; problem?: string } {
  if (value === undefined || value === null) return { mode: 'auto' };
  if (typeof value === 'boolean') return { mode: value ? 'on' : 'off' };
  const mode = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (mode !== undefined && (THREAD_SPINNING_VALUES as readonly string[]).includes(mode)) return { mode: mode as ThreadSpinning };
  return {
    mode: 'auto',
    problem: `${THREAD_SPINNING_SETTING} is ${JSON.stringify(value)}, which is not a value it takes; using "auto". Set it to "auto" (spin while the cores are idle), "on" or "off".`,
  };
}

/** CPU time counters at one moment. */
export interface CpuSnapshot {
  /** When it was taken, ms on a monotonic clock. */
  readonly at: number;
  /** Per logical core, ms since boot spent busy (user, nice, sys, irq) and idle (os.cpus()). */
  readonly cores: readonly { readonly busy: number; readonly idle: number }[];
  /** This process's CPU time so far, all its threads, ms. */
  readonly ownMs: number;
}

/** What the policy remembers between windows (its hysteresis). */
export interface SpinState {
  readonly spin: boolean;
  /** Consecutive windows that disagreed with `spin`. */
  readonly streak: number;
}

export interface SpinDecision {
  readonly spin: boolean;
  /** Why, in words for the log ("0.1 of 2 cores busy with other work, 2 intra-op threads: spinning"). */
  readonly reason: string;
  /** Cores' worth of CPU time other processes used in the window; undefined when it could not be measured. */
  readonly othersBusy?: number;
  readonly state: SpinState;
}

export interface SpinPolicy {
  /** Spin when other work uses at most (cores - threads) + onMargin cores... */
  readonly onMargin: number;
  /** ...and stop when it uses more than (cores - threads) + offMargin (between the two: no change). */
  readonly offMargin: number;
  /** Consecutive windows that must agree before spinning starts (a burst of idleness is not enough)... */
  readonly onWindows: number;
  /** ...and before it stops (contention is costly: at once). */
  readonly offWindows: number;
  /** Windows shorter than this are not measured (the counters tick every 10 ms per core). */
  readonly minWindowMs: number;
}

/**
 * One busy core is too many on a machine with no core to spare (offMargin < 1); the odd background
 * process (an editor's renderer, a language server at rest: a third of a core) is not (onMargin).
 */
export const SPIN_POLICY: SpinPolicy = { onMargin: 0.35, offMargin: 0.75, onWindows: 2, offWindows: 1, minWindowMs: 100 };

const cores1 = (x: number): string => x.toFixed(1);

/**
 * Spin or not, from the CPU counters at the start (`before`) and end (`after`) of a window, the
 * number of logical cores they cover, and onnxruntime's intra-op `threads`. `previous` is the state
 * the last window left (none: decide from this window alone, with the stricter onMargin). A window
 * that cannot be measured keeps the previous mode (not spinning without one).
 */
export function decideSpinning(before: CpuSnapshot, after: CpuSnapshot, threads: number, previous?: SpinState, policy: SpinPolicy = SPIN_POLICY): SpinDecision {
  const keep = (why: string): SpinDecision => {
    const spin = previous?.spin ?? false;
    return { spin, reason: `${why}: ${previous ? 'still ' : ''}${spin ? 'spinning' : 'not spinning'}`, state: previous ?? { spin, streak: 0 } };
  };
  if (threads <= 1) return { spin: false, reason: 'one intra-op thread, nothing to spin', state: { spin: false, streak: 0 } };
  const n = after.cores.length;
  if (n === 0 || before.cores.length !== n) return keep('the CPU time counters are not available');
  const wall = after.at - before.at;
  if (!(wall >= policy.minWindowMs)) return keep(`a ${wall.toFixed(0)} ms window is too short to measure`);
  let busy = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const b = after.cores[i].busy - before.cores[i].busy;
    const idle = after.cores[i].idle - before.cores[i].idle;
    if (b < 0 || idle < 0) return keep('the CPU time counters went back');
    busy += b;
    total += b + idle;
  }
  if (total <= 0) return keep('no CPU time was counted in the window');
  // Cores' worth of busy time, less this process's own (its counter is exact, the cores' tick).
  const othersBusy = Math.max(0, (n * busy) / total - Math.max(0, after.ownMs - before.ownMs) / wall);
  const spare = n - threads;
  const idleEnough = othersBusy <= spare + policy.onMargin;
  const tooBusy = othersBusy > spare + policy.offMargin;
  const measured = `${cores1(othersBusy)} of ${n} cores busy with other work over ${(wall / 1000).toFixed(1)} s, ${threads} intra-op threads`;
  if (!previous) return { spin: idleEnough, reason: `${measured}: ${idleEnough ? 'spinning' : 'not spinning'}`, othersBusy, state: { spin: idleEnough, streak: 0 } };
  const disagrees = previous.spin ? tooBusy : idleEnough;
  const streak = disagrees ? previous.streak + 1 : 0;
  const needed = previous.spin ? policy.offWindows : policy.onWindows;
  if (streak >= needed) return { spin: !previous.spin, reason: `${measured}: ${previous.spin ? 'no longer spinning' : 'spinning from now on'}`, othersBusy, state: { spin: !previous.spin, streak: 0 } };
  const pending = disagrees ? ` (${streak} of ${needed} windows to change)` : '';
  return { spin: previous.spin, reason: `${measured}: still ${previous.spin ? 'spinning' : 'not spinning'}${pending}`, othersBusy, state: { spin: previous.spin, streak } };
}

/** The CPU counters now, from the OS. */
export function osCpuSnapshot(): CpuSnapshot {
  const cores = os.cpus().map(({ times: t }) => ({ busy: t.user + t.nice + t.sys + t.irq, idle: t.idle }));
  const own = process.cpuUsage();
  return { at: performance.now(), cores, ownMs: (own.user + own.system) / 1000 };
}

/**
 * onnxruntime's default number of intra-op threads: one per physical core the process may use
 * (hyperthread siblings share one). Physical cores from /proc/cpuinfo on Linux; elsewhere the
 * logical count, which overstates them where cores are hyperthreaded (then `auto` spins less).
 */
export function intraOpThreads(): number {
  const logical = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  try {
    const cores = new Set<string>();
    let socket = '';
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const [key, value] = line.split(':').map((s) => s.trim());
      if (key === 'physical id') socket = value;
      else if (key === 'core id') cores.add(`${socket}/${value}`);
    }
    return cores.size > 0 ? Math.min(cores.size, logical) : logical;
  } catch {
    return logical;
  }
}

export interface CpuMonitorOptions {
  readonly sampler?: () => CpuSnapshot;
  /** onnxruntime's intra-op threads (default intraOpThreads()). */
  readonly threads?: number;
  /** Between two samples while in use (ms); false: only when `tick()` is called (tests). */
  readonly intervalMs?: number | false;
  readonly policy?: SpinPolicy;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A CpuMonitor's window while in use: long enough to average out the counters' ticks, short enough to follow a build starting. */
export const MONITOR_INTERVAL_MS = 1000;

/**
 * The policy fed with CPU snapshots: one per `intervalMs` while the engine is in use (`use()` keeps
 * it sampling that much longer; it stops by itself after), each window decided against the last.
 * A timer, not a sample at each request: the window then always covers the last second, however
 * long the user paused, and no request waits for it.
 */
export class CpuMonitor {
  readonly threads: number;
  private readonly sampler: () => CpuSnapshot;
  private readonly intervalMs: number | false;
  private readonly policy: SpinPolicy;
  private last: CpuSnapshot | undefined;
  private decision: SpinDecision | undefined;
  private timer: NodeJS.Timeout | undefined;
  private until = 0;

  constructor(options: CpuMonitorOptions = {}) {
    this.sampler = options.sampler ?? osCpuSnapshot;
    this.threads = options.threads ?? intraOpThreads();
    this.intervalMs = options.intervalMs ?? MONITOR_INTERVAL_MS;
    this.policy = options.policy ?? SPIN_POLICY;
  }

  /** The latest window's decision while the monitor is sampling; undefined before its first window. */
  current(): SpinDecision | undefined {
    return this.decision;
  }

  snapshot(): CpuSnapshot {
    return this.sampler();
  }

  /** Keep sampling for at least `ms` more (starts the timer when it is stopped). */
  use(ms: number): void {
    if (this.intervalMs === false) return;
    this.until = Math.max(this.until, performance.now() + ms);
    if (this.timer) return;
    this.last ??= this.sampler();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One window: from the last sample to now (the timer calls it; tests call it with their sampler). */
  tick(): SpinDecision | undefined {
    const now = this.sampler();
    if (this.last) this.decision = decideSpinning(this.last, now, this.threads, this.decision?.state, this.policy);
    this.last = now;
    if (this.timer && performance.now() > this.until) this.stop();
    return this.decision;
  }

  /**
   * A decision now for a model being loaded when there is none yet: the window from `since` (or the
   * monitor's own last sample, if older), waiting until it is long enough (the caller overlaps that
   * with work of its own). It becomes the monitor's state, the ticks continuing from it.
   */
  async measure(since: CpuSnapshot): Promise<SpinDecision> {
    if (this.decision) return this.decision;
    const start = this.last && this.last.at < since.at ? this.last : since;
    let now = this.sampler();
    // A few tries only: a sampler whose clock stands still gets a "too short" decision, not a hang.
    for (let i = 0; i < 3 && now.at - start.at < this.policy.minWindowMs; i++) {
      await sleep(this.policy.minWindowMs - (now.at - start.at));
      now = this.sampler();
    }
    this.decision = decideSpinning(start, now, this.threads, undefined, this.policy);
    this.last = now;
    return this.decision;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
    this.decision = undefined; // a later start measures afresh: the old state says nothing of now
  }
}

let shared: CpuMonitor | undefined;

/** The process's monitor (the cores are the machine's, whichever engine asks). */
export function sharedCpuMonitor(): CpuMonitor {
  shared ??= new CpuMonitor();
  return shared;
}
