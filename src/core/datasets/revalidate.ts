// Re-validation on save: the files of every dataset validated or imported in this session map to
// the request that covers them; saving one re-validates that request once the saves settle.

import * as path from 'node:path';
import type { DatasetRequest } from './types';

export class RevalidateOnSave {
  private readonly watched = new Map<string, DatasetRequest>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** `validate` runs the request (its errors are the caller's to report). */
  constructor(
    private readonly validate: (request: DatasetRequest) => unknown,
    private readonly delayMs = 300,
  ) {}

  /** Watches every split file of `request`; a later request for the same file replaces it. */
  remember(request: DatasetRequest): void {
    for (const f of [request.files.train, request.files.validation, request.files.test]) if (f) this.watched.set(path.resolve(f), request);
  }

  /** The request covering `file`, if one is watched. */
  requestFor(file: string): DatasetRequest | undefined {
    return this.watched.get(path.resolve(file));
  }

  /** A file was saved: schedules its request (again) and says whether it is watched. */
  saved(file: string): boolean {
    const key = path.resolve(file);
    const request = this.watched.get(key);
    if (!request) return false;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.validate(request);
      }, this.delayMs),
    );
    return true;
  }

  dispose(): void {
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
  }
}
