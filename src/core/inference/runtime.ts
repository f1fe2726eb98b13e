/** onnxruntime-node, loaded on first use only (never on the extension's activation path). */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { Provider } from './types';

export type OrtModule = typeof Ort;
export type Session = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;

let ortModule: Promise<OrtModule> | undefined;

export function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

export interface OpenedSession {
  readonly session: Session;
  readonly provider: Provider;
  /** The graph file the session was created from. */
  readonly file: string;
  /** Why the requested provider was not used, if it was not. */
  readonly fallbackReason?: string;
  /** Why the pre-optimised CPU graph was not used although it is there, if it was not. */
  readonly graphFallbackReason?: string;
  /** Whether the options the session was created with let its intra-op threads spin (CPU only). */
  readonly spinning: boolean;
}

export type GraphName = 'model' | 'model_quantized' | 'model_attentions';

/**
 * The pre-optimised CPU graph export.py writes beside `<name>.onnx` (`<name>_cpu.onnx`, weights in
 * `<name>_cpu.onnx.data`), when it is there and not older than the graph it was made from.
 */
export function cpuGraphFile(dir: string, name: GraphName): string | undefined {
  const file = path.join(dir, `${name}_cpu.onnx`);
  try {
    const source = statSync(path.join(dir, `${name}.onnx`));
    const optimised = statSync(file);
    statSync(`${file}.data`);
    return optimised.mtimeMs >= source.mtimeMs ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU session options: every graph optimisation, one operator at a time (`sequential`), onnxruntime's
 * default intra-op threads (one per core, as PyTorch's default). By default the intra-op threads do
 * not spin while waiting for work: in an editor on a shared machine spinning burns cores the user
 * needs, and under contention it made both session creation and requests slower (bench/inference.md).
 * `spinning` lets them spin within a request only (no wake-up between its parallel sections) and stop
 * as each request ends (`force_spinning_stop`), for a machine with idle cores: the engine decides
 * (spinning.ts, its `auto` policy by default).
 */
function cpuOptions(spinning = false): Ort.InferenceSession.SessionOptions {
  const session = spinning ? { force_spinning_stop: '1', intra_op: { allow_spinning: '1' } } : { intra_op: { allow_spinning: '0' } };
  return { graphOptimizationLevel: 'all', executionMode: 'sequential', executionProviders: ['cpu'], extra: { session } };
}

/** Whether session options let the intra-op threads spin (onnxruntime's default when unset: yes). */
function allowsSpinning(options: Ort.InferenceSession.SessionOptions): boolean {
  const session = (options.extra as { session?: { intra_op?: { allow_spinning?: string } } } | undefined)?.session;
  return session?.intra_op?.allow_spinning !== '0';
}

/**
 * A session for `<dir>/<name>.onnx` on the requested provider. On CPU the pre-optimised `_cpu` graph
 * is used where it is there (a third of the load time), falling back to the plain graph if it does not
 * load; CUDA falls back to CPU when its libraries are missing.
 */
export async function openSession(dir: string, name: GraphName, provider: Provider, optimisedGraph = true, spinning = false): Promise<OpenedSession> {
  const ort = await loadOrt();
  const plain = path.join(dir, `${name}.onnx`);
  const options = cpuOptions(spinning);
  const onCpu = async (fallbackReason?: string): Promise<OpenedSession> => {
    const optimised = optimisedGraph ? cpuGraphFile(dir, name) : undefined;
    const cpu = { provider: 'cpu', fallbackReason, spinning: allowsSpinning(options) } as const;
    if (optimised) {
      try {
        return { session: await ort.InferenceSession.create(optimised, options), file: optimised, ...cpu };
      } catch (err) {
        const graphFallbackReason = `${optimised} did not load (${(err as Error).message}); using ${plain}.`;
        return { session: await ort.InferenceSession.create(plain, options), file: plain, graphFallbackReason, ...cpu };
      }
    }
    return { session: await ort.InferenceSession.create(plain, options), file: plain, ...cpu };
  };
  if (provider === 'cuda') {
    const missing = cudaLibraryMissing();
    if (missing) return onCpu(missing);
    try {
      // Fatal-only logging: a missing CUDA library is expected on most machines, and reported below.
      const cudaOptions: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 4, executionProviders: ['cuda', 'cpu'] };
      const session = await ort.InferenceSession.create(plain, cudaOptions);
      return { session, provider: 'cuda', file: plain, spinning: allowsSpinning(cudaOptions) };
    } catch (err) {
      return onCpu(`CUDA provider unavailable: ${(err as Error).message}`);
    }
  }
  return onCpu();
}

/** Why the CUDA provider cannot load (its library is not beside the binding), or undefined. */
function cudaLibraryMissing(): string | undefined {
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(path.join(bin, lib)) ? undefined : `CUDA provider not installed (no ${lib} in ${bin}); using CPU.`;
  } catch {
    return undefined; // unusual layout: let onnxruntime try
  }
}

/** int64 [rows, cols] tensor from rows of numbers (padded with `pad`). */
export function int64Batch(ort: OrtModule, rows: readonly (readonly number[])[], pad = 0): OrtTensor {
  let cols = 1;
  for (const r of rows) cols = Math.max(cols, r.length);
  const data = new BigInt64Array(rows.length * cols);
  if (pad !== 0) data.fill(BigInt(pad));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let j = 0; j < r.length; j++) data[i * cols + j] = BigInt(r[j]);
  }
  return new ort.Tensor('int64', data, [rows.length, cols]);
}

export function floatData(t: OrtTensor): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new Error(`Expected a float32 output, got ${t.type}.`);
  return t.data;
}
