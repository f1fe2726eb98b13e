/**
 * The inference engine: plain Node (no vscode), used by the extension host, the CLI and the bench.
 * Models load lazily on first request, stay cached, and are released after `idleMs` unused.
 * Every request takes an AbortSignal; an aborted request rejects with the signal's reason.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { trimSpan, type Span } from './offsets';
import { readModelConfig, resolveModelFolder, detectTask, type ModelConfig, type ModelFolder } from './folder';
import { jointFill, joinPieces, logSoftmax } from './fillMaskWords';
import { aggregateEntities, argMax, bestSpan, sigmoid, softmax, toClassification, topK, wholeWordSpan, type TokenPrediction } from './postprocess';
import { floatData, int64Batch, loadOrt, openSession, type GraphName, type OpenedSession, type OrtTensor } from './runtime';
import { sharedCpuMonitor, type CpuMonitor, type SpinDecision, type ThreadSpinning } from './spinning';
import { readTokenizerFiles, ModelTokenizer, type Encoded } from './tokenizer';
import { MASK_SPELLINGS, respellMask, tokenText } from './tokenizerInfo';
import type {
  Answer,
  AttentionMaps,
  Classification,
  EntitySpan,
  FillMaskResult,
  InferenceTask,
  LoadTimings,
  ModelInfo,
  Precision,
  Provider,
  RequestOptions,
  SpinningState,
} from './types';

export interface EngineOptions {
  readonly provider?: Provider;
  /** int8 uses model_quantized.onnx where the export has one. */
  readonly precision?: Precision;
  /** Release a model this long after its last request (ms). */
  readonly idleMs?: number;
  /** Use the pre-optimised `_cpu` graphs where the export wrote them (default true; the bench turns it off to compare). */
  readonly optimisedGraphs?: boolean;
  /**
   * Whether CPU threads spin within a request (runtime.ts cpuOptions): 'auto' (default) while the
   * cores are idle (spinning.ts), re-opening a model's session when that changes; 'on'; 'off'.
   */
  readonly spinning?: ThreadSpinning;
  /** Where 'auto' reads the CPU's idleness (default: the process's monitor of os.cpus()). */
  readonly cpuMonitor?: CpuMonitor;
  readonly log?: (message: string) => void;
}

type Graph = 'main' | 'attentions';

/** Padded tokens (rows x longest row) per onnxruntime call: bounds memory whatever the number of texts. */
export const MAX_BATCH_TOKENS = 8192;
/** Rows per onnxruntime call at most. */
const MAX_BATCH_ROWS = 32;

/**
 * Consecutive groups of `lengths` whose padded size (rows x longest) stays within `maxTokens` and
 * `maxRows` (a row longer than maxTokens alone). Returns [start, end) index pairs.
 */
export function tokenBatches(lengths: readonly number[], maxTokens = MAX_BATCH_TOKENS, maxRows = MAX_BATCH_ROWS): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let longest = 0;
  for (let i = 0; i < lengths.length; i++) {
    const wider = Math.max(longest, lengths[i]);
    if (i > start && (wider * (i - start + 1) > maxTokens || i - start >= maxRows)) {
      out.push([start, i]);
      start = i;
      longest = lengths[i];
    } else longest = wider;
  }
  if (start < lengths.length) out.push([start, lengths.length]);
  return out;
}

class LoadedModel {
  readonly sessions = new Map<Graph, Promise<OpenedSession>>();
  inflight = 0;
  timer: NodeJS.Timeout | undefined;
  /** Why the sessions spin or not (their options say whether). */
  spinningReason: string;
  /** The sessions being re-opened to follow the spinning policy; requests wait for it. */
  switching: Promise<void> | undefined;
  /** A re-open failed: the model keeps the sessions it has. */
  switchFailed = false;
  released = false;
  constructor(
    readonly folder: ModelFolder,
    readonly config: ModelConfig,
    readonly tokenizer: ModelTokenizer,
    readonly task: InferenceTask,
    public main: OpenedSession,
    readonly precision: Precision,
    public timings: LoadTimings,
  ) {
    this.sessions.set('main', Promise.resolve(main));
    this.spinningReason = timings.spinning.reason;
  }

  get graphName(): GraphName {
    return this.precision === 'int8' ? 'model_quantized' : 'model';
  }

  get spinning(): SpinningState {
    return { spinning: this.main.spinning, reason: this.spinningReason };
  }

  async release(): Promise<void> {
    this.released = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) await s.then((o) => o.session.release()).catch(() => undefined);
  }
}

