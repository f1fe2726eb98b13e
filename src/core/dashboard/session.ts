// One dashboard webview's host side, without the vscode API (the view and panel adapt it): the
// ready handshake, the selection, one RunFollower per visible run, and throttled incremental
// updates. Messages from the webview are validated before anything acts on them.

import type { DynamicsRow } from '../analysis/cartography';
import type { Misclassified } from '../runs/protocol';
import { defaultRunId, type RunInfo, type RunStore } from '../runs/store';
import { ToHost, ToWebview, type HostMessage, type RunListItem, type Selection } from '../../../webview/dashboard/protocol';
import { loadCartography, loadSlices } from './analysisData';
import { RunFollower, type FollowOptions } from './follower';
import { describeRejected, parseWebviewMessage } from './validate';

export interface SessionHost {
  post(message: HostMessage): void;
  warn(message: string): void;
  store(): RunStore | undefined;
  /** Opens a misclassified example's source; the host checks the path. */
  openExample(runId: string, example: Misclassified): void;
  openLog(runId: string): void;
  /** The checked path of a run's dataset source file (workspace or the run's data sources), else undefined: what the data map may read and open. */
  resolveSource?(runId: string, file: string): string | undefined;
  /** "Evaluate on…" for the run (the user picks the data). */
  evaluate?(runId: string): void;
}

export interface SessionOptions extends FollowOptions {
  /** How often changes are sent to the webview. */
  readonly flushMs?: number;
  /** How often the run list is re-read. */
  readonly runsPollMs?: number;
  readonly maxCompare?: number;
}

const MAX_QUEUE = 50;
const LIVE = new Set(['starting', 'running', 'stopping']);

export class DashboardSession {
  private ready = false;
  private readonly queue: HostMessage[] = [];
  private selection: Selection = { compare: [] };
  /** Set by a command before the webview is ready: wins over the selection the webview restores. */
  private forced = false;
  private readonly followers = new Map<string, RunFollower>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private runsTimer: NodeJS.Timeout | undefined;
  private lastRuns = '';
  /** Runs live at the last run-list read: a run not in it has just started. */
  private live = new Set<string>();
  private disposed = false;
  /** Per run, the dynamics rows of the map last sent: the page names a training example by index. */
  private readonly maps = new Map<string, ReadonlyMap<number, DynamicsRow>>();

  constructor(
    private readonly host: SessionHost,
    private readonly options: SessionOptions = {},
  ) {}

  get currentSelection(): Selection {
    return this.selection;
  }

  get followed(): string[] {
    return [...this.followers.keys()];
  }

