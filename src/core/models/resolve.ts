/**
 * Where a model named by the user is: a local folder, a run of this workspace (its best/ or model/),
 * a model in the Hugging Face cache (found offline, from the cache's own layout), or a hub id that
 * only a connected machine can fetch. An uncached hub id offline is refused at once with the fix,
 * instead of the worker waiting on the network and ending in an OSError.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { studioLayout } from '../paths';
import { bestTrialRunOf } from '../sweeps/trialProcess';

export type ModelSource = 'default' | 'folder' | 'run' | 'cache' | 'hub';

export interface ResolvedModel {
  readonly source: ModelSource;
  /** What the user gave. */
  readonly ref: string;
  /** A local Hugging Face folder (config.json inside); undefined for "default" and an uncached hub id. */
  readonly folder?: string;
  /** The hub id, for a cached or hub model. */
  readonly id?: string;
  /** The run id, for a run of this workspace. */
  readonly run?: string;
}

export interface CachedModel {
  /** owner/name (or name) as on the hub. */
  readonly id: string;
  /** The snapshot folder (models--owner--name/snapshots/<revision>), config.json inside. */
  readonly folder: string;
  readonly revision: string;
}

/** An error whose message names the model and says how to fix it (the CLI shows it as it is). */
export class ModelNotFoundError extends Error {}

/** The Hugging Face hub cache folder, as huggingface_hub finds it: HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub. */
export function hfHubCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/** Whether `ref` reads as a hub id ("bert-base-uncased", "FacebookAI/roberta-base") rather than a path. */
export function looksLikeHubId(ref: string): boolean {
  return HUB_ID.test(ref) && !ref.includes('..');
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The snapshot of a cache entry folder (models--owner--name) that refs/main names, else the newest with config.json. */
function snapshotOf(entry: string): { folder: string; revision: string } | undefined {
  const snapshots = path.join(entry, 'snapshots');
  let revisions: string[];
  try {
    revisions = fs.readdirSync(snapshots);
  } catch {
    return undefined;
  }
  let main: string | undefined;
  try {
    main = fs.readFileSync(path.join(entry, 'refs', 'main'), 'utf8').trim();
  } catch {
    main = undefined;
  }
  const usable = revisions.filter((r) => isFile(path.join(snapshots, r, 'config.json')));
  if (main && usable.includes(main)) return { folder: path.join(snapshots, main), revision: main };
  const newest = usable
    .map((r) => ({ r, t: fs.statSync(path.join(snapshots, r, 'config.json')).mtimeMs }))
    .sort((a, b) => b.t - a.t)[0];
  return newest ? { folder: path.join(snapshots, newest.r), revision: newest.r } : undefined;
}

/** Every model in the Hugging Face cache with a config.json, by id (reads folders only: no network). */
export function listCachedModels(env: NodeJS.ProcessEnv = process.env): CachedModel[] {
  const cache = hfHubCache(env);
  let names: string[];
  try {
    names = fs.readdirSync(cache);
  } catch {
    return [];
  }
  const out: CachedModel[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith('models--')) continue;
    const snap = snapshotOf(path.join(cache, name));
    if (snap) out.push({ id: name.slice('models--'.length).split('--').join('/'), ...snap });
  }
  return out;
}

/** The cached snapshot of hub id `id`, or undefined. */
export function cachedModel(id: string, env: NodeJS.ProcessEnv = process.env): CachedModel | undefined {
  if (!looksLikeHubId(id)) return undefined;
  const snap = snapshotOf(path.join(hfHubCache(env), `models--${id.split('/').join('--')}`));
  return snap ? { id, ...snap } : undefined;
}

const truthy = (v: string | undefined): boolean => !!v && !['0', 'false', 'no', 'off', ''].includes(v.toLowerCase());

/** HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set: the hub must not be asked. */
export function offlineByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE);
}

/**
 * Whether the hub answers: false at once when offline by the environment (no traffic), else a TCP
 * connection to the hub's host (HF_ENDPOINT, default huggingface.co) within `timeoutMs`.
 */
