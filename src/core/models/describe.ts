/**
 * What a model folder is, shown before a run is launched: architecture, parameters, max positions,
 * vocabulary, tokenizer type and casing. From config.json, the safetensors header and the tokenizer
 * files alone: nothing is loaded, no native code runs.
 */
import * as fs from 'node:fs';
import { describeTokenizer } from '../inference/tokenizer';
import type { TokenizerInfo } from '../inference/tokenizerInfo';
import { architectures, maxPositions, modelType, parameterCount, readConfigJson, taskProblem, type ParameterCount } from './config';

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

export async function describeModel(folder: string): Promise<ModelDescription> {
  const config = readConfigJson(folder);
  const vocab = config.vocab_size;
  let tokenizer: TokenizerInfo | undefined;
  let tokenizerNote: string | undefined;
  const files = tokenizerFiles(folder);
  if (files.includes('tokenizer.json') || files.includes('vocab.txt')) tokenizer = await describeTokenizer(folder);
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
 * Why `task` cannot be trained from the model folder (field model.name_or_path), or undefined:
 * the architecture's heads (taskProblem), and for NER and QA a tokenizer that can give offsets.
 */
export function modelTaskProblem(folder: string, task: string): string | undefined {
  let problem: string | undefined;
  try {
    problem = taskProblem(readConfigJson(folder), task);
  } catch (err) {
    return (err as Error).message;
  }
  if (problem) return problem;
  if (OFFSET_TASKS.includes(task) && tokenizerFiles(folder).length === 0) {
    return `${task} needs the character offsets of a fast tokenizer, and ${folder} has no tokenizer files (tokenizer.json, vocab.txt, a SentencePiece .model, or vocab.json with merges.txt); copy the tokenizer files of the checkpoint into the folder.`;
  }
  return undefined;
}

