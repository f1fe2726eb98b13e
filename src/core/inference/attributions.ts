// Token attributions (Integrated Gradients) from the worker: one `attribute --serve` process per
// model, kept while it is used (gradients need the PyTorch weights, which the host's ONNX engine has
// not). A sequence classifier explains a label's probability; a token classifier (NER) explains the
// predicted entity at `span` (the sum of its words' predicted-tag logits; analysis/attributions.py).
// Answers are cached per model, text, pair, target, span and steps; a cancelled request ends the
// process (the next request starts a fresh one). Offsets go out and come back in code points, and
// are UTF-16 units on this side, ready for editor positions.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { TINT_LEVELS } from '../../shared/attributionTints';
import { workerEnv } from '../python/workerEnv';
import { spawnWorkerCommand } from '../runs/worker';

export interface TokenAttribution {
  readonly token: string;
  /** 0: the text, 1: the pair. */
  readonly segment: number;
  /** UTF-16 offsets into the text (or the pair), end exclusive. */
  readonly start: number;
  readonly end: number;
  readonly attribution: number;
}

/** A token classifier's target: the entity (or the words) explained, UTF-16 offsets into the text. */
export interface AttributionTarget {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** The predicted tag of each word, whose logits F sums. */
  readonly tags: readonly string[];
  /** A predicted entity (else words outside every entity, under the cursor or selection). */
  readonly entity: boolean;
}

export interface PredictedEntity {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface Attributions {
  /** What was explained: a label's probability, or (NER) the logit sum of the target's predicted tags. */
  readonly task?: 'sequence_classification' | 'token_classification';
  readonly output?: 'probability' | 'logit sum';
  /** F(input) and F(baseline): the probabilities, or the NER logit sums. */
  readonly value?: number;
  readonly baseline_value?: number;
  readonly target?: AttributionTarget;
  /** NER: every entity the worker's model predicts in the text. */
  readonly entities?: readonly PredictedEntity[];
  /** The label (NER: the target's entity type, or its tags joined with "/"). */
  readonly label: string;
  readonly probability: number;
  readonly baseline_probability: number;
  readonly probabilities: Readonly<Record<string, number>>;
  readonly tokens: readonly TokenAttribution[];
  readonly sum: number;
  readonly delta: number;
  /** |sum − (F(x) − F(baseline))| / |F(x) − F(baseline)|: how far the integral is from the IG completeness axiom. */
  readonly completeness_error: number;
  readonly steps: number;
  readonly baseline: string;
  readonly truncated: boolean;
  readonly seconds: number;
}

export interface AttributeRequest {
  readonly text: string;
  readonly pair?: string;
  readonly target?: string;
  /** Token classifier: the characters (UTF-16 offsets into `text`, end exclusive) of the entity or word to explain; start = end is a cursor. */
  readonly span?: readonly [number, number];
  readonly steps?: number;
  readonly signal?: AbortSignal;
}

/** The user's problem (a model that is not a classifier, an unknown label): the message says the fix. */
export class AttributionError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The folder the worker loads for `folder` (a run, its onnx/ or model/ folder): the run when there is one. */
export function attributionModel(folder: string): string {
  const root = path.resolve(folder);
  const up = path.dirname(root);
  if (['onnx', 'model', 'best'].includes(path.basename(root)) && fs.existsSync(path.join(up, 'spec.json'))) return up;
  return root;
}

/** Code-point offsets (Python's str indices) to UTF-16 offsets in `text`. */
export function utf16Offsets(text: string): (cp: number) => number {
  const map: number[] = [0];
  let u = 0;
  for (const ch of text) {
    u += ch.length;
    map.push(u);
  }
  return (cp) => map[Math.min(Math.max(cp, 0), map.length - 1)];
}

/** A UTF-16 offset in `text` as a code-point offset (Python's str index); inside a surrogate pair counts the pair. */
export function codePointOffset(text: string, utf16: number): number {
  let cp = 0;
  for (let u = 0; u < Math.min(Math.max(utf16, 0), text.length); u += text.codePointAt(u)! > 0xffff ? 2 : 1) cp++;
  return cp;
}

type Pending = { resolve: (a: Attributions) => void; reject: (e: Error) => void };

class Server {
  readonly proc: ReturnType<typeof spawnWorkerCommand>;
  readonly ready: Promise<void>;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private stderr = '';