function checkAbort(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

export class InferenceEngine {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly provider: Provider;
  private readonly precision: Precision;
  private readonly idleMs: number;
  private readonly spinning: ThreadSpinning;
  private disposed = false;

  constructor(private readonly options: EngineOptions = {}) {
    this.provider = options.provider ?? 'cpu';
    this.precision = options.precision ?? 'fp32';
    this.idleMs = options.idleMs ?? 5 * 60_000;
    this.spinning = options.spinning ?? 'auto';
  }

  async info(folder: string, opts: RequestOptions = {}): Promise<ModelInfo> {
    return this.use(folder, opts, async (m) => ({
      folder: m.folder.onnxDir,
      task: m.task,
      labels: m.config.labels,
      provider: m.main.provider,
      precision: m.precision,
      hasAttentions: hasFile(m.folder.onnxDir, 'model_attentions.onnx'),
      graphFile: m.main.file,
      spinning: m.spinning,
      maxLength: m.config.maxLength,
      ...(m.config.trainedMaxLength !== undefined ? { trainedMaxLength: m.config.trainedMaxLength } : {}),
      ...(m.config.textPair ? { textPair: true } : {}),
    }));
  }

  /** How the cached model's load went (undefined when `folder` is not loaded); starts no load. */
  async loadTimings(folder: string): Promise<LoadTimings | undefined> {
    const entry = this.models.get(keyOf(folder));
    return entry ? (await entry).timings : undefined;
  }

  /**
   * Top-k fillers for the first mask token in text. The text may spell the mask either way ("[MASK]"
   * or "<mask>"): the other spelling is read as the model's own, and the result says so.
   */
  async fillMask(folder: string, text: string, k = 5, opts: RequestOptions = {}): Promise<FillMaskResult> {
    return this.use(folder, opts, async (m) => {
      this.expectTask(m, 'fill-mask');
      const mask = m.tokenizer.maskToken;
      const maskId = m.tokenizer.maskTokenId;
      if (mask === undefined || maskId === undefined) throw new Error(`${m.folder.metaDir}: the tokenizer declares no mask token, so this model cannot fill a mask; use the tokenizer files of the checkpoint it was trained from.`);
      const spelt = respellMask(text, mask);
      const enc = await m.tokenizer.encode(spelt.text, undefined, m.config.maxLength);
      const pos = enc.ids.indexOf(maskId);
      const found = pos >= 0 ? enc.spans[pos] : null;
      if (pos < 0 || !found) throw new Error(`The text has no ${mask} to fill (within the first ${m.config.maxLength} tokens): this model's mask token is ${mask}${MASK_SPELLINGS.includes(mask) ? ` (${MASK_SPELLINGS.filter((s) => s !== mask).join(', ')} is read as ${mask} too)` : ''}.`);
      let count = 1; // consecutive masks: filled jointly, as one word (fillMaskWords.ts)
      while (enc.ids[pos + count] === maskId) count++;
      const lastSpan = enc.spans[pos + count - 1] ?? found;
      const maskSpan = spelt.toOriginal(trimSpan(spelt.text, [found[0], lastSpan[1]]));
      if (count > 1) return { ...(await this.fillMaskRun(m, enc, pos, count, k, text, maskSpan, opts.signal)), maskToken: mask, ...(spelt.other ? { note: `This model's mask token is ${mask}; ${spelt.other} was read as ${mask}.` } : {}) };
      const at = await this.logitsAt(m, [enc], [[pos]], opts.signal);
      const probs = softmax(at.data, at.offset(0, 0), at.vocab);
      const before = text.slice(0, maskSpan[0]);
      const after = text.slice(maskSpan[1]);
      const candidates = topK(probs, k).map((id) => {
        const { text: fill, startsWord } = m.tokenizer.tokenText(id);
        // A piece that continues a word ("##ly", a byte-level piece without "Ġ") joins the word before.
        const head = startsWord || !before ? before : before.replace(/\s+$/, '');
        return { tokenId: id, token: m.tokenizer.idToToken(id), text: fill, probability: probs[id], sequence: head + fill + after };
      });
      return { maskSpan, maskToken: mask, candidates, ...(spelt.other ? { note: `This model's mask token is ${mask}; ${spelt.other} was read as ${mask}.` } : {}) };
    });
  }

  /** `count` consecutive masks from token `pos`, the k best fillers ranked jointly (jointFill). */
  private async fillMaskRun(m: LoadedModel, enc: Encoded, pos: number, count: number, k: number, text: string, maskSpan: Span, signal: AbortSignal | undefined): Promise<Omit<FillMaskResult, 'maskToken'>> {
    const special = new Set(m.tokenizer.info.specialTokens.map((t) => m.tokenizer.tokenId(t)));
    // A whole word is asked for: its pieces hold a letter or digit (punctuation-only tokens left out).
    const wordPiece = (id: number): boolean => !special.has(id) && /[\p{L}\p{N}]/u.test(m.tokenizer.idToToken(id));
    const forward = async (prefixes: readonly (readonly number[])[]): Promise<Float64Array[]> => {
      const encs = prefixes.map((p) => ({ ...enc, ids: enc.ids.map((id, i) => (i >= pos && i < pos + p.length ? p[i - pos] : id)) }));
      const at = await this.logitsAt(m, encs, prefixes.map((p) => [pos + p.length]), signal);
      return prefixes.map((_, row) => logSoftmax(at.data, at.offset(row, 0), at.vocab));
    };
    const batchRows = Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor(MAX_BATCH_TOKENS / enc.ids.length)));
    const search = await jointFill(count, k, wordPiece, forward, { batchRows });
    const before = text.slice(0, maskSpan[0]);
    const after = text.slice(maskSpan[1]);
    const spaceMarked = m.tokenizer.info.continuationPrefix === undefined;
    const candidates = search.fills.map((f) => {
      const pieces = f.ids.map((id) => m.tokenizer.tokenText(id));
      const fill = joinPieces(pieces, spaceMarked);
      const head = pieces[0].startsWord || !before ? before : before.replace(/\s+$/, '');
      const tokens = f.ids.map((id) => m.tokenizer.idToToken(id));
      return { tokenId: f.ids[0], token: tokens.join(' '), text: fill, probability: Math.exp(f.logp), sequence: head + fill + after, tokenIds: f.ids, tokens };
    });
    return { maskSpan, masks: count, exact: search.exact, candidates };
  }

  /**
   * One label per text (sequence classification); a multi-label model also gives every label over
   * its threshold. Texts run in batches of at most MAX_BATCH_TOKENS padded tokens; a text over the
   * model's length is classified on its first tokens and marked `truncated`.
   */
  async classify(folder: string, texts: readonly string[], opts: RequestOptions & { pairs?: readonly (string | undefined)[] } = {}): Promise<Classification[]> {
    return this.use(folder, opts, async (m) => {
      this.expectTask(m, 'sequence-classification');
      const results: Classification[] = [];
      const encoded: { enc: Encoded; truncated: boolean }[] = [];
      // A pair classifier (MRPC, RTE) gets both segments with their segment ids, as the worker trained it.
      for (const [i, t] of texts.entries()) encoded.push(opts.pairs?.[i] !== undefined ? await encodePair(m, t, opts.pairs[i] as string) : await encodeWithin(m, t));
      for (const [a, b] of tokenBatches(encoded.map((e) => e.enc.ids.length))) {
        const [logits] = await this.run(m, 'main', encoded.slice(a, b).map((e) => e.enc), opts.signal, ['logits']);
        const n = logits.dims[1];
        const data = floatData(logits);
        const threshold = m.config.multiLabelThreshold;
        const probs = threshold === undefined ? softmax : sigmoid;
        for (let i = a; i < b; i++) {
          const c = toClassification(probs(data, (i - a) * n, n), m.config.labels, threshold);
          results.push(encoded[i].truncated ? { ...c, truncated: true } : c);
        }
      }
      return results;
    });
  }

  /**
   * Entities with character offsets into `text` (token classification). A text over the model's
   * length runs in consecutive windows that start at word boundaries, batched.
   */
  async tokenClassify(folder: string, text: string, opts: RequestOptions = {}): Promise<EntitySpan[]> {
    return this.use(folder, opts, async (m) => {
      this.expectTask(m, 'token-classification');
      // The tokenizer as the run saved it: a byte-level BPE trained on pre-split words (RoBERTa) was
      // saved with add_prefix_space, so the first word gets its "Ġ" as in training.
      const windows = tokenWindows(await encodeAll(m, text), m.config.maxLength);
      const preds: TokenPrediction[] = [];
      for (const [a, b] of tokenBatches(windows.map((w) => w.ids.length))) {
        const [logits] = await this.run(m, 'main', windows.slice(a, b), opts.signal, ['logits']);
        const [, seq, n] = logits.dims;
        const data = floatData(logits);
        const p = new Float64Array(n); // one token's label probabilities at a time
        windows.slice(a, b).forEach((w, row) => w.spans.forEach((span, i) => {
          if (!span) return; // [CLS], [SEP], <s>, </s>
          softmax(data, (row * seq + i) * n, n, p);
          const best = argMax(p);
          // Windows are consecutive and never split a word, so "the word before" is within the window.
          // A SentencePiece "▁" token's span may cover the space before its word: trimmed.
          preds.push({ span: trimSpan(text, span), continuation: continuesWord(w, i), label: m.config.labels[best] ?? `LABEL_${best}`, probability: p[best] });
        }));
      }
      return aggregateEntities(text, preds);
    });
  }

  /** The best answer span in `context` (extractive question answering); long contexts in windows. */
  async answer(folder: string, question: string, context: string, opts: RequestOptions = {}): Promise<Answer | undefined> {
    return this.use(folder, opts, async (m) => {
      this.expectTask(m, 'question-answering');
      let best: Answer | undefined;
      for (const window of await contextWindows(m, question, context)) {
        const enc = await m.tokenizer.encode(question, window.text, m.config.maxLength);
        const [start, end] = await this.run(m, 'main', [enc], opts.signal, ['start_logits', 'end_logits']);
        const allowed = enc.segments.map((s, i) => s === 1 && enc.spans[i] !== null);
        const span = bestSpan(floatData(start), floatData(end), allowed);
        if (!span) continue;
        const a = enc.spans[span.start];
        const b = enc.spans[span.end];
        if (!a || !b || (best && best.score >= span.score)) continue;
        // Whole words, as BERT's SQuAD code answers: a span that ends inside a word ("Sergey Br") takes the word.
        const [s, e] = wholeWordSpan(context, window.offset + a[0], window.offset + b[1]);
        best = { text: context.slice(s, e), start: s, end: e, score: span.score };
      }
      return best;
    });
  }

  /** All layers' attention maps for `text`, from model_attentions.onnx. */
  async attention(folder: string, text: string, opts: RequestOptions & { maxTokens?: number } = {}): Promise<AttentionMaps> {
    return this.use(folder, opts, async (m) => {
      const enc = await m.tokenizer.encode(text, undefined, Math.min(m.config.maxLength, opts.maxTokens ?? 512));
      const [att] = await this.run(m, 'attentions', [enc], opts.signal, ['attentions']);
      const [layers, , heads, seq] = att.dims;
      const data = floatData(att);
      const weights = Array.from({ length: layers }, (_, l) =>
        Array.from({ length: heads }, (_, h) =>
          Array.from({ length: seq }, (_, i) => data.subarray(((l * heads + h) * seq + i) * seq, ((l * heads + h) * seq + i + 1) * seq)),
        ),
      );
      const unk = m.tokenizer.tokenId(m.tokenizer.info.unkToken);
      const labels = enc.tokens.map((token, i) => {
        const span = enc.spans[i];
        if (!span) return token;
        if (enc.ids[i] === unk) return `${token} ${text.slice(span[0], span[1])}`; // which character was unknown (most of Chinese under an English vocabulary)
        const read = m.tokenizer.info.continuationPrefix !== undefined ? { text: token, startsWord: true } : tokenText(m.tokenizer.info, token);
        return continuesWord(enc, i) && m.tokenizer.info.continuationPrefix === undefined ? `##${read.text}` : read.text || token;
      });
      return { tokens: enc.tokens, labels, spans: enc.spans, layers, heads, data, weights };
    });
  }

  /** Raw outputs of the main graph for a padded batch (tests and the benchmark). */
  async logits(folder: string, texts: readonly string[], opts: RequestOptions & { pairs?: readonly string[] } = {}): Promise<{ name: string; dims: readonly number[]; data: Float32Array }[]> {
    return this.use(folder, opts, async (m) => {
      const encs = await Promise.all(texts.map((t, i) => m.tokenizer.encode(t, opts.pairs?.[i], m.config.maxLength)));
      const main = await m.sessions.get('main');
      const names = main ? [...main.session.outputNames] : [];
      const outs = await this.run(m, 'main', encs, opts.signal, names);
      return outs.map((t, i) => ({ name: names[i], dims: t.dims, data: floatData(t) }));
    });
  }

  /** Token ids as the engine encodes them (tests compare them with the Python tokenizer). */
  async encode(folder: string, text: string, pair?: string): Promise<Encoded> {
    return this.use(folder, {}, async (m) => m.tokenizer.encode(text, pair, m.config.maxLength));
  }

  /** Drops a cached model now (e.g. when its run is re-exported). */
  async unload(folder: string): Promise<void> {
    const key = keyOf(folder);
    const entry = this.models.get(key);
    this.models.delete(key);
    if (entry) await entry.then((m) => m.release()).catch(() => undefined);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const entries = [...this.models.values()];
    this.models.clear();
    for (const e of entries) await e.then((m) => (clearTimeout(m.timer), m.release())).catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------

  private async use<T>(folder: string, opts: RequestOptions, fn: (m: LoadedModel) => Promise<T>): Promise<T> {
    if (this.disposed) throw new Error('The inference engine was disposed.');
    checkAbort(opts.signal);
    if (this.spinning === 'auto') this.monitor().use(this.idleMs);
    const key = keyOf(folder);
    let entry = this.models.get(key);
    if (!entry) {
      entry = this.load(folder);
      this.models.set(key, entry);
      entry.catch(() => this.models.delete(key));
    }
    const model = await entry;
    clearTimeout(model.timer);
    model.inflight++;
    try {
      // Only a request alone on its model re-opens it; one arriving meanwhile waits for the new sessions.
      const switching = model.switching ?? (model.inflight === 1 ? this.followSpinning(model) : undefined);
      if (switching) await switching;
      checkAbort(opts.signal);
      return await fn(model);
    } finally {
      model.inflight--;
      if (model.inflight === 0) this.scheduleRelease(key, model);
    }
  }

  private scheduleRelease(key: string, model: LoadedModel): void {
    clearTimeout(model.timer);
    model.timer = setTimeout(() => {
      if (model.inflight > 0 || this.models.get(key) === undefined) return;
      this.models.delete(key);
      this.options.log?.(`Released idle model ${model.folder.onnxDir}`);
      void model.release();
    }, this.idleMs);
    model.timer.unref();
  }

  /**
   * Cold path. onnxruntime-node creates a session synchronously on the main thread (inside a
   * setImmediate), so it cannot overlap tokenizer construction; the tokenizer files are read on the
   * libuv pool meanwhile, then parsed once. The pre-optimised CPU graph is used where the export
   * wrote one (runtime.ts). Spinning `auto` with no decision yet (the process's first load, or the
   * first after a pause) needs a CPU window before the session: the tokenizer is built first, inside
   * that window, so the load waits only for what the tokenizer leaves of it (SPIN_POLICY.minWindowMs).
   */
  private async load(folder: string): Promise<LoadedModel> {
    const t0 = performance.now();
    const since = this.spinning === 'auto' && this.provider === 'cpu' ? this.monitor().snapshot() : undefined;
    const where = resolveModelFolder(folder);
    const config = readModelConfig(where.metaDir);
    const precision: Precision = this.precision === 'int8' && hasFile(where.onnxDir, 'model_quantized.onnx') ? 'int8' : 'fp32';
    const files = readTokenizerFiles(where.metaDir);
    files.catch(() => undefined); // awaited below; a session error must not leave it unhandled
    const t1 = performance.now();
    let tokenizer: ModelTokenizer | undefined;
    let tokenizerMs = 0;
    let cpuWindowMs = 0;
    let decision = this.spinningNow();
    if (!decision && since) {
      tokenizer = await ModelTokenizer.fromFiles(await files);
      tokenizerMs = performance.now() - t1;
      const waited = performance.now();
      decision = await this.monitor().measure(since);
      cpuWindowMs = performance.now() - waited;
    }
    decision ??= { spin: false, reason: 'no CPU window measured yet: not spinning' };
    const t2 = performance.now();
    const main = await openSession(where.onnxDir, precision === 'int8' ? 'model_quantized' : 'model', this.provider, this.options.optimisedGraphs ?? true, decision.spin);
    const t3 = performance.now();
    if (!tokenizer) {
      try {
        tokenizer = await ModelTokenizer.fromFiles(await files);
      } catch (err) {
        await main.session.release().catch(() => undefined);
        throw err;
      }
      tokenizerMs = performance.now() - t3;
    }
    if (main.fallbackReason) this.options.log?.(main.fallbackReason);
    if (main.graphFallbackReason) this.options.log?.(main.graphFallbackReason);
    if (main.provider === 'cpu') this.options.log?.(`Thread spinning ${this.spinning} for ${main.file}: ${decision.reason}`);
    const task = detectTask(config, main.session.outputNames, undefined);
    const spinning = { spinning: main.spinning, reason: decision.reason };
    const timings: LoadTimings = { configMs: t1 - t0, sessionMs: t3 - t2, tokenizerMs, graphFile: main.file, cpuWindowMs, spinning };
    return new LoadedModel(where, config, tokenizer, task, main, precision, timings);
  }

  private monitor(): CpuMonitor {
    return this.options.cpuMonitor ?? sharedCpuMonitor();
  }

  /** Spin or not now, per the option; for 'auto', the monitor's last window (undefined before its first). */
  private spinningNow(): Pick<SpinDecision, 'spin' | 'reason'> | undefined {
    if (this.spinning !== 'auto') return { spin: this.spinning === 'on', reason: `set to "${this.spinning}": ${this.spinning === 'on' ? 'spinning' : 'not spinning'}` };
    return this.monitor().current();
  }

  /**
   * Spinning 'auto': when the policy's decision differs from what the model's CPU sessions were
   * created with, re-open its main graph accordingly (the attention graph is re-opened on its next
   * request) and release the old sessions; undefined when nothing is to change. The re-open costs
   * one session creation (as at load), so it happens only when the policy changes its mind, which
   * its hysteresis keeps rare; one session per graph stays in memory (two during the swap).
   */
  private followSpinning(m: LoadedModel): Promise<void> | undefined {
    if (this.spinning !== 'auto' || m.main.provider !== 'cpu' || m.switchFailed) return undefined;
    const decision = this.monitor().current();
    if (!decision) return undefined;
    if (decision.spin === m.main.spinning) {
      m.spinningReason = decision.reason; // the latest measurement, for info()
      return undefined;
    }
    m.switching = this.reopen(m, decision).finally(() => (m.switching = undefined));
    return m.switching;
  }

  private async reopen(m: LoadedModel, decision: SpinDecision): Promise<void> {
    let opened: OpenedSession;
    try {
      opened = await openSession(m.folder.onnxDir, m.graphName, this.provider, this.options.optimisedGraphs ?? true, decision.spin);
    } catch (err) {
      m.switchFailed = true;
      this.options.log?.(`Could not re-open ${m.main.file} with threads ${decision.spin ? 'spinning' : 'not spinning'} (${(err as Error).message}); it keeps its session.`);
      return;
    }
    if (m.released) {
      await opened.session.release().catch(() => undefined);
      return;
    }
    const old = [...m.sessions.values()];
    m.sessions.clear();
    m.sessions.set('main', Promise.resolve(opened));
    m.main = opened;
    m.spinningReason = decision.reason;
    this.options.log?.(`Thread spinning auto for ${opened.file}, re-opened: ${decision.reason}`);
    for (const s of old) await s.then((o) => o.session.release()).catch(() => undefined);
  }

  private expectTask(m: LoadedModel, task: InferenceTask): void {
    if (m.task !== task) throw new Error(`${m.folder.onnxDir} is a ${m.task} model; this needs a ${task} model.`);
  }

  /**
   * MLM vocabulary logits at `positions[row]` of each row; `offset(row, j)` is where the logits of
   * `positions[row][j]` start in `data`. A graph with a `mask_positions` input (export.py) computes
   * only those; an export older than that input computes every position and they are picked here.
   */
  private async logitsAt(m: LoadedModel, encs: readonly Encoded[], positions: readonly (readonly number[])[], signal: AbortSignal | undefined): Promise<{ data: Float32Array; vocab: number; offset: (row: number, j: number) => number }> {
    const [logits] = await this.run(m, 'main', encs, signal, ['logits'], positions);
    const [, cols, vocab] = logits.dims;
    const gathered = (await m.sessions.get('main'))?.session.inputNames.includes('mask_positions');
    return { data: floatData(logits), vocab, offset: (row, j) => (row * cols + (gathered ? j : positions[row][j])) * vocab };
  }

  private async run(m: LoadedModel, graph: Graph, encs: readonly Encoded[], signal: AbortSignal | undefined, outputs: readonly string[], positions?: readonly (readonly number[])[]): Promise<OrtTensor[]> {
    checkAbort(signal);
    let opened = m.sessions.get(graph);
    if (!opened) {
      if (!hasFile(m.folder.onnxDir, 'model_attentions.onnx')) throw new Error(`No model_attentions.onnx in ${m.folder.onnxDir}: re-export the run to see attention.`);
      opened = openSession(m.folder.onnxDir, 'model_attentions', this.provider, this.options.optimisedGraphs ?? true, m.main.provider === 'cpu' && m.main.spinning);
      m.sessions.set(graph, opened);
      opened.catch(() => m.sessions.delete(graph));
    }
    const { session } = await opened;
    checkAbort(signal);
    const first = graph === 'main' && m.timings.firstRunMs === undefined ? performance.now() : undefined;
    const ort = await loadOrt();
    const pad = m.tokenizer.padTokenId;
    const feeds: Record<string, OrtTensor> = {
      input_ids: int64Batch(ort, encs.map((e) => e.ids), pad),
      attention_mask: int64Batch(ort, encs.map((e) => e.ids.map(() => 1))),
    };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = int64Batch(ort, encs.map((e) => e.typeIds));
    // MLM graphs: the positions whose vocabulary logits to compute (every position unless given).
    if (session.inputNames.includes('mask_positions')) feeds.mask_positions = int64Batch(ort, positions ?? encs.map((e) => e.ids.map((_, i) => i)));
    const result = await session.run(feeds, [...outputs]);
    if (first !== undefined) {
      m.timings = { ...m.timings, firstRunMs: performance.now() - first };
      const t = m.timings;
      this.options.log?.(`Loaded ${t.graphFile}: config ${t.configMs.toFixed(0)} ms, session ${t.sessionMs.toFixed(0)} ms, tokenizer ${t.tokenizerMs.toFixed(0)} ms, first run ${t.firstRunMs?.toFixed(0)} ms`);
    }
    checkAbort(signal);
    return outputs.map((name) => {
      const t = result[name];
      if (!t) throw new Error(`The model has no output "${name}".`);
      return t;
    });
  }
}

