/**
 * What a model folder is, shown before a run is launched: architecture, parameters, max positions,
 * vocabulary, tokenizer type and casing. From config.json, the safetensors header and the tokenizer
 * files alone: nothing is loaded, no native code runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeTokenizer } from '../inference/tokenizer';
import type { TokenizerInfo } from '../inference/tokenizerInfo';
import { architecture, ARCHITECTURE_TABLE, architectures, maxPositions, modelType, parameterCount, readConfigJson, refusal, taskProblem, weightNames, type ModelConfigJson, type ParameterCount } from './config';

export interface ModelDescription {
  readonly folder: string;
  /** config.json model_type ("bert", "roberta", "deberta-v2", ...). */
  readonly modelType: string;
  readonly architectures: readonly string[];
  readonly parameters?: ParameterCount;
  /** Tokens the model reads (RoBERTa's padding offset taken off); undefined without absolute positions. */
  readonly maxPositions?: number;
  readonly vocabSize?: number;
  /** The tokenizer's facts; undefined when the folder has no tokenizer.json or vocab.txt (see tokenizerNote). */
  readonly tokenizer?: TokenizerInfo;
  /** What the tokenizer files are when they are not readable here (a SentencePiece .model, vocab.json + merges.txt). */
  readonly tokenizerNote?: string;
}

/** Tokenizer files that Python's transformers can make a fast tokenizer (with offsets) from. */
function tokenizerFiles(folder: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return [];
  }
  const found = names.filter((n) => n === 'tokenizer.json' || n === 'vocab.txt' || n === 'merges.txt' || n === 'vocab.json' || /\.model$/.test(n));
  return found.includes('merges.txt') && !found.includes('vocab.json') ? found.filter((n) => n !== 'merges.txt') : found;
}

/**
 * The tokenizer class transformers builds for the folder: tokenizer_config.json's tokenizer_class
 * (without "Fast": transformers 5 has one class per tokenizer), else the model_type's default.
 */
export function tokenizerClass(folder: string, config: ModelConfigJson): string | undefined {
  try {
    const named = (JSON.parse(fs.readFileSync(path.join(folder, 'tokenizer_config.json'), 'utf8')) as { tokenizer_class?: unknown }).tokenizer_class;
    if (typeof named === 'string' && named) return named.replace(/Fast$/, '');
  } catch {
    // no tokenizer_config.json, or unreadable: the model_type's default
  }
  return architecture(config)?.tokenizer ?? undefined;
}

/** A tokenizer class with no fast version in transformers (BertweetTokenizer, PhobertTokenizer...): no character offsets. */
export function isSlowTokenizer(name: string | undefined): boolean {
  return name !== undefined && ARCHITECTURE_TABLE.slow_tokenizers.includes(name);
}

export async function describeModel(folder: string): Promise<ModelDescription> {
  const config = readConfigJson(folder);
  const vocab = config.vocab_size;
  let tokenizer: TokenizerInfo | undefined;
  let tokenizerNote: string | undefined;
  const files = tokenizerFiles(folder);
  const cls = tokenizerClass(folder, config);
  // A Python-only tokenizer's vocab.txt is not BERT's ("word count" lines for Bertweet): not read as one.
  if (!files.includes('tokenizer.json') && isSlowTokenizer(cls)) tokenizerNote = `${cls} (Python only, no character offsets: ${files.join(', ') || 'no files'})`;
  else if (files.includes('tokenizer.json') || files.includes('vocab.txt')) tokenizer = await describeTokenizer(folder);
  else tokenizerNote = files.length ? `${files.join(', ')} (converted to a fast tokenizer by transformers)` : 'none in the folder';
  return {
    folder,
    modelType: modelType(config),
    architectures: architectures(config),
    parameters: parameterCount(folder, config),
    maxPositions: maxPositions(config),
    vocabSize: typeof vocab === 'number' ? vocab : undefined,
    tokenizer,
    tokenizerNote,
  };
}

/** 22.7M, 110M, 1.2B. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** "WordPiece, uncased", "byte-level BPE, cased", "Unigram (SentencePiece), cased". */
export function tokenizerSummary(info: TokenizerInfo): string {
  const kind = info.kind === 'wordpiece' ? 'WordPiece' : info.kind === 'bpe' ? (info.byteLevel ? 'byte-level BPE' : 'BPE') : info.kind === 'unigram' ? 'Unigram (SentencePiece)' : 'WordLevel';
  return `${kind}, ${info.lowercase ? 'uncased' : 'cased'}${info.maskToken ? `, mask ${info.maskToken}` : ', no mask token'}${info.tokenTypeIds ? '' : ', no token type ids'}`;
}

/** The description as lines "Field: value" for the CLI and the wizard. */
export function describeLines(d: ModelDescription): string[] {
  const params = d.parameters ? `${formatCount(d.parameters.count)}${d.parameters.source === 'estimate' ? ' (estimated from config.json)' : ''}` : 'unknown';
  return [
    `Architecture: ${d.modelType || 'unknown'}${d.architectures.length ? ` (${d.architectures.join(', ')})` : ''}`,
    `Parameters: ${params}`,
    `Max positions: ${d.maxPositions ?? 'not fixed (relative positions)'}`,
    `Vocabulary: ${d.vocabSize ?? 'unknown'}`,
    `Tokenizer: ${d.tokenizer ? tokenizerSummary(d.tokenizer) : (d.tokenizerNote ?? 'unknown')}`,
  ];
}

/** Tasks needing character offsets from a fast tokenizer. */
const OFFSET_TASKS: readonly string[] = ['token_classification', 'question_answering'];

/**
 * Why `task` cannot be trained from the model folder (field model.name_or_path), or undefined: the
 * architecture's heads (taskProblem), and for NER and QA a tokenizer that can give offsets. In the
 * worker's words (architectures.json): its spec check refuses the same models.
 */
export function modelTaskProblem(folder: string, task: string): string | undefined {
  let config: ModelConfigJson;
  try {
    config = readConfigJson(folder);
  } catch (err) {
    return (err as Error).message;
  }
  const problem = taskProblem(config, task, task === 'mlm' || task === 'mlm_nsp' ? weightNames(folder) : []);
  if (problem || !OFFSET_TASKS.includes(task)) return problem;
  if (tokenizerFiles(folder).length === 0) {
    return `${task} needs the character offsets of a fast tokenizer, and ${folder} has no tokenizer files (tokenizer.json, vocab.txt, a SentencePiece .model, or vocab.json with merges.txt); copy the tokenizer files of the checkpoint into the folder.`;
  }
  const cls = tokenizerClass(folder, config);
  return isSlowTokenizer(cls) ? refusal('no_offsets', { task, model_type: modelType(config), tokenizer: cls ?? '' }) : undefined;
}

