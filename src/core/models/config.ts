/**
 * What a checkpoint's config.json says about the model, read without loading it: the architecture,
 * the longest input its position embeddings allow, the tasks it can be trained for, and its
 * parameter count (from the safetensors header's tensor shapes, else estimated from the config).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ARCHITECTURES from '../../../trainer/bert_studio_trainer/architectures.json';

export type ModelConfigJson = Readonly<Record<string, unknown>>;

/** config.json of `folder` as an object; errors name the file and the fix. */
export function readConfigJson(folder: string): ModelConfigJson {
  const file = path.join(folder, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${folder} is not a Hugging Face model folder (no config.json); give the folder that holds config.json and the weights.` : `cannot read ${file} (${code ?? (err as Error).message}); check its permissions.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); copy config.json again from the checkpoint.`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file} is not a JSON object; copy config.json again from the checkpoint.`);
  return raw as ModelConfigJson;
}

const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

export function architectures(config: ModelConfigJson): string[] {
  return Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
}

export function modelType(config: ModelConfigJson): string {
  return typeof config.model_type === 'string' ? config.model_type : '';
}

/** What architectures.json (generated from transformers by families.py) says of one model_type. */
export interface Architecture {
  readonly tasks: readonly string[];
  readonly nsp: boolean;
  /** Position ids start after the padding id (RoBERTa's create_position_ids_from_input_ids). */
  readonly positions_after_padding: boolean;
  readonly base_prefix: string;
  /** Top-level names of the masked-LM head's saved weights ("cls", "lm_head", ...). */
  readonly mlm_head: readonly string[];
  /** The tokenizer class transformers gives the model_type by default. */
  readonly tokenizer: string | null;
}

interface ArchitectureTable {
  readonly refusals: Readonly<Record<string, string>>;
  readonly heads: Readonly<Record<string, string>>;
  readonly model_types: Readonly<Record<string, Architecture>>;
  readonly slow_tokenizers: readonly string[];
}

/** The worker's own table and refusal sentences (trainer/bert_studio_trainer/architectures.json, bundled). */
export const ARCHITECTURE_TABLE = ARCHITECTURES as unknown as ArchitectureTable;

/** The model_type's entry; undefined for one the pinned transformers has no encoder classes for (the worker decides). */
export function architecture(config: ModelConfigJson): Architecture | undefined {
  return Object.prototype.hasOwnProperty.call(ARCHITECTURE_TABLE.model_types, modelType(config)) ? ARCHITECTURE_TABLE.model_types[modelType(config)] : undefined;
}

/** One of architectures.json's refusal sentences with its {placeholders} filled in (as families.py refusal does). */
export function refusal(key: string, values: Readonly<Record<string, string>>): string {
  return ARCHITECTURE_TABLE.refusals[key].replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? `{${name}}`);
}

/**
 * Tokens (special ones included) the model can read: max_position_embeddings, less pad_token_id + 1
 * where position ids start after the padding id (RoBERTa, XLM-R: 514 embeddings, 512 positions).
 * Undefined when the config gives no max_position_embeddings (relative positions).
 */
export function maxPositions(config: ModelConfigJson): number | undefined {
  const n = int(config.max_position_embeddings);
  if (n === undefined) return undefined;
  if (!architecture(config)?.positions_after_padding) return n;
  const pad = typeof config.pad_token_id === 'number' && config.pad_token_id >= 0 ? config.pad_token_id : 1;
  return n - (pad + 1);
}

/**
 * The pretraining head a checkpoint holds that is not the masked-LM head (an ELECTRA discriminator's
 * "discriminator_predictions"), from the weight names: as families.py _heads reads them. Undefined
 * when the MLM head is there, for a bare encoder, and when there are no safetensors weights.
 */
export function foreignHead(arch: Architecture, weightNames: readonly string[]): string | undefined {
  const prefix = `${arch.base_prefix}.`;
  if (!weightNames.some((k) => k.startsWith(prefix))) return undefined;
  const saved = new Set(weightNames.filter((k) => !k.startsWith(prefix)).map((k) => k.split('.')[0]));
  if (arch.mlm_head.every((h) => saved.has(h))) return undefined;
  return [...saved].filter((h) => !arch.mlm_head.includes(h)).sort()[0];
}

