// The one runtime type guard for everything that crosses a trust boundary: messages between the
// host and each webview (dashboard, dataset statistics, fill-mask, attention) and the files the
// worker writes (events.jsonl, status.json, launch.json). A guard is a type predicate that can also
// say *why* a value does not match, so whatever drops a record can log the reason.
//
// This folder (src/shared) is pure: no Node, no DOM, no `vscode`. Host code and webview code both
// import it (tsconfig.json and tsconfig.webview.json).

export interface Guard<T> {
  (value: unknown): value is T;
  /** Undefined when `value` matches; else what is wrong, starting with where (`at`). */
  readonly problem: (value: unknown, at?: string) => string | undefined;
}

/** The type a guard accepts. */
export type Infer<G> = G extends Guard<infer T> ? T : never;

export function guard<T>(problem: (value: unknown, at: string) => string | undefined): Guard<T> {
  const fn = ((value: unknown) => problem(value, '') === undefined) as Guard<T>;
  (fn as { problem: Guard<T>['problem'] }).problem = (value, at = '') => problem(value, at);
  return fn;
}

function where(at: string): string {
  return at ? `${at}: ` : '';
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  return typeof v;
}

export function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string, at most `maxLength` UTF-16 units, optionally matching `pattern`. */
export function str(maxLength = Number.MAX_SAFE_INTEGER, pattern?: RegExp): Guard<string> {
  return guard((v, at) => {
    if (typeof v !== 'string') return `${where(at)}expected a string, got ${describe(v)}`;
    if (v.length > maxLength) return `${where(at)}longer than ${maxLength} characters`;
    if (pattern && !pattern.test(v)) return `${where(at)}${describe(v)} does not match ${pattern}`;
    return undefined;
  });
}

