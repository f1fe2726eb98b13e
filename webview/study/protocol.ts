// Messages between the study view (a hyperparameter search: trials table, objective per trial,
// parameters against the objective; the page is webview/dashboard/studyPage.ts) and the extension
// host, typed once as guards like the dashboard's (webview/dashboard/protocol.ts). The host reads
// the study's status.json (trainer/.../sweep.py) and sends it whole when it changes; the page
// sends only run ids it was given.

import { arrayOf, either, int, message, nullable, num, object, oneOf, optional, recordOf, str, tagged, type Infer } from '../../src/shared/guard';
import { RUN_ID_PATTERN } from '../../src/shared/runId';

const runId = str(200, RUN_ID_PATTERN);
const paramValue = either(either(num(), str(200)), either(oneOf(true, false), oneOf(null)));

export const STUDY_TRIAL = object({
  number: int(0),
  state: oneOf('waiting', 'running', 'completed', 'pruned', 'failed', 'interrupted'),
  params: recordOf(paramValue, 64),
  value: optional(nullable(num())),
  run: optional(nullable(runId)),
  intermediate: optional(arrayOf(arrayOf(num(), 2, 2))),
  retry_of: optional(int(0)),
  error: optional(str(2000)),
  pruned_at: optional(int(0)),
});
export type StudyTrial = Infer<typeof STUDY_TRIAL>;

/** Per searched field: whether its axis is logarithmic (a log range). */
export const STUDY_VIEW = object({
  id: str(200),
  name: str(400),
  state: str(40),
  message: optional(str(2000)),
  metric: str(100),
  direction: oneOf('minimize', 'maximize'),
  nTrials: int(0),
  finished: int(0),
  logParams: arrayOf(str(100), 64),
  trials: arrayOf(STUDY_TRIAL, 10_000),
  best: nullable(object({ trial: int(0), run: nullable(runId), value: num() })),
});
export type StudyView = Infer<typeof STUDY_VIEW>;

export const ToWebview = { study: 'study' } as const;
export const ToHost = { ready: 'ready', openRun: 'openRun', useBest: 'useBest' } as const;

export const STUDY_HOST_MESSAGE = tagged({ [ToWebview.study]: message(ToWebview.study, { study: STUDY_VIEW }) });
export type StudyHostMessage = Infer<typeof STUDY_HOST_MESSAGE>;

export const STUDY_WEBVIEW_MESSAGE = tagged({
  [ToHost.ready]: message(ToHost.ready),
  [ToHost.openRun]: message(ToHost.openRun, { run: runId }),
  [ToHost.useBest]: message(ToHost.useBest),
});
export type StudyWebviewMessage = Infer<typeof STUDY_WEBVIEW_MESSAGE>;