export function hubReachable(env: NodeJS.ProcessEnv = process.env, timeoutMs = 2000): Promise<boolean> {
  if (offlineByEnv(env)) return Promise.resolve(false);
  let host = 'huggingface.co';
  let port = 443;
  try {
    const url = new URL(env.HF_ENDPOINT || 'https://huggingface.co');
    host = url.hostname;
    port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  } catch {
    // a malformed HF_ENDPOINT: probe the default host
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** How to get an uncached hub model onto this machine. */
export function notCachedMessage(id: string, why: string, env: NodeJS.ProcessEnv = process.env): string {
  return (
    `the model "${id}" is not in the Hugging Face cache (${hfHubCache(env)}) and ${why}. ` +
    `Get it on a connected machine with "huggingface-cli download ${id}" (or "hf download ${id}") and copy its cache folder models--${id.split('/').join('--')} into ${hfHubCache(env)}, ` +
    `or save the model to a folder (save_pretrained) and give that folder.`
  );
}

/** The folder of a run to train or infer from: best/ (the best checkpoint) when it has one, else model/. */
export function runModelFolder(runDir: string): string | undefined {
  for (const sub of ['best', 'model']) if (isFile(path.join(runDir, sub, 'config.json'))) return path.join(runDir, sub);
  return undefined;
}

export interface ResolveOptions {
  /** The workspace whose runs may be named by id. */
  readonly workspace?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Whether the hub can be reached (default hubReachable); only asked for an uncached hub id. */
  readonly online?: () => Promise<boolean>;
  /** Relative paths are taken from here (default: the process's working folder). */
  readonly cwd?: string;
}

/**
 * Where the model `ref` is. Order: "default"; an existing path (a run folder gives its best/ or
 * model/); a run id of the workspace; a hub id in the cache; a hub id to fetch when online.
 * Throws ModelNotFoundError (with the fix) for anything else, at once when offline.
 */
export async function resolveModel(ref: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const env = opts.env ?? process.env;
  if (ref === 'default') return { source: 'default', ref };
  const local = path.resolve(opts.cwd ?? process.cwd(), ref.startsWith('~/') ? path.join(os.homedir(), ref.slice(2)) : ref);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(local);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isDirectory()) throw new ModelNotFoundError(`${ref} is a file, not a model folder; give the folder that holds config.json and the weights.`);
    if (!isFile(path.join(local, 'config.json')) && isFile(path.join(local, 'spec.json'))) {
      const folder = runModelFolder(local);
      if (!folder) throw new ModelNotFoundError(`the run folder ${ref} has no trained model yet (no best/ or model/ with config.json); pick a finished run.`);
      return { source: 'run', ref, folder, run: path.basename(local) };
    }
    return { source: 'folder', ref, folder: local };
  }
  if (opts.workspace && /^[\w.-]+$/.test(ref) && !ref.startsWith('.')) {
    const runDir = path.join(studioLayout(opts.workspace).runsDir, ref);
    if (fs.existsSync(runDir)) {
      const folder = runModelFolder(runDir);
      if (!folder) throw new ModelNotFoundError(`the run ${ref} has no trained model yet (no best/ or model/ with config.json); pick a finished run.`);
      return { source: 'run', ref, folder, run: ref };
    }
    // A study id: its best trial's run ("use best trial").
    const best = bestTrialRunOf(studioLayout(opts.workspace).studiesDir, ref);
    if (best) {
      const folder = best.run ? runModelFolder(path.join(studioLayout(opts.workspace).runsDir, best.run)) : undefined;
      if (!best.run || !folder) throw new ModelNotFoundError(`the study ${ref} has no completed trial with a model yet; wait for one ("bert-studio sweep show ${ref}"), or give a trial's run id.`);
      return { source: 'run', ref, folder, run: best.run };
    }
  }
  if (!looksLikeHubId(ref)) {
    throw new ModelNotFoundError(`no model folder ${ref}; give a Hugging Face model folder (with config.json), a run of this workspace, a hub id such as bert-base-uncased, or "default".`);
  }
  const cached = cachedModel(ref, env);
  if (cached) return { source: 'cache', ref, folder: cached.folder, id: ref };
  if (offlineByEnv(env)) throw new ModelNotFoundError(notCachedMessage(ref, 'HF_HUB_OFFLINE is set, so it cannot be downloaded', env));
  if (!(await (opts.online ?? (() => hubReachable(env)))())) throw new ModelNotFoundError(notCachedMessage(ref, 'the Hugging Face hub cannot be reached from here (offline?)', env));
  return { source: 'hub', ref, id: ref };
}
