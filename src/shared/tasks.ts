// The training tasks, named the same in the host, the pages and the worker (spec.json `task`).

export const TASKS = ['sequence_classification', 'token_classification', 'question_answering', 'mlm', 'mlm_nsp'] as const;
export type Task = (typeof TASKS)[number];
