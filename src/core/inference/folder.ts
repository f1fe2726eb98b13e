/** Where a model's ONNX files and its config/tokenizer are, and what the config says. */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { maxPositions } from '../models/config';
import type { InferenceTask } from './types';

export interface ModelFolder {
  /** Folder holding model.onnx (and model_quantized.onnx, model_attentions.onnx when exported). */
  readonly onnxDir: string;
  /** Folder holding config.json and tokenizer.json (or, for an old BERT checkpoint, vocab.txt). */
  readonly metaDir: string;
}

const has = (dir: string, file: string): boolean => existsSync(path.join(dir, file));

/**
 * Accepts a run folder (run/onnx/), an export folder (model.onnx beside config.json), or a
 * transformers.js layout (onnx/model.onnx with config.json one level up).
 */
export function resolveModelFolder(folder: string): ModelFolder {
  const root = path.resolve(folder);
  const candidates: ModelFolder[] = [
    { onnxDir: root, metaDir: root },
    { onnxDir: path.join(root, 'onnx'), metaDir: path.join(root, 'onnx') },
    { onnxDir: path.join(root, 'onnx'), metaDir: root },
  ];
  for (const c of candidates) {
    if (has(c.onnxDir, 'model.onnx') && has(c.metaDir, 'config.json') && (has(c.metaDir, 'tokenizer.json') || has(c.metaDir, 'vocab.txt'))) return c;
  }
  if (has(root, 'model.onnx') || has(path.join(root, 'onnx'), 'model.onnx')) {
    throw new Error(`${folder} has an ONNX model but no config.json and tokenizer.json (or vocab.txt) beside it: copy them from the checkpoint it was exported from.`);
  }
  throw new Error(`No ONNX export in ${folder}: expected model.onnx (or onnx/model.onnx), as a finished training run writes.`);
}

export interface ModelConfig {
  readonly architecture: string;
  readonly labels: readonly string[];
  /**
   * Tokens per sequence the engine feeds the model: 512 or the model's positions if fewer
   * (max_position_embeddings, less RoBERTa's offset of pad_token_id + 1), and
   * for a model pretrained from scratch (config `bert_studio_from_scratch`) no more than the length
   * it was trained to: its later positions never learnt anything.
   */
  readonly maxLength: number;
  /**
   * config.json `bert_studio_trained_max_length`: the max_seq_length of the run that trained (or
   * fine-tuned) the model. Informative for a fine-tuned model, whose longer positions were pretrained.
   */
  readonly trainedMaxLength?: number;
  readonly vocabSize: number;
  /**
   * Set for a multi-label classifier (config problem_type "multi_label_classification", as the
   * trainer writes with data.multi_label): one sigmoid per label, and the decision threshold
   * (config multi_label_threshold, default 0.5).
   */
  readonly multiLabelThreshold?: number;
  /** config `bert_studio_text_pair`: a classifier trained on sentence pairs (MRPC, RTE), fed two segments. */
  readonly textPair?: boolean;
}

export function readModelConfig(metaDir: string): ModelConfig {
  const raw: unknown = JSON.parse(readFileSync(path.join(metaDir, 'config.json'), 'utf8'));
  if (typeof raw !== 'object' || raw === null) throw new Error(`config.json in ${metaDir} is not an object.`);
  const c = raw as Record<string, unknown>;
  const arch = Array.isArray(c.architectures) && typeof c.architectures[0] === 'string' ? c.architectures[0] : '';
  const labels: string[] = [];
  if (typeof c.id2label === 'object' && c.id2label !== null) {
    for (const [k, v] of Object.entries(c.id2label)) if (/^\d+$/.test(k) && typeof v === 'string') labels[Number(k)] = v;
  }
  for (let i = 0; i < labels.length; i++) labels[i] ??= `LABEL_${i}`;
  const maxPos = maxPositions(c) ?? 512;
  const trained = c.bert_studio_trained_max_length;
  const trainedMaxLength = typeof trained === 'number' && Number.isInteger(trained) && trained >= 3 ? trained : undefined;
  return {
    architecture: arch,
    labels,
    maxLength: Math.min(512, maxPos, c.bert_studio_from_scratch === true && trainedMaxLength !== undefined ? trainedMaxLength : 512),
    ...(trainedMaxLength !== undefined ? { trainedMaxLength } : {}),
    vocabSize: typeof c.vocab_size === 'number' ? c.vocab_size : 0,
    ...(c.problem_type === 'multi_label_classification' ? { multiLabelThreshold: typeof c.multi_label_threshold === 'number' ? c.multi_label_threshold : 0.5 } : {}),
    ...(c.bert_studio_text_pair === true ? { textPair: true } : {}),
  };
}

/** The task from the architecture, else from the graph's outputs. */
export function detectTask(config: ModelConfig, outputNames: readonly string[], logitsRank: number | undefined): InferenceTask {
  const a = config.architecture;
  if (/ForMaskedLM$|ForPreTraining$/.test(a)) return 'fill-mask';
  if (/ForSequenceClassification$/.test(a)) return 'sequence-classification';
  if (/ForTokenClassification$/.test(a)) return 'token-classification';
  if (/ForQuestionAnswering$/.test(a)) return 'question-answering';
  if (outputNames.includes('start_logits')) return 'question-answering';
  if (outputNames.includes('seq_relationship_logits')) return 'fill-mask';
  if (logitsRank === 2) return 'sequence-classification';
  return config.labels.length > 0 && config.labels.length < config.vocabSize ? 'token-classification' : 'fill-mask';
}