function keyOf(folder: string): string {
  return path.resolve(folder);
}

function hasFile(dir: string, file: string): boolean {
  return existsSync(path.join(dir, file));
}

/** Whether token i continues the word of token i - 1 (a "##" piece, a byte-level piece without "Ġ", a piece after "▁"). */
export function continuesWord(enc: Encoded, i: number): boolean {
  return i > 0 && enc.words[i] !== null && enc.words[i] === enc.words[i - 1] && enc.segments[i] === enc.segments[i - 1];
}

/**
 * The tokens at `indices` of `enc`: every per-token column (ids, tokens, spans, segments and any
 * other the tokenizer gives) picked alike, so this holds whatever Encoded carries.
 */
function pickTokens(enc: Encoded, indices: readonly number[]): Encoded {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(enc)) out[key] = Array.isArray(value) ? indices.map((i) => value[i] as unknown) : value;
  return out as unknown as Encoded;
}

/** `parts` one after the other, `shift` applied to each part's columns (character spans, word numbers). */
function joinTokens(parts: readonly Encoded[], shift: (key: string, value: unknown, part: number) => unknown): Encoded {
  const out: Record<string, unknown[]> = {};
  parts.forEach((enc, p) => {
    for (const [key, value] of Object.entries(enc)) if (Array.isArray(value)) (out[key] ??= []).push(...value.map((v: unknown) => shift(key, v, p)));
  });
  return out as unknown as Encoded;
}

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, k) => a + k);

