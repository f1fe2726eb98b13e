// Follows one run folder for a dashboard: events.jsonl through JsonlTail, worker.log through a
// LineTail started near its end, status.json on a timer. Everything comes from the files, so it attaches just as well
// to a run that started before the window was reloaded. Plain Node: no vscode import.

import * as path from 'node:path';
import type { RunStore } from '../runs/store';
import { JsonlTail, LineTail } from '../runs/tail';
import { WORKER_LOG } from '../runs/worker';
import { RunModel } from './model';

export interface FollowOptions {
  readonly eventsPollMs?: number;
  readonly statusPollMs?: number;
  readonly logPollMs?: number;
  readonly maxBuckets?: number;
}

/** How much of worker.log a dashboard shows when it attaches. */
export const LOG_TAIL = { lastLines: 200, lastBytes: 64 * 1024 } as const;

export class RunFollower {
  readonly model: RunModel;
  private readonly events: JsonlTail;
  private readonly log: LineTail;
  private readonly timer: NodeJS.Timeout;
  private disposed = false;

  constructor(
    private readonly store: RunStore,
    readonly runId: string,
    private readonly onChange: () => void,
    options: FollowOptions = {},
  ) {
    const dir = store.runDir(runId);
    this.model = new RunModel(options.maxBuckets);
    this.readStatus();
    this.events = new JsonlTail(path.join(dir, 'events.jsonl'), (events) => {
      this.model.ingest(events);
      this.changed();
    });
    // A log can reach hundreds of megabytes over a long run: only its last lines, then what is appended.
    this.log = new LineTail(
      path.join(dir, WORKER_LOG),
      (lines) => {
        this.model.addLogLines(lines);
        this.changed();
      },
      { fromEnd: LOG_TAIL },
    );
    this.events.start(options.eventsPollMs ?? 500);
    this.log.start(options.logPollMs ?? 1000);
    this.timer = setInterval(() => {
      this.readStatus();
      this.changed();
    }, options.statusPollMs ?? 2000);
  }

  private readStatus(): void {
    try {
      const info = this.store.get(this.runId);
      this.model.setStatus(info.status, info.state);
    } catch {
      // A deleted run folder: keep what was read.
    }
  }

  private changed(): void {
    if (!this.disposed) this.onChange();
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.timer);
    this.events.dispose();
    this.log.dispose();
  }
}
