// The one way a training run is made, for the New Training Run wizard, Duplicate with Changes and
// `bert-studio train`: build the spec from a dataset snapshot (its manifest read once, by
// runInputsFromManifest) or files, check everything that can be checked before any Python starts
// (fields, ranges, files, labels, the model's length, device, Python), and only when nothing is
// wrong make the run folder with spec.json (RunStore.create). A refused run leaves no folder.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotRunInputs, type SnapshotRunInputs } from '../datasets/snapshot';
import { modelTaskProblem } from '../models/describe';
import { cachedModel, hubReachable, looksLikeHubId, ModelNotFoundError, notCachedMessage, offlineByEnv, resolveModel } from '../models/resolve';
import { modelLayerCount, modelMaxPositions, splitLabels } from './launch';
import { TASKS, type Task } from './protocol';
import { buildSpec, preflight, type PreflightProblem } from './spec';
import type { RunSpec, RunStore } from './store';

/** What the user asked for; every field may be wrong, and each problem is reported. */
export interface RunRequest {
  /** Taken from the dataset's manifest when left out. */
  readonly task?: string;
  /** A local Hugging Face folder, a run of the workspace (id or folder), a hub id (cached or online), or "default". */
  readonly model?: string;
  /** An imported dataset snapshot's id (`.bert-studio/datasets/<id>`), instead of files. */
  readonly dataset?: string;
  readonly train?: string;
  readonly validation?: string;
  readonly training?: Readonly<Record<string, unknown>>;
  readonly maxTrainSamples?: unknown;
  readonly maxEvalSamples?: unknown;
  readonly multiLabel?: boolean;
  readonly labelDelimiter?: string;
  readonly device?: string;
  readonly name?: string;
  readonly export?: boolean;
}

export interface RunEnvironment {
  readonly datasetsDir: string;
  /** The worker's Python; undefined when there is none (a problem). */
  readonly python?: string;
  /** The shipped default model's folder (for its maximum length); undefined when unknown. */
  readonly defaultModel?: () => Promise<string | undefined>;
  /** Relative file paths are taken from here (default: the process's working folder). */
  readonly cwd?: string;
  /** The workspace whose runs --model may name by id. */
  readonly workspace?: string;
  /** Environment for the Hugging Face cache and HF_HUB_OFFLINE (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Whether the hub can be reached (default: HF_HUB_OFFLINE, else a short probe); asked only for an uncached hub id. */
  readonly online?: () => Promise<boolean>;
}

export interface RunPlan {
  /** Undefined only when the request is too broken to build one (no task, no data). */
  readonly spec?: RunSpec;
  readonly problems: PreflightProblem[];
  /** From the snapshot's manifest, when the run trains on one. */
  readonly snapshot?: SnapshotRunInputs;
}

export interface CreatedRun {
  readonly spec: RunSpec;
  readonly id: string;
  readonly dir: string;
}

const PRETRAINING: readonly string[] = ['mlm', 'mlm_nsp'];
const SNIFF_BYTES = 64 * 1024;
const MAX_FOLDER_FILES = 10_000;

/** Why a data file cannot be read as text: missing, a folder, a device, unreadable, empty or binary. */
export async function dataFileProblem(field: string, file: string, task: Task): Promise<PreflightProblem | undefined> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    return { field, message: `no such file: ${file}. Check the path, or import the data first ("bert-studio dataset import FILE") and train on the snapshot (--dataset ID).` };
  }
  if (st.isDirectory()) {
    if (!PRETRAINING.includes(task)) return { field, message: `${file} is a folder; give a data file (a folder of .txt files is a corpus only for mlm and mlm_nsp).` };
    let names: string[];
    try {
      names = (await fs.promises.readdir(file)).filter((n) => n.endsWith('.txt')).sort();
    } catch (err) {
      return { field, message: `cannot read the folder ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check its permissions.` };
    }
    if (!names.length) return { field, message: `the folder ${file} holds no .txt files; a pretraining corpus folder needs .txt files (one sentence per line, blank lines between documents).` };
    for (const name of names.slice(0, MAX_FOLDER_FILES)) {
      const problem = await dataFileProblem(field, path.join(file, name), task);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!st.isFile()) return { field, message: `${file} is not a regular file (a device, pipe or socket); give a data file.` };
  let head: Buffer;
  try {
    const fd = await fs.promises.open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
      const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fd.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { field, message: `cannot read ${file}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? 'error')}; make it readable (chmod +r) or copy it somewhere readable.` };
  }
  if (!head.length) return { field, message: `${file} is empty; give a file with training data.` };
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    return { field, message: `${file} is UTF-16 text; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8), then give the new file.` };
  }
  const nul = head.indexOf(0);
  if (nul >= 0) {
    return { field, message: `${file} looks binary (a NUL byte at offset ${nul}), not text data; give a CSV, TSV, JSONL, CoNLL, SQuAD JSON or .txt file (UTF-16 text: save it as UTF-8).` };
  }
  return undefined;
}

