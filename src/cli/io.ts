/** Output streams and argument parsing shared by the CLI commands. */
import { Writable } from 'node:stream';
import { closestName } from '../core/runs/launch';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
  /** Every value of a flag given more than once (e.g. --set a=1 --set b=2), in order. */
  readonly all: Map<string, string[]>;
}

/** Flags every command takes. */
export const COMMON_FLAGS = ['json', 'help'];

/**
 * `--name value`, `--name=value` and bare `--flag`; values never start with `--`. With `values`
 * (the flags that take a value), any other flag is a UsageError that suggests the closest known
 * one, and a value flag without its value is one too. `booleans` and COMMON_FLAGS take no value.
 */
export function parseArgs(args: readonly string[], booleans: readonly string[] = [], values?: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const all = new Map<string, string[]>();
  const bools = [...booleans, ...(values ? COMMON_FLAGS : [])];
  const known = values ? [...new Set([...bools, ...values])] : undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (known && !known.includes(name)) {
        const hint = closestName(name, known);
        throw new UsageError(`unknown option --${name}${hint ? `; did you mean --${hint}?` : ''} (options: ${known.map((k) => `--${k}`).join(' ')})`, `--${name}`);
      }
      let value: string | true;
      if (eq > 0) value = a.slice(eq + 1);
      else if (bools.includes(name) || i + 1 >= args.length || args[i + 1].startsWith('--')) value = true;
      else value = args[++i];
      if (known && value === true && !bools.includes(name)) throw new UsageError(`--${name} needs a value, e.g. --${name} VALUE`, `--${name}`);
      if (known && value !== true && bools.includes(name) && eq > 0) throw new UsageError(`--${name} takes no value; write just --${name}`, `--${name}`);
      flags.set(name, value);
      if (typeof value === 'string') all.set(name, [...(all.get(name) ?? []), value]);
    } else positional.push(a);
  }
  return { positional, flags, all };
}

export function flag(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A mistake in what the user typed: exit code 2, the message (and `field`, the flag or spec field) shown without a stack. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Several problems found at once (a refused run): each names its field and the fix; exit code 2. */
export class ProblemsError extends UsageError {
  constructor(readonly problems: readonly { readonly field: string; readonly message: string }[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('\n'), problems[0]?.field);
    this.name = 'ProblemsError';
  }
}

/** A one-line progress bar on a terminal; periodic plain lines otherwise (logs, CI). */
export class ProgressBar {
  private lastPlain = 0;
  constructor(
    private readonly out: CliIo['stderr'],
    private readonly width = 28,
  ) {}

  update(done: number, total: number | undefined, suffix: string): void {
    const frac = total && total > 0 ? Math.min(1, done / total) : 0;
    const bar = '█'.repeat(Math.round(frac * this.width)).padEnd(this.width, '░');
    const count = total ? `${done}/${total}` : `${done}`;
    if (this.out.isTTY) {
      this.out.write(`\r${bar} ${count} ${suffix}\x1b[K`);
    } else if (Date.now() - this.lastPlain > 2000 || done === total) {
      this.lastPlain = Date.now();
      this.out.write(`${bar} ${count} ${suffix}\n`);
    }
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

/** A stream that keeps what is written to it in `text`: the CLI's output in tests and benchmarks. */
export function textSink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}
