/** onnxruntime-node, loaded on first use only (never on the extension's activation path). */
import { existsSync } from 'node:fs';
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
  /** Why the requested provider was not used, if it was not. */
  readonly fallbackReason?: string;
}

/** A session on the requested provider; CUDA falls back to CPU when its libraries are missing. */
export async function openSession(file: string, provider: Provider): Promise<OpenedSession> {
  const ort = await loadOrt();
  const options: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (provider === 'cuda') {
    const missing = cudaLibraryMissing();
    if (missing) {
      const session = await ort.InferenceSession.create(file, { ...options, executionProviders: ['cpu'] });
      return { session, provider: 'cpu', fallbackReason: missing };
    }
    try {
      // Fatal-only logging: a missing CUDA library is expected on most machines, and reported below.
      const session = await ort.InferenceSession.create(file, { ...options, logSeverityLevel: 4, executionProviders: ['cuda', 'cpu'] });
      return { session, provider: 'cuda' };
    } catch (err) {
      const session = await ort.InferenceSession.create(file, { ...options, executionProviders: ['cpu'] });
      return { session, provider: 'cpu', fallbackReason: `CUDA provider unavailable: ${(err as Error).message}` };
    }
  }
  return { session: await ort.InferenceSession.create(file, { ...options, executionProviders: ['cpu'] }), provider: 'cpu' };
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
  const cols = Math.max(1, ...rows.map((r) => r.length));
  const data = new BigInt64Array(rows.length * cols).fill(BigInt(pad));
  rows.forEach((r, i) => r.forEach((v, j) => (data[i * cols + j] = BigInt(v))));
  return new ort.Tensor('int64', data, [rows.length, cols]);
}

export function floatData(t: OrtTensor): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new Error(`Expected a float32 output, got ${t.type}.`);
  return t.data;
}