  /** Everything the webview posts goes through here. */
  receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.host.warn(`dashboard: dropped a malformed message from the webview (${describeRejected(raw)})`);
      return;
    }
    switch (msg.type) {
      case ToHost.Ready:
        this.onReady(msg.selection);
        break;
      case ToHost.Select: {
        // Not pinned ("follow the active run"): the host decides the primary run and says which.
        const next = msg.selection.pinned ? msg.selection : this.withDefaultPrimary(msg.selection, this.defaultRun());
        this.applySelection(next, next.primary !== msg.selection.primary);
        break;
      }
      case ToHost.RequestRange:
        this.post({
          type: ToWebview.Range,
          requestId: msg.requestId,
          x0: msg.x0,
          x1: msg.x1,
          runs: [...this.followers].map(([runId, f]) => ({ runId, deltas: f.model.range(msg.x0, msg.x1) })),
        });
        break;
      case ToHost.OpenExample: {
        const example = this.followers.get(msg.runId)?.model.example(msg.step, msg.index);
        if (!example) {
          this.host.warn(`dashboard: no example ${msg.index} in the evaluation at step ${msg.step} of run ${msg.runId}`);
          this.post({ type: ToWebview.Notice, message: 'That example is no longer in the latest evaluation.' });
          return;
        }
        this.host.openExample(msg.runId, example);
        break;
      }
      case ToHost.OpenLog:
        if (this.knownRun(msg.runId)) this.host.openLog(msg.runId);
        break;
      case ToHost.RequestCartography:
        if (this.knownRun(msg.runId)) {
          const { runId } = msg;
          this.sendCartography(runId).catch((err: unknown) => {
            this.host.warn(`dashboard: reading the data map of ${runId} failed: ${String(err)}`);
            this.post({ type: ToWebview.Cartography, runId, map: null, message: `Cannot read the run's training dynamics (${(err as Error).message ?? String(err)}); the extension log has the details.` });
          });
        }
        break;
      case ToHost.OpenTrainingExample: {
        const row = this.maps.get(msg.runId)?.get(msg.example);
        if (!row?.source) {
          this.host.warn(`dashboard: no source for training example ${msg.example} of run ${msg.runId}`);
          this.post({ type: ToWebview.Notice, message: 'That training example has no source line to open.' });
          return;
        }
        this.host.openExample(msg.runId, { text: '', gold: row.gold ?? '', pred: '', source: row.source });
        break;
      }
      case ToHost.EvaluateRun:
        if (this.knownRun(msg.runId)) this.host.evaluate?.(msg.runId);
        break;
      case ToHost.RequestSlices:
        if (this.knownRun(msg.runId)) {
          const { runId, evaluation, pattern, mode } = msg;
          this.sendSlices(runId, { evaluation, pattern, mode }).catch((err: unknown) => this.host.warn(`dashboard: computing the slices of ${runId} failed: ${String(err)}`));
        }
        break;
    }
  }

  private async sendCartography(runId: string): Promise<void> {
    const store = this.host.store();
    if (!store) return;
    const resolve = (file: string): string | undefined => this.host.resolveSource?.(runId, file);
    const loaded = await loadCartography(store.runDir(runId), store.get(runId).spec?.task, resolve);
    if (this.disposed) return;
    this.maps.set(runId, loaded.rows);
    this.post({ type: ToWebview.Cartography, runId, map: loaded.map, ...(loaded.message ? { message: loaded.message } : {}) });
  }

  private async sendSlices(runId: string, request: Parameters<typeof loadSlices>[1]): Promise<void> {
    const store = this.host.store();
    if (!store) return;
    const slices = await loadSlices(store.runDir(runId), request, this.followers.get(runId)?.model.evalReport());
    if (!this.disposed) this.post({ type: ToWebview.Slices, runId, slices });
  }

  /**
   * Shows a run (from a command): it becomes the primary run, pinned, the others stay overlaid.
   * Without a run id: the live run, else the most recently active one, not pinned.
   */
  show(runId: string | undefined): void {
    const id = runId ?? this.defaultRun();
    if (!id) return;
    if (!this.ready) this.forced = true;
    this.applySelection({ primary: id, compare: this.selection.compare.filter((c) => c !== id), pinned: runId !== undefined }, true);
  }

  /** A selection saved before a reload; the one the webview restores on ready takes over. */
  restore(selection: Selection): void {
    if (!this.ready) this.selection = selection;
  }

  /** The webview was hidden (and so destroyed): stop following until it says ready again. */
  hidden(): void {
    this.ready = false;
    this.maps.clear();
    this.queue.length = 0;
    this.stopTimers();
    this.unfollowAll();
  }

  private onReady(restored: Selection | undefined): void {
    this.ready = true;
    const queued = this.queue.splice(0);
    if (!this.forced && restored) this.selection = restored;
    this.forced = false;
    this.selection = this.sanitize(this.selection);
    // Only a run the user chose survives a reload; otherwise show what is running now.
    if (!this.selection.pinned || !this.selection.primary) this.selection = this.withDefaultPrimary(this.selection, this.defaultRun());
    this.lastRuns = '';
    this.sendRuns(false);
    this.post({ type: ToWebview.Selection, selection: this.selection });
    // A reloaded page has nothing: follow afresh and send every visible run in full.
    this.unfollowAll();
    this.syncFollowers();
    for (const m of queued) if (m.type === ToWebview.Notice) this.post(m);
    this.startTimers();
  }

  private applySelection(next: Selection, tellWebview: boolean): void {
    this.selection = this.sanitize(next);
    if (!this.ready) return;
    if (tellWebview) this.post({ type: ToWebview.Selection, selection: this.selection });
    this.syncFollowers();
  }

  private sanitize(s: Selection): Selection {
    const known = new Set(this.host.store()?.ids() ?? []);
    const primary = s.primary && known.has(s.primary) ? s.primary : undefined;
    const compare = [...new Set(s.compare)].filter((id) => id !== primary && known.has(id)).slice(0, this.options.maxCompare ?? 8);
    return { primary, compare, pinned: primary !== undefined && s.pinned === true };
  }

  private defaultRun(runs: readonly RunInfo[] | undefined = this.host.store()?.list()): string | undefined {
    return runs ? defaultRunId(runs) : undefined;
  }

  private withDefaultPrimary(s: Selection, id: string | undefined): Selection {
    return id ? { primary: id, compare: s.compare.filter((c) => c !== id), pinned: false } : { ...s, pinned: false };
  }

  private knownRun(id: string): boolean {
    return this.host.store()?.ids().includes(id) ?? false;
  }

  private visible(): string[] {
    return [...(this.selection.primary ? [this.selection.primary] : []), ...this.selection.compare];
  }

  /** Follows exactly the visible runs; a newly followed run is sent in full. */
  private syncFollowers(): void {
    const store = this.host.store();
    const want = new Set(this.visible());
    for (const [id, f] of this.followers) {
      if (!want.has(id)) {
        f.dispose();
        this.followers.delete(id);
        this.dirty.delete(id);
      }
    }
    if (!store) return;
    for (const id of want) {
      if (this.followers.has(id)) continue;
      let follower: RunFollower;
      try {
        follower = new RunFollower(store, id, () => this.dirty.add(id), this.options);
      } catch (err) {
        this.host.warn(`dashboard: cannot follow run ${id}: ${String(err)}`);
        continue;
      }
      this.followers.set(id, follower);
      this.sendSnapshot(id, follower);
    }
  }

  private sendSnapshot(runId: string, f: RunFollower): void {
    const snap = f.model.snapshot();
    this.dirty.delete(runId);
    this.post({ type: ToWebview.Series, runId, reset: true, deltas: snap.series });
    this.post({ type: ToWebview.Summary, runId, summary: snap.summary });
    this.post({ type: ToWebview.Eval, runId, report: snap.eval });
    this.post({ type: ToWebview.Logs, runId, reset: true, lines: snap.logs });
  }

  /** Sends what changed in each visible run since the last flush. */
  flush(): void {
    if (!this.ready) return;
    for (const id of [...this.dirty]) {
      this.dirty.delete(id);
      const f = this.followers.get(id);
      if (!f) continue;
      const d = f.model.drain();
      if (d.series.length) this.post({ type: ToWebview.Series, runId: id, reset: false, deltas: d.series });
      if (d.summary) this.post({ type: ToWebview.Summary, runId: id, summary: d.summary });
      if (d.eval) this.post({ type: ToWebview.Eval, runId: id, report: d.eval });
      if (d.logs.length) this.post({ type: ToWebview.Logs, runId: id, reset: false, lines: d.logs });
    }
  }

  /**
   * Sends the run list when it changed; an unpinned dashboard then moves to the default run (a
   * run that started, or the live one that ended and left another live one).
   */
  sendRuns(followDefault = true): void {
    const infos = this.host.store()?.list() ?? [];
    const runs: RunListItem[] = infos.map((r) => ({
      id: r.id,
      name: r.spec?.name ?? r.id,
      task: r.spec?.task ?? '',
      state: r.state,
      step: r.status?.step,
      maxSteps: r.status?.max_steps ?? undefined,
    }));
    const live = new Set(infos.filter((r) => LIVE.has(r.state)).map((r) => r.id));
    const started = infos.filter((r) => live.has(r.id) && !this.live.has(r.id));
    this.live = live;
    const key = JSON.stringify(runs);
    if (key === this.lastRuns) return;
    this.lastRuns = key;
    this.post({ type: ToWebview.Runs, runs });
    if (!followDefault || !this.ready || this.selection.pinned) return;
    // Following sticks to one run while it lives: it moves to a run that starts, or on once it ends.
    const current = this.selection.primary;
    const id = started.length ? this.defaultRun(started) : current && live.has(current) ? current : this.defaultRun(infos);
    if (id && id !== current) this.applySelection(this.withDefaultPrimary(this.selection, id), true);
  }

  private post(message: HostMessage): void {
    if (this.disposed) return;
    if (this.ready) {
      this.host.post(message);
      return;
    }
    // Before the handshake only notices are worth keeping: data is sent in full on ready.
    if (message.type !== ToWebview.Notice) return;
    this.queue.push(message);
    if (this.queue.length > MAX_QUEUE) this.queue.shift();
  }

  private startTimers(): void {
    this.stopTimers();
    this.flushTimer = setInterval(() => this.flush(), this.options.flushMs ?? 250);
    this.runsTimer = setInterval(() => this.sendRuns(), this.options.runsPollMs ?? 3000);
  }

  private stopTimers(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.runsTimer) clearInterval(this.runsTimer);
    this.flushTimer = undefined;
    this.runsTimer = undefined;
  }

  private unfollowAll(): void {
    for (const f of this.followers.values()) f.dispose();
    this.followers.clear();
    this.dirty.clear();
  }

  dispose(): void {
    this.disposed = true;
    this.ready = false;
    this.stopTimers();
    this.unfollowAll();
  }
}