  constructor(python: string, model: string, packageRoot: string) {
    this.proc = spawnWorkerCommand(python, ['attribute', '--serve', '--model', model], workerEnv(packageRoot));
    this.proc.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-8000)));
    const lines = readline.createInterface({ input: this.proc.stdout });
    this.ready = new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        let msg: { ready?: boolean; id?: number; error?: string; field?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return; // a stray print: not ours
        }
        if (msg.ready) return resolve();
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!p) return;
        this.pending.delete(msg.id as number);
        if (msg.error) p.reject(new AttributionError(msg.error, msg.field));
        else p.resolve(msg as unknown as Attributions);
      });
      this.proc.on('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new AttributionError(`Python not found at ${python}; set up the training environment first.`) : e));
      this.proc.on('close', (code) => {
        const errors = this.stderr.split('\n').filter((l) => l.startsWith('error: ')).map((l) => l.slice(7));
        const err = code === 2 && errors.length ? new AttributionError(errors.join('\n')) : new Error(`the attribution worker exited (code ${code}): ${this.stderr.trim().split('\n').slice(-3).join(' ')}`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
  }

  async request(req: Omit<AttributeRequest, 'signal'>): Promise<Attributions> {
    await this.ready;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const span = req.span ? req.span.map((u) => codePointOffset(req.text, u)) : undefined;
      this.proc.stdin.write(`${JSON.stringify({ id, text: req.text, pair: req.pair, target: req.target, span, steps: req.steps })}\n`);
    });
  }

  kill(): void {
    this.proc.kill();
  }
}

export class AttributionService {
  private server: { model: string; server: Server } | undefined;
  private readonly cache = new Map<string, Attributions>();
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly python: () => Promise<string | undefined>,
    private readonly packageRoot: string,
    private readonly idleMs = 5 * 60_000,
    private readonly maxCached = 200,
  ) {}

  /** The cached answer to `req`, if any (no worker is started). */
  cached(folder: string, req: Omit<AttributeRequest, 'signal'>): Attributions | undefined {
    return this.cache.get(cacheKey(attributionModel(folder), req));
  }

  /** Attributions of `req` under the classifier in `folder` (a run or its onnx/ / model/ folder). */
  async attribute(folder: string, req: AttributeRequest): Promise<Attributions> {
    const model = attributionModel(folder);
    const key = cacheKey(model, req);
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (req.signal?.aborted) throw abortError();
    const server = await this.serverFor(model);
    const work = server.request(req);
    const result = await new Promise<Attributions>((resolve, reject) => {
      const onAbort = (): void => {
        // The worker cannot stop mid-integral: end it; the next request starts a fresh one.
        this.dispose();
        reject(abortError());
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => req.signal?.removeEventListener('abort', onAbort));
    });
    const shifted = toUtf16(result, req);
    this.cache.set(key, shifted);
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value as string);
    this.touch();
    return shifted;
  }

  private async serverFor(model: string): Promise<Server> {
    if (this.server?.model === model && this.server.server.proc.exitCode === null) return this.server.server;
    this.dispose();
    const python = await this.python();
    if (!python) throw new AttributionError('No Python environment for the worker: run "BERT Studio: Set Up Training Environment" first.');
    this.server = { model, server: new Server(python, model, this.packageRoot) };
    return this.server.server;
  }

  private touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.dispose(), this.idleMs);
    this.idle.unref();
  }

  dispose(): void {
    if (this.idle) clearTimeout(this.idle);
    this.server?.server.kill();
    this.server = undefined;
  }
}

function cacheKey(model: string, req: Omit<AttributeRequest, 'signal'>): string {
  return JSON.stringify([model, req.text, req.pair ?? null, req.target ?? null, req.span ?? null, req.steps ?? null]);
}

function toUtf16(a: Attributions, req: AttributeRequest): Attributions {
  const maps = [utf16Offsets(req.text), utf16Offsets(req.pair ?? '')];
  const shift = <T extends { start: number; end: number }>(x: T): T => ({ ...x, start: maps[0](x.start), end: maps[0](x.end) });
  return {
    ...a,
    tokens: a.tokens.map((t) => ({ ...t, start: maps[t.segment](t.start), end: maps[t.segment](t.end) })),
    ...(a.target ? { target: shift(a.target) } : {}),
    ...(a.entities ? { entities: a.entities.map(shift) } : {}),
  };
}

function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}

/** Tint levels: 1…TINT_LEVELS toward the label, −1…−TINT_LEVELS against it, 0 for a negligible share (src/shared: the pages use it too). */
export { TINT_LEVELS };

/** The largest |attribution| of an answer: what tint levels are scaled to. */
export function attributionScale(tokens: readonly TokenAttribution[]): number {
  return Math.max(1e-12, ...tokens.map((t) => Math.abs(t.attribution)));
}

/** The tint level of `attribution` on a scale of `max`: round(5·a/max), none under a tenth of it. */
export function tintLevel(attribution: number, max: number): number {
  const share = attribution / max;
  return Math.abs(share) < 0.1 ? 0 : Math.sign(share) * Math.max(1, Math.round(Math.abs(share) * TINT_LEVELS));
}

/**
 * Each token's tint, scaled to the largest |attribution| of the answer: level round(5·a/max), so the
 * strongest token is ±5 and one under a tenth of it gets no tint.
 */
export function attributionTints(tokens: readonly TokenAttribution[]): { token: TokenAttribution; level: number; share: number }[] {
  const max = attributionScale(tokens);
  return tokens.map((t) => ({ token: t, level: tintLevel(t.attribution, max), share: t.attribution / max }));
}
