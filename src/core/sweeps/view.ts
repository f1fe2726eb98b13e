// What the extension shows of studies, without `vscode`: the Runs view's grouping of trials under
// their study, and the study view's data (webview/study/protocol.ts STUDY_VIEW).

import type { StudyView } from '../../../webview/study/protocol';
import type { StudyInfo } from './study';

/** What the page draws: the study's status.json, with the definition's name and which axes are logarithmic. */
export function studyView(info: StudyInfo): StudyView {
  const s = info.status;
  const space = (info.definition?.space ?? {}) as Record<string, { log?: unknown }>;
  return {
    id: info.id,
    name: info.definition?.name ?? info.id,
    state: info.state,
    message: s?.message,
    metric: s?.metric ?? String(info.definition?.spec.training.metric_for_best_model ?? 'objective'),
    direction: s?.direction ?? 'maximize',
    nTrials: info.definition?.n_trials ?? s?.n_trials ?? 0,
    finished: s?.finished ?? 0,
    logParams: Object.keys(space).filter((k) => space[k]?.log === true),
    trials: [...(s?.trials ?? [])],
    best: s?.best ? { trial: s.best.trial, run: s.best.run, value: s.best.value } : null,
  };
}

type TrialLike = { readonly id: string; readonly spec?: { readonly study?: { readonly id: string; readonly trial: number } } };

/**
 * Whether a run is one of the study's trials: its spec names the study and its id is the driver's
 * `<study id>-tNNN` (a run duplicated from a trial keeps the spec's `study` but is no trial).
 */
function trialOf(run: TrialLike, studyId: string): boolean {
  return run.spec?.study?.id === studyId && run.id.startsWith(`${studyId}-t`);
}

/**
 * The Runs view's top level: runs outside any study, and one entry per study in place of its trials
 * (where its newest trial would be; a study with no trial run yet first). A trial whose study
 * folder is gone is shown as a plain run.
 */
export function groupRuns<R extends TrialLike>(runs: readonly R[], studies: readonly StudyInfo[]): ({ run: R } | { study: StudyInfo })[] {
  const placed = new Set<string>();
  const out: ({ run: R } | { study: StudyInfo })[] = studies.filter((s) => !runs.some((r) => trialOf(r, s.id))).map((study) => ({ study }));
  for (const run of runs) {
    const study = studies.find((s) => trialOf(run, s.id));
    if (!study) out.push({ run });
    else if (!placed.has(study.id)) {
      placed.add(study.id);
      out.push({ study });
    }
  }
  return out;
}

/** A study's trial runs, by trial number. */
export function trialRuns<R extends TrialLike>(runs: readonly R[], studyId: string): R[] {
  return runs.filter((r) => trialOf(r, studyId)).sort((a, b) => (a.spec?.study?.trial ?? 0) - (b.spec?.study?.trial ?? 0));
}