/** A finite number within [min, max]. */
export function num(min = -Infinity, max = Infinity): Guard<number> {
  return guard((v, at) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${where(at)}expected a finite number, got ${describe(v)}`;
    if (v < min || v > max) return `${where(at)}${v} is outside [${min}, ${max}]`;
    return undefined;
  });
}

/** A safe integer within [min, max]. */
export function int(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Guard<number> {
  return guard((v, at) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `${where(at)}expected an integer, got ${describe(v)}`;
    if (v < min || v > max) return `${where(at)}${v} is outside [${min}, ${max}]`;
    return undefined;
  });
}

/** A non-negative integer (an index, a count, a request id). */
export const count = int(0);

export const bool: Guard<boolean> = guard((v, at) => (typeof v === 'boolean' ? undefined : `${where(at)}expected true or false, got ${describe(v)}`));

/** Any JSON value (kept as it is; for fields the reader does not interpret). */
export const unknownValue: Guard<unknown> = guard(() => undefined);

/** One of the given literal values. */
export function oneOf<const V extends readonly (string | number | boolean | null)[]>(...values: V): Guard<V[number]> {
  return guard((v, at) => (values.includes(v as V[number]) ? undefined : `${where(at)}expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`));
}

/** The field may be absent (undefined). */
export function optional<T>(g: Guard<T>): Guard<T | undefined> {
  return guard((v, at) => (v === undefined ? undefined : g.problem(v, at)));
}

/** The value may be null. */
export function nullable<T>(g: Guard<T>): Guard<T | null> {
  return guard((v, at) => (v === null ? undefined : g.problem(v, at)));
}

/** Either guard's type. */
export function either<A, B>(a: Guard<A>, b: Guard<B>): Guard<A | B> {
  return guard((v, at) => {
    const pa = a.problem(v, at);
    if (pa === undefined) return undefined;
    return b.problem(v, at) === undefined ? undefined : pa;
  });
}

/** An array of at most `maxItems` items, each matching `item`. */
export function arrayOf<T>(item: Guard<T>, maxItems = Number.MAX_SAFE_INTEGER, minItems = 0): Guard<readonly T[]> {
  return guard((v, at) => {
    if (!Array.isArray(v)) return `${where(at)}expected an array, got ${describe(v)}`;
    if (v.length > maxItems || v.length < minItems) return `${where(at)}expected ${minItems}–${maxItems} items, got ${v.length}`;
    for (let i = 0; i < v.length; i++) {
      const p = item.problem(v[i], `${at}[${i}]`);
      if (p) return p;
    }
    return undefined;
  });
}

/** An object used as a map: at most `maxKeys` keys, every value matching `value`. */
export function recordOf<T>(value: Guard<T>, maxKeys = Number.MAX_SAFE_INTEGER): Guard<Readonly<Record<string, T>>> {
  return guard((v, at) => {
    if (!isRecord(v)) return `${where(at)}expected an object, got ${describe(v)}`;
    const keys = Object.keys(v);
    if (keys.length > maxKeys) return `${where(at)}more than ${maxKeys} keys`;
    for (const k of keys) {
      const p = value.problem(v[k], at ? `${at}.${k}` : k);
      if (p) return p;
    }
    return undefined;
  });
}

type Shape = Readonly<Record<string, Guard<unknown>>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Flatten<T> = { [K in keyof T]: T[K] };
/** The object type a shape describes: optional guards make optional fields; everything readonly. */
export type ObjectOf<S extends Shape> = Flatten<{ readonly [K in RequiredKeys<S>]: Infer<S[K]> } & { readonly [K in OptionalKeys<S>]?: Infer<S[K]> }>;

/**
 * An object with the given fields. `exact`: no other keys (messages from a webview, which must be
 * exactly one of the protocol's); otherwise other keys are allowed and kept (the worker's files,
 * so that a newer worker's extra fields do not make an older host drop its records).
 */
export function object<S extends Shape>(shape: S, options: { readonly exact?: boolean } = {}): Guard<ObjectOf<S>> {
  const keys = Object.keys(shape);
  return guard((v, at) => {
    if (!isRecord(v)) return `${where(at)}expected an object, got ${describe(v)}`;
    if (options.exact) {
      const extra = Object.keys(v).find((k) => !Object.prototype.hasOwnProperty.call(shape, k));
      if (extra !== undefined) return `${where(at)}unexpected field ${JSON.stringify(extra.slice(0, 40))}`;
    }
    for (const k of keys) {
      const p = (shape[k] as Guard<unknown>).problem(v[k], at ? `${at}.${k}` : k);
      if (p) return p;
    }
    return undefined;
  });
}

/**
 * A message or record discriminated by its `type` field: `variants` maps each type to the guard of
 * that variant (which checks `type` too when built with `message`).
 */
export function tagged<M extends Readonly<Record<string, Guard<unknown>>>>(variants: M): Guard<Infer<M[keyof M]>> {
  return guard((v, at) => {
    if (!isRecord(v)) return `${where(at)}expected an object with a "type", got ${describe(v)}`;
    const type = v.type;
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(variants, type)) return `${where(at)}unknown type ${describe(type)}`;
    return (variants[type] as Guard<unknown>).problem(v, at);
  });
}

/** One message of a webview protocol: `{type, ...fields}` with exactly these fields. */
export function message<const T extends string, S extends Shape = Record<never, never>>(type: T, shape?: S): Guard<Flatten<ObjectOf<S> & { readonly type: T }>> {
  return object({ ...(shape ?? {}), type: oneOf(type) }, { exact: true }) as unknown as Guard<Flatten<ObjectOf<S> & { readonly type: T }>>;
}

/** A further check on a value that already has the right shape (ranges between fields, prefixes). */
export function refine<T>(g: Guard<T>, check: (value: T) => string | undefined): Guard<T> {
  return guard((v, at) => g.problem(v, at) ?? check(v as T)?.replace(/^/, where(at)));
}

/** Parses untrusted input with a guard: the value, or the reason it was refused. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function check<T>(g: Guard<T>, value: unknown): Checked<T> {
  const reason = g.problem(value, '');
  return reason === undefined ? { ok: true, value: value as T } : { ok: false, reason };
}

/** A short description of a refused message for a log (never the whole payload). */
export function describeRejected(v: unknown, reason?: string): string {
  const head = !isRecord(v) ? `non-object (${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v})` : `type=${JSON.stringify(typeof v.type === 'string' ? v.type.slice(0, 40) : typeof v.type)} keys=${Object.keys(v).slice(0, 8).join(',')}`;
  return reason ? `${head}: ${reason.slice(0, 200)}` : head;
}