/** Whether a cut encoding ends in text rather than [SEP] (transformers.js truncates after adding [SEP]). */
function endsInText(enc: Encoded): boolean {
  return enc.segments[enc.segments.length - 1] !== null;
}

/**
 * `text` encoded within the model's length, ending in its closing token ([SEP]) as in training;
 * `truncated` when tokens were left out.
 */
async function encodeWithin(m: LoadedModel, text: string): Promise<{ enc: Encoded; truncated: boolean }> {
  const max = m.config.maxLength;
  const enc = await m.tokenizer.encode(text, undefined, max + 1);
  const n = enc.ids.length;
  if (n <= max && !endsInText(enc)) return { enc, truncated: false };
  // The closing token: the encoding's own last one, or (cut after it) that of an empty text.
  const close = endsInText(enc) ? await m.tokenizer.encode('', undefined, max) : enc;
  const head = pickTokens(enc, range(0, Math.min(n, max) - 1));
  return { enc: joinTokens([head, pickTokens(close, [close.ids.length - 1])], (_k, v) => v), truncated: true };
}

/** `[CLS] text [SEP] pair [SEP]` (segment ids 0 then 1), cut longest-first to the model's length as the worker's tokenizer does. */
async function encodePair(m: LoadedModel, text: string, pair: string): Promise<{ enc: Encoded; truncated: boolean }> {
  const max = m.config.maxLength;
  const enc = await m.tokenizer.encode(text, pair, max);
  const truncated = enc.ids.length >= max && (await m.tokenizer.encode(text, pair, max + 1)).ids.length > max;
  return { enc, truncated };
}

