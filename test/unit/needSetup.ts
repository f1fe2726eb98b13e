/**
 * A test whose set-up is missing (shared data, the venv's Python, a built fixture model) skips on a
 * developer's machine but fails under CI (CI=true, or BERT_STUDIO_REQUIRE_SETUP=1): there a missing
 * set-up is a broken build step, not a reason to run fewer tests. Mirrors `need_setup` in
 * trainer/tests/conftest.py.
 */
export function setupRequired(): boolean {
  const flag = (v: string | undefined): boolean => !!v && v !== '0' && v.toLowerCase() !== 'false';
  return flag(process.env.BERT_STUDIO_REQUIRE_SETUP) || flag(process.env.CI);
}

/** Skips `ctx` (or fails under CI) unless `ok`; `what` names the missing set-up and how to get it. */
export function needSetup(ctx: Mocha.Context, ok: unknown, what: string): asserts ok {
  if (ok) return;
  if (setupRequired()) throw new Error(`Set-up missing under CI: ${what}`);
  ctx.skip();
}