/**
 * Why `task` cannot be trained from this checkpoint, or undefined: in the worker's words
 * (families.py task_refusal), from the worker's architecture table. `weightNames` (the safetensors
 * tensor names) tell an ELECTRA discriminator, whose pretraining head is not a masked-LM head.
 */
export function taskProblem(config: ModelConfigJson, task: string, weightNames: readonly string[] = []): string | undefined {
  const arch = architecture(config);
  if (!arch) return undefined;
  const values = { model_type: modelType(config), task, head: ARCHITECTURE_TABLE.heads[task] ?? task };
  if (task === 'mlm_nsp' && !arch.nsp) return refusal('nsp', values);
  if (!arch.tasks.includes(task)) return refusal('no_head', values);
  const foreign = task === 'mlm' || task === 'mlm_nsp' ? foreignHead(arch, weightNames) : undefined;
  return foreign ? refusal('foreign_head', { ...values, head: foreign }) : undefined;
}

/** Tensor names of the folder's safetensors weights (headers only); empty without them. */
export function weightNames(folder: string): string[] {
  try {
    return safetensorsFiles(folder).flatMap((f) => [...safetensorsShapes(f).keys()]);
  } catch {
    return []; // unreadable weights: loading them fails later with its own message
  }
}

/** Tensor shapes from a safetensors file's header (8-byte little-endian length, then JSON), without reading the weights. */
export function safetensorsShapes(file: string): Map<string, number[]> {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    if (fs.readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${file} is not a safetensors file (shorter than its header).`);
    const len = Number(head.readBigUInt64LE(0));
    if (len <= 0 || len > 100 * 1024 * 1024) throw new Error(`${file} is not a safetensors file (header length ${len}).`);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, 8);
    const header = JSON.parse(buf.toString('utf8')) as Record<string, { shape?: unknown }>;
    const out = new Map<string, number[]>();
    for (const [name, t] of Object.entries(header)) {
      if (name !== '__metadata__' && Array.isArray(t.shape)) out.set(name, t.shape.map(Number));
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

export interface ParameterCount {
  readonly count: number;
  /** "weights": summed from the safetensors header; "estimate": from the config's sizes. */
  readonly source: 'weights' | 'estimate';
}

/** The folder's weight files in safetensors (one file, or the shards its index names). */
function safetensorsFiles(folder: string): string[] {
  const single = path.join(folder, 'model.safetensors');
  if (fs.existsSync(single)) return [single];
  const index = path.join(folder, 'model.safetensors.index.json');
  if (!fs.existsSync(index)) return [];
  const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
  return [...new Set(Object.values(map))].map((f) => path.join(folder, f));
}

/**
 * Parameters of the checkpoint: exact from the safetensors header where there is one, else an
 * estimate of the encoder from the config (embeddings + layers x (attention + feed-forward + norms)).
 */
export function parameterCount(folder: string, config: ModelConfigJson): ParameterCount | undefined {
  try {
    const files = safetensorsFiles(folder);
    if (files.length) {
      let count = 0;
      for (const f of files) for (const shape of safetensorsShapes(f).values()) count += shape.reduce((a, b) => a * b, 1);
      return { count, source: 'weights' };
    }
  } catch {
    // an unreadable header: estimate instead
  }
  const h = int(config.hidden_size) ?? int(config.dim);
  const layers = int(config.num_hidden_layers) ?? int(config.n_layers);
  const vocab = int(config.vocab_size);
  if (!h || !layers || !vocab) return undefined;
  const ff = int(config.intermediate_size) ?? int(config.hidden_dim) ?? 4 * h;
  const emb = int(config.embedding_size) ?? h;
  const positions = int(config.max_position_embeddings) ?? 0;
  const types = int(config.type_vocab_size) ?? 0;
  const embeddings = (vocab + positions + types) * emb + 2 * emb + (emb !== h ? emb * h + h : 0);
  const layer = 4 * (h * h + h) + (h * ff + ff) + (ff * h + h) + 4 * h;
  return { count: embeddings + layers * layer, source: 'estimate' };
}
