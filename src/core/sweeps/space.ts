// A study's search space: training fields by their Trainer-style names, each a range or a list of
// choices, checked with the training fields' own rules (TRAINING_FIELDS, checkTrainingChanges) so a
// bad space gets the same clear errors as a bad field, named `space.<field>[.low|.high|.choices[i]]`.
// The worker checks the same in trainer/bert_studio_trainer/sweep_space.py.
//
//   JSON:   {"learning_rate": {"low": 1e-5, "high": 1e-4, "log": true}, "per_device_train_batch_size": {"choices": [16, 32]}}
//   inline: learning_rate=1e-5..1e-4:log,per_device_train_batch_size=16|32,num_train_epochs=1..3:step=1

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Task } from '../runs/protocol';
import { checkTrainingChanges, closestName, trainingField, trainingFieldNames } from '../runs/launch';
import type { PreflightProblem } from '../runs/spec';

export interface RangeDimension {
  readonly low: number;
  readonly high: number;
  readonly log?: boolean;
  readonly step?: number;
}
export interface ChoiceDimension {
  readonly choices: readonly unknown[];
}
export type Dimension = RangeDimension | ChoiceDimension;
export type SearchSpace = Readonly<Record<string, Dimension>>;

const DIMENSION_KEYS = ['low', 'high', 'log', 'step', 'choices'];
const EXAMPLE = '{"low": 1e-5, "high": 1e-4, "log": true} or {"choices": [16, 32]}';
/** Fields a study may not search, and why. */
const NOT_SEARCHABLE: Readonly<Record<string, string>> = {
  metric_for_best_model: "the study's objective is its metric_for_best_model, fixed for all trials; set it in the base spec (CLI --metric)",
};

function shown(v: unknown): string {
  return (JSON.stringify(v) ?? String(v)).slice(0, 60);
}

/** A value as an inline space writes it: numbers, booleans, null, else the text. */
function inlineValue(v: string): unknown {
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === 'null') return null;
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

/**
 * `--space`: a JSON file, inline JSON, or the inline form (`name=low..high[:log][:step=S]`,
 * `name=a|b|c`, comma-separated). Problems name `--space` (with the file:line of bad JSON).
 */
export function parseSpaceArg(text: string, cwd: string = process.cwd()): { space?: Record<string, unknown>; problems: PreflightProblem[] } {
  const field = '--space';
  const trimmed = text.trim();
  const file = path.resolve(cwd, trimmed);
  let json: string | undefined;
  let where = 'the inline space';
  if (trimmed.startsWith('{')) json = trimmed;
  else if (/\.json$/i.test(trimmed) || fs.existsSync(file)) {
    try {
      json = fs.readFileSync(file, 'utf8');
      where = file;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { problems: [{ field, message: `cannot read the space file ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}); give a JSON file, or the space inline (e.g. learning_rate=1e-5..1e-4:log,per_device_train_batch_size=16|32).` }] };
    }
  }
  if (json !== undefined) {
    try {
      const value = JSON.parse(json) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problems: [{ field: 'space', message: `${where} must hold a JSON object of training fields, e.g. {"learning_rate": ${EXAMPLE.split(' or ')[0]}}.` }] };
      return { space: value as Record<string, unknown>, problems: [] };
    } catch (err) {
      const m = /position (\d+)/.exec((err as Error).message);
      const line = m ? json.slice(0, Number(m[1])).split('\n').length : undefined;
      return { problems: [{ field, message: `${where}${line ? `:${line}` : ''}: not valid JSON (${(err as Error).message}); fix the JSON.` }] };
    }
  }
  const space: Record<string, unknown> = {};
  for (const part of trimmed.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { problems: [{ field, message: `"${part}" is not name=low..high or name=a|b (e.g. learning_rate=1e-5..1e-4:log); or give a JSON file.` }] };
    const name = part.slice(0, eq).trim();
    const [values, ...options] = part.slice(eq + 1).split(':').map((s) => s.trim());
    if (values.includes('..')) {
      const [low, high] = values.split('..');
      const dim: Record<string, unknown> = { low: inlineValue(low), high: inlineValue(high) };
      for (const o of options) {
        if (o === 'log') dim.log = true;
        else if (o.startsWith('step=')) dim.step = inlineValue(o.slice(5));
        else return { problems: [{ field: `space.${name}`, message: `unknown option ":${o}" in "${part}"; a range takes :log or :step=S.` }] };
      }
      space[name] = dim;
    } else if (values.includes('|') && !options.length) {
      space[name] = { choices: values.split('|').map((v) => inlineValue(v.trim())) };
    } else {
      return { problems: [{ field: `space.${name}`, message: `"${part}" fixes ${name} rather than searching it: give a range (${name}=low..high) or choices (${name}=a|b), or set a fixed value with --set ${name}=${values}.` }] };
    }
  }
  return { space, problems: [] };
}

