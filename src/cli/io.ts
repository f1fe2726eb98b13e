/** Output streams and argument parsing shared by the CLI commands. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

/** `--name value`, `--name=value` and bare `--flag`; values never start with `--`. */
export function parseArgs(args: readonly string[], booleans: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (booleans.includes(a.slice(2)) || i + 1 >= args.length || args[i + 1].startsWith('--')) flags.set(a.slice(2), true);
      else flags.set(a.slice(2), args[++i]);
    } else positional.push(a);
  }
  return { positional, flags };
}

export function flag(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
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