/** Characters of text handed to the tokenizer at once by encodeAll (it tokenizes all it is given). */
const ENCODE_CHARS = 8192;

/**
 * The whole of `text` as one encoding ([CLS] tokens… [SEP]), however long: the tokenizer stops at
 * the model's length, so the text is encoded piece by piece, each piece starting at the word the
 * previous one may have cut (BERT splits words at spaces and punctuation, so the tokens are the same).
 */
async function encodeAll(m: LoadedModel, text: string): Promise<Encoded> {
  const max = m.config.maxLength;
  const parts: Encoded[] = [];
  const offsets: number[] = [];
  let offset = 0;
  let first: Encoded | undefined;
  let closing: Encoded | undefined;
  for (;;) {
    const piece = text.slice(offset, offset + ENCODE_CHARS);
    const enc = await m.tokenizer.encode(piece, undefined, max);
    const n = enc.ids.length;
    // The common case, a text that fits whole and ends in its closing token ([SEP]): what the pieces
    // below would join back is that encoding, column for column.
    if (offset === 0 && n >= 2 && n < max && piece.length >= text.length && !endsInText(enc)) return enc;
    first ??= pickTokens(enc, [0]);
    if (!endsInText(enc)) closing ??= pickTokens(enc, [n - 1]);
    const textEnd = endsInText(enc) ? n : n - 1;
    const complete = n < max && offset + piece.length >= text.length;
    let end = textEnd;
    if (!complete) {
      let k = end - 1; // leave out the last word: the cut may have split it
      while (k > 1 && continuesWord(enc, k)) k--;
      if (k > 1) end = k;
    }
    parts.push(pickTokens(enc, range(1, end)));
    offsets.push(offset);
    const lastSpan = enc.spans.slice(1, end).reverse().find((sp: Span | null) => sp !== null);
    if (complete || !lastSpan || lastSpan[1] === 0) break;
    offset += lastSpan[1];
  }
  closing ??= pickTokens(await m.tokenizer.encode('', undefined, max), [1]);
  // Word numbers restart in every piece: continue them.
  const wordBase: number[] = [];
  let words = 0;
  for (const part of parts) {
    wordBase.push(words);
    const w = (part as unknown as Record<string, unknown>).words;
    if (Array.isArray(w)) words += Math.max(-1, ...w.filter((x): x is number => typeof x === 'number')) + 1;
  }
  const body = joinTokens(parts, (key, v, p) => {
    if (key === 'spans' && Array.isArray(v)) return [v[0] + offsets[p], v[1] + offsets[p]];
    if (key === 'words' && typeof v === 'number') return v + wordBase[p];
    return v;
  });
  return joinTokens([first!, body, closing], (_k, v) => v);
}