/** A model reference that names a local folder but is not a usable one: the worker's rules (models.py). */
function modelProblem(model: string, trustPickle: boolean): PreflightProblem | undefined {
  const field = 'model.name_or_path';
  if (model === 'default') return undefined;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(model);
  } catch {
    st = undefined;
  }
  if (!st) {
    const looksLikePath = /^[.~/]/.test(model) || model.includes('\\') || (model.match(/\//g) ?? []).length > 1;
    if (looksLikePath || !/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(model)) {
      return { field, message: `no model folder ${model}; give a Hugging Face model folder (with config.json), a hub id such as bert-base-uncased, or "default".` };
    }
    return undefined; // a hub id: the worker fetches it
  }
  if (!st.isDirectory() || !fs.existsSync(path.join(model, 'config.json'))) {
    return { field, message: `${model} is not a Hugging Face model folder (no config.json); give the folder that holds config.json and the weights.` };
  }
  const has = (f: string): boolean => fs.existsSync(path.join(model, f));
  if (!has('model.safetensors') && !has('model.safetensors.index.json')) {
    if (has('pytorch_model.bin') || has('pytorch_model.bin.index.json')) {
      if (!trustPickle) return { field, message: `${model} has only pickled weights (pytorch_model.bin), which can run code when loaded; convert them to safetensors, or set model.trust_pickle to true if you trust the source.` };
    } else return { field, message: `no model weights (model.safetensors) in ${model}; give a folder with the weights.` };
  }
  return undefined;
}

/** A hub id the worker could not fetch: not in the Hugging Face cache, and offline (at once, without the worker's 53 s wait). */
async function hubProblem(model: string, env: RunEnvironment): Promise<PreflightProblem | undefined> {
  if (model === 'default' || fs.existsSync(model) || !looksLikeHubId(model) || cachedModel(model, env.env)) return undefined;
  const e = env.env ?? process.env;
  if (offlineByEnv(e)) return { field: 'model.name_or_path', message: notCachedMessage(model, 'HF_HUB_OFFLINE is set, so it cannot be downloaded', e) };
  if (!(await (env.online ?? (() => hubReachable(e)))())) return { field: 'model.name_or_path', message: notCachedMessage(model, 'the Hugging Face hub cannot be reached from here (offline?)', e) };
  return undefined;
}

/**
 * Every problem of a spec that can be found before the worker starts: `preflight`'s field checks
 * plus the files (exist, regular, readable, text), the model folder and its length, and the labels
 * of the snapshot's splits. Used for new runs and for Duplicate with Changes.
 */
export async function checkRunSpec(spec: RunSpec, env: RunEnvironment): Promise<PreflightProblem[]> {
  const problems: PreflightProblem[] = [];
  const task = spec.task;
  const valid = (TASKS as readonly string[]).includes(task);
  const data = spec.data as Partial<RunSpec['data']> | undefined;
  if (valid && data && typeof data.train === 'string' && data.train) {
    const p = await dataFileProblem('data.train', data.train, task);
    if (p) problems.push(p);
  }
  if (valid && data && typeof data.validation === 'string' && data.validation) {
    const p = await dataFileProblem('data.validation', data.validation, task);
    if (p) problems.push(p);
  }
  if (env.python && /[\\/]/.test(env.python) && !fs.existsSync(env.python)) {
    problems.push({ field: 'python', message: `no Python at ${env.python}; give the Python of the training environment (scripts/setup.sh makes .venv; CLI --python PATH, or bertStudio.pythonPath).` });
  }
  const model = typeof spec.model?.name_or_path === 'string' ? spec.model.name_or_path : '';
  const modelIssue = model ? (modelProblem(model, spec.model.trust_pickle === true) ?? (await hubProblem(model, env))) : undefined;
  if (modelIssue) problems.push(modelIssue);
  const folder = !model || modelIssue ? undefined : model === 'default' ? await env.defaultModel?.() : fs.existsSync(model) ? model : cachedModel(model, env.env)?.folder;
  const taskIssue = folder && valid ? modelTaskProblem(folder, task) : undefined;
  if (taskIssue) problems.push({ field: task === 'mlm' || task === 'mlm_nsp' ? 'task' : 'model.name_or_path', message: taskIssue });
  const filesOk = !problems.some((p) => p.field.startsWith('data.'));
  const [trainLabels, validationLabels] = filesOk && valid ? await Promise.all([splitLabels(data?.train, task), splitLabels(data?.validation, task)]) : [undefined, undefined];
  const fields = preflight({ spec, trainLabels, validationLabels, modelMaxLength: modelMaxPositions(folder), modelLayers: modelLayerCount(folder), pythonPath: env.python });
  // preflight also reports a missing model or data; the file checks above said it more precisely.
  const seen = new Set(problems.map((p) => p.field));
  return [...problems, ...fields.filter((p) => !seen.has(p.field))];
}

function resolveFrom(cwd: string | undefined, file: string | undefined): string | undefined {
  return file ? path.resolve(cwd ?? process.cwd(), file) : undefined;
}

/** The spec a request makes and every problem with it (nothing is written). */
export async function planRun(req: RunRequest, env: RunEnvironment): Promise<RunPlan> {
  const problems: PreflightProblem[] = [];
  let snapshot: SnapshotRunInputs | undefined;
  if (req.dataset !== undefined) {
    if (req.train || req.validation) problems.push({ field: 'dataset', message: 'give either a dataset snapshot (--dataset ID) or files (--train/--validation), not both.' });
    try {
      snapshot = await snapshotRunInputs(env.datasetsDir, req.dataset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = /Invalid dataset id/.test((err as Error).message)
        ? `"${req.dataset}" is not a dataset id (letters, digits, ".", "_" and "-")`
        : code === 'ENOENT'
          ? `no dataset "${req.dataset}" in ${env.datasetsDir}`
          : `the dataset "${req.dataset}" has a broken manifest.json (${(err as Error).message})`;
      problems.push({ field: 'dataset', message: `${why}; import one with "bert-studio dataset import FILE" (or Import Dataset) and use its id ("bert-studio dataset list" shows them).` });
    }
  } else if (!req.train) {
    problems.push({ field: 'data.train', message: 'no training data: give a dataset snapshot (--dataset ID) or a training file (--train FILE).' });
  }
  const taskName = req.task ?? snapshot?.task;
  let task: Task | undefined;
  if (taskName === undefined) {
    if (!problems.some((p) => p.field === 'dataset')) problems.push({ field: 'task', message: `no task: choose one of ${TASKS.join(', ')} (--task).` });
  } else if (!(TASKS as readonly string[]).includes(taskName)) problems.push({ field: 'task', message: `unknown task "${taskName}"; use one of ${TASKS.join(', ')}.` });
  else task = taskName as Task;
  if (task && snapshot && snapshot.task !== task) {
    problems.push({ field: 'task', message: `the dataset "${req.dataset}" was imported for ${snapshot.task}, not ${task}; leave --task out or import the data again for ${task}.` });
  }
  if (task && task !== 'sequence_classification' && (req.multiLabel === true || req.labelDelimiter !== undefined)) {
    problems.push({ field: 'data.multi_label', message: `a set of labels per example (--multi-label, --label-delimiter) is only for sequence_classification, not ${task}: remove the flag.` });
  }
  const train = snapshot?.train ?? resolveFrom(env.cwd, req.train);
  if (!task || !train) return { problems, snapshot };
  // A run of the workspace trains from its best/ or model/ folder; a cached hub model from its snapshot folder (no network).
  let model = req.model ?? 'default';
  try {
    const resolved = await resolveModel(model, { workspace: env.workspace, env: env.env, cwd: env.cwd, online: async () => true });
    if (resolved.folder && (resolved.source === 'run' || resolved.source === 'cache')) model = resolved.folder;
  } catch (err) {
    if (!(err instanceof ModelNotFoundError)) throw err; // checkRunSpec names the problem with the model
  }
  const spec = buildSpec({
    task,
    model,
    train,
    validation: snapshot ? snapshot.validation : resolveFrom(env.cwd, req.validation),
    device: req.device ?? 'auto',
    training: req.training,
    name: req.name ?? `${task}-${req.dataset ?? path.basename(train).replace(/\.[^.]+$/, '')}`,
    datasetId: snapshot ? req.dataset : undefined,
    labels: snapshot?.labels,
    export: req.export,
    // The snapshot's manifest says whether each example has a set of labels: no question, no flag.
    multiLabel: req.multiLabel === true || snapshot?.multiLabel === true || req.labelDelimiter !== undefined,
    labelDelimiter: req.labelDelimiter,
    maxTrainSamples: req.maxTrainSamples,
    maxEvalSamples: req.maxEvalSamples,
  });
  problems.push(...(await checkRunSpec(spec, env)).filter((p) => !problems.some((q) => q.field === p.field)));
  return { spec, problems, snapshot };
}

/**
 * Makes a run from a request (or an existing spec, for Duplicate with Changes): the spec and every
 * problem; the run folder only when there are none.
 */
export async function createRun(store: RunStore, source: { request: RunRequest } | { spec: RunSpec }, env: RunEnvironment): Promise<{ spec?: RunSpec; problems: PreflightProblem[]; run?: CreatedRun }> {
  const plan = 'spec' in source ? { spec: source.spec, problems: await checkRunSpec(source.spec, env) } : await planRun(source.request, env);
  if (plan.problems.length || !plan.spec) return { spec: plan.spec, problems: plan.problems };
  const { id, dir } = store.create(plan.spec.name ?? plan.spec.task, plan.spec);
  return { spec: plan.spec, problems: [], run: { spec: plan.spec, id, dir } };
}
