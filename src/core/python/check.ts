// Whether an interpreter can run the trainer, asked without importing anything heavy (find_spec
// only), and which CUDA devices it sees (imports torch: asked only when a device list is needed).

import { runProcess } from '../process';

/** The packages a worker imports before it can report anything. */
export const TRAINER_MODULES = ['torch', 'transformers', 'typing_extensions'] as const;

export interface EnvironmentCheck {
  /** The interpreter ran and answered. */
  readonly ok: boolean;
  /** Modules it cannot import (empty when it can run the trainer). */
  readonly missing: string[];
  /** Why it could not be asked (no such file, it crashed). */
  readonly problem?: string;
}

const FIND = `import importlib.util as u, json, sys
print(json.dumps([m for m in sys.argv[1:] if u.find_spec(m) is None]))`;

export async function checkTrainerEnvironment(python: string, env?: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<EnvironmentCheck> {
  try {
    const r = await runProcess(python, ['-c', FIND, ...TRAINER_MODULES], { env, signal });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code === 0 && last.startsWith('[')) {
      const missing = JSON.parse(last) as unknown;
      if (Array.isArray(missing) && missing.every((m) => typeof m === 'string')) return { ok: true, missing };
    }
    return { ok: false, missing: [...TRAINER_MODULES], problem: (r.stderr.trim().split('\n').pop() ?? '') || `exit code ${r.code}` };
  } catch (err) {
    return { ok: false, missing: [...TRAINER_MODULES], problem: (err as Error).message };
  }
}

const CUDA = `import json
try:
    import torch
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    print(json.dumps([torch.cuda.get_device_name(i) for i in range(n)]))
except Exception:
    print("[]")`;

/** Names of the CUDA devices the interpreter's torch sees, by index; [] without CUDA or torch. */
export async function cudaDevices(python: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  try {
    const r = await runProcess(python, ['-c', CUDA], { env });
    const names = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as unknown;
    return Array.isArray(names) ? names.map(String) : [];
  } catch {
    return [];
  }
}

/** The device choices for a run: auto and cpu always, `cuda` and each `cuda:N` only when devices exist. */
export function deviceChoices(cuda: readonly string[]): { label: string; description: string }[] {
  return [
    { label: 'auto', description: cuda.length ? `CUDA (${cuda[0]})` : 'CPU: no CUDA device found' },
    { label: 'cpu', description: '' },
    ...(cuda.length ? [{ label: 'cuda', description: 'the first CUDA device' }] : []),
    ...(cuda.length > 1 ? cuda.map((name, i) => ({ label: `cuda:${i}`, description: name })) : []),
  ];
}