/**
 * A single-text encoding cut into encodings of at most `maxLength` tokens ([CLS] first and [SEP]
 * last in each): consecutive pieces of its text tokens, each starting at a word (never at a "##"
 * continuation unless a word is longer than a window; words as the tokenizer's pre-tokenizer
 * splits them, for every tokenizer type). One piece when it fits.
 */
export function tokenWindows(enc: Encoded, maxLength: number): Encoded[] {
  if (enc.ids.length <= maxLength) return [enc];
  const last = enc.ids.length - 1; // [SEP]
  const room = Math.max(1, maxLength - 2);
  const windows: Encoded[] = [];
  for (let a = 1; a < last;) {
    let b = Math.min(last, a + room);
    if (b < last) {
      let w = b;
      while (w > a + 1 && continuesWord(enc, w)) w--;
      if (w > a + 1) b = w;
    }
    windows.push(pickTokens(enc, [0, ...range(a, b), last]));
    a = b;
  }
  return windows;
}

/** The context whole when it fits beside the question, else overlapping windows on word boundaries. */
async function contextWindows(m: LoadedModel, question: string, context: string): Promise<{ text: string; offset: number }[]> {
  // The tokens the pair template adds: 3 for [CLS] q [SEP] c [SEP], 4 for RoBERTa's <s> q </s></s> c </s>.
  const added = (await m.tokenizer.encode('', '')).ids.length;
  const budget = m.config.maxLength - (await m.tokenizer.countTokens(question)) - added;
  if ((await m.tokenizer.countTokens(context)) <= budget) return [{ text: context, offset: 0 }];
  const words = [...context.matchAll(/\S+/g)].map((w) => ({ start: w.index ?? 0, end: (w.index ?? 0) + w[0].length }));
  // ~1.4 tokens per word for English WordPiece; windows overlap by half.
  const size = Math.max(8, Math.floor(budget / 1.6));
  const windows: { text: string; offset: number }[] = [];
  for (let i = 0; i < words.length; i += Math.max(1, Math.floor(size / 2))) {
    const last = words[Math.min(words.length, i + size) - 1];
    windows.push({ text: context.slice(words[i].start, last.end), offset: words[i].start });
    if (i + size >= words.length) break;
  }
  return windows;
}