/** The base spec's value check of one candidate value, its field renamed to where it is in the space. */
function valueProblem(task: Task, name: string, value: unknown, where: string): PreflightProblem | undefined {
  const p = checkTrainingChanges(task, { [name]: value })[0];
  return p && { field: where, message: `${where}: ${p.message}` };
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Every problem of a search space for `task` (the worker's sweep_space.py says the same): unknown
 * fields (with the closest name), fields that cannot be searched, each bound and choice against the
 * field's type and range, low < high, log only above 0, step whole for integer fields.
 * `base`: the base spec's training fields (epochs have no effect under max_steps).
 */
export function checkSpace(task: Task, space: unknown, base: Readonly<Record<string, unknown>> = {}): PreflightProblem[] {
  if (typeof space !== 'object' || space === null || Array.isArray(space)) return [{ field: 'space', message: `space must be an object of training fields to search, e.g. {"learning_rate": ${EXAMPLE.split(' or ')[0]}}, not ${shown(space)}.` }];
  const names = Object.keys(space);
  if (!names.length) return [{ field: 'space', message: 'space is empty: give at least one training field to search, e.g. learning_rate=1e-5..1e-4:log.' }];
  const problems: PreflightProblem[] = [];
  const known = trainingFieldNames(task);
  for (const name of names.sort()) {
    const where = `space.${name}`;
    const d = (space as Record<string, unknown>)[name];
    const rule = trainingField(name);
    if (!rule || !known.includes(name)) {
      // Unknown fields and fields of another task: the training check says it, about the space.
      const p = checkTrainingChanges(task, { [name]: 0 })[0];
      problems.push({ field: where, message: `${where}: ${p?.message ?? `${name} does not apply to ${task}.`}` });
      continue;
    }
    if (NOT_SEARCHABLE[name]) {
      problems.push({ field: where, message: `${where}: ${name} cannot be searched: ${NOT_SEARCHABLE[name]}.` });
      continue;
    }
    if (name === 'num_train_epochs' && isNumber(base.max_steps) && base.max_steps > 0) {
      problems.push({ field: where, message: `${where}: training.max_steps is ${base.max_steps} in the base spec, so num_train_epochs has no effect; remove max_steps (--max-steps) or num_train_epochs from the space.` });
      continue;
    }
    if (typeof d !== 'object' || d === null || Array.isArray(d)) {
      problems.push({ field: where, message: `${where} must be a range or a list of choices, such as ${EXAMPLE}, not ${shown(d)}.` });
      continue;
    }
    const dim = d as Record<string, unknown>;
    const extra = Object.keys(dim).find((k) => !DIMENSION_KEYS.includes(k));
    if (extra !== undefined) {
      const hint = closestName(extra, DIMENSION_KEYS);
      problems.push({ field: `${where}.${extra}`, message: `${where}.${extra}: unknown key;${hint ? ` did you mean ${hint}?` : ''} a dimension has low, high, log and step, or choices.` });
      continue;
    }
    if ('choices' in dim) {
      const other = Object.keys(dim).find((k) => k !== 'choices');
      if (other) {
        problems.push({ field: `${where}.${other}`, message: `${where}.${other}: choices are listed values: remove low, high, log and step, or remove choices for a range.` });
        continue;
      }
      const choices = dim.choices;
      if (!Array.isArray(choices) || !choices.length) {
        problems.push({ field: `${where}.choices`, message: `${where}.choices must be a non-empty list of values, not ${shown(choices)}.` });
        continue;
      }
      const bad = choices.map((v, i) => valueProblem(task, name, v, `${where}.choices[${i}]`)).find(Boolean);
      if (bad) problems.push(bad);
      else if (new Set(choices.map((v) => JSON.stringify(v))).size !== choices.length) problems.push({ field: `${where}.choices`, message: `${where}.choices lists a value twice (${shown(choices)}); list each once.` });
      continue;
    }
    if (!['int', 'count', 'number'].includes(rule.kind)) {
      problems.push({ field: where, message: `${where}: ${name} is not a number, so it has no range; give choices, e.g. ${name}=true|false.` });
      continue;
    }
    const missing = ['low', 'high'].find((k) => !(k in dim));
    if (missing) {
      problems.push({ field: `${where}.${missing}`, message: `${where}: a range needs low and high (e.g. ${EXAMPLE.split(' or ')[0]}); add ${missing}.` });
      continue;
    }
    const bound = ['low', 'high'].map((k) => valueProblem(task, name, dim[k], `${where}.${k}`)).find(Boolean);
    if (bound) {
      problems.push(bound);
      continue;
    }
    const low = dim.low as number;
    const high = dim.high as number;
    if (name === 'max_steps' && (low === -1 || high === -1)) problems.push({ field: where, message: `${where}: a range of max_steps cannot hold -1 (train by epochs); search num_train_epochs instead.` });
    else if (low >= high) problems.push({ field: where, message: `${where}: low (${shown(low)}) must be below high (${shown(high)}); swap them, or fix the value in the base spec instead (--set) if it should not vary.` });
    else if (dim.log !== undefined && typeof dim.log !== 'boolean') problems.push({ field: `${where}.log`, message: `${where}.log must be true or false, not ${shown(dim.log)}.` });
    else if (dim.log === true && low <= 0) problems.push({ field: `${where}.low`, message: `${where}.low: a log range needs low above 0, not ${shown(low)}; raise it or drop :log.` });
    else if (dim.step !== undefined) {
      if (!isNumber(dim.step) || dim.step <= 0) problems.push({ field: `${where}.step`, message: `${where}.step must be a number above 0, not ${shown(dim.step)}.` });
      else if (dim.log === true) problems.push({ field: `${where}.step`, message: `${where}.step: a log range has no step; remove step or log.` });
      else if (rule.kind !== 'number' && !Number.isInteger(dim.step)) problems.push({ field: `${where}.step`, message: `${where}.step: ${name} is a whole number, so step must be one too, not ${shown(dim.step)}.` });
    }
  }
  return problems;
}
