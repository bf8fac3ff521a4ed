// Bad variants of every request, generated at run time from the protocol's valibot schemas
// (`requests` in src/protocol/messages.ts): the schema tree is walked (object entries, array items,
// optional/union wrappers, record values, pipe actions), so a field added to the protocol is fuzzed
// without touching this file. Each variant changes ONE place of a valid request (the "base"): a
// wrong type, a number extreme, a string as long as a frame allows, a nesting thousands of levels
// deep, an object with thousands of keys, a missing or an extra key, one array item too many.
//
// A variant says what the server must do with it:
//   - `refuse`: a typed error (not SERVER_ERROR). Everything the schema itself refuses, and what no
//     schema should let through to mediasoup or a listener when it is kept: unbounded numbers
//     (a bare `v.number()`, or past 2^53/non-finite anywhere), strings as long as a frame, nestings
//     1,000+ deep;
//   - `any`: success or a typed error, but an answer (never a hang, never a dead server).
// Keys of the base that the schema does not declare (a loose object passes them through) are
// walked by their JavaScript type, since they reach mediasoup unchecked.
import * as v from 'valibot';
import { MAX_MESSAGE_BYTES, type RequestMethod } from '../../src/protocol/messages.js';
import { requests } from '../../src/protocol/requests.js';

type Key = string | number;
type Json = unknown;

/** A tiny seeded PRNG (mulberry32): the same seed gives the same variants and the same order. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * JSON text spliced into a message as is: what JSON.stringify cannot write (`1e999` parses to
 * Infinity, `-0`) and nestings too deep to build (or stringify) as objects on this side.
 */
export class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify that writes Raw values verbatim. */
export function encodeJson(value: Json): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, val: unknown) => (val instanceof Raw ? `\u0000raw${raws.push(val.text) - 1}\u0000` : val));
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

/** The request frame the server receives (the id is at most 15 digits: sized for the worst case). */
export function frameBytes(method: string, dataText: string): number {
  return Buffer.byteLength(`{"type":"request","id":100000000000000,"method":${JSON.stringify(method)},"data":${dataText}}`);
}

export type Expectation = 'refuse' | 'any' | 'refuse-if-kept';

export interface Variant {
  method: RequestMethod;
  /** Where, e.g. `rtpParameters.codecs.0.payloadType`. */
  at: string;
  /** What, e.g. `extreme 2^60`. */
  what: string;
  path: Key[];
  /** The value put at `path` (DELETE removes the key); a function gets the bytes left in the frame. */
  value: Json | ((budget: number) => Json);
  expect: Expectation;
  danger?: Danger;
  /** Values the base lacks on the way to `path` (an optional field it leaves out), set first. */
  fills?: [Key[], Json][];
  /** Valid-shaped but names an object the sender may not touch (another peer's, another room's, closed). */
  foreignId?: boolean;
}

export const DELETE = Symbol('delete');

/** The base with one place changed. */
export function applyVariant(base: Json, variant: Variant, budget: number): Json {
  const value = typeof variant.value === 'function' ? (variant.value as (b: number) => Json)(budget) : variant.value;
  if (variant.path.length === 0) return value;
  const out = structuredClone(base) as Record<Key, Json>;
  for (const [path, fill] of variant.fills ?? []) {
    let at = out as Record<Key, Json>;
    for (const key of path.slice(0, -1)) at = at[key] as Record<Key, Json>;
    const last = path[path.length - 1]!;
    if (at[last] === undefined) at[last] = structuredClone(fill);
  }
  let node = out as Record<Key, Json>;
  for (const key of variant.path.slice(0, -1)) node = node[key] as Record<Key, Json>;
  const last = variant.path[variant.path.length - 1]!;
  if (value === DELETE) delete node[last];
  else if (last === '__proto__') Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  else node[last] = value;
  return out;
}

/** What makes a `refuse-if-kept` value harmful when the schema lets it through. */
export type Danger = 'type' | 'number' | 'long' | 'deep';

function valueAt(output: Json, path: Key[]): { found: boolean; value?: Json } {
  let node = output;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return { found: false };
    node = (node as Record<Key, Json>)[key];
  }
  return { found: true, value: node };
}

/** Nesting depth, walked without recursion. */
function depthOf(value: Json): number {
  let max = 0;
  const stack: [Json, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    max = Math.max(max, depth);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * Did the harmful part of the variant survive the schema (a `v.object` drops unknown keys, an
 * object schema turns a nested array into `{}`), i.e. would it reach mediasoup or a listener?
 */
export function keptAsSent(variant: Variant, output: Json): boolean {
  const at = valueAt(output, variant.path);
  if (!at.found) return false;
  const sent = variant.value instanceof Raw ? (JSON.parse(variant.value.text) as Json) : variant.value;
  switch (variant.danger) {
    case 'deep':
      return depthOf(at.value) >= 1_000;
    case 'long':
      return typeof at.value === 'string' && at.value.length >= 1_000;
    case 'number':
      return typeof at.value === 'number' && Object.is(at.value, sent);
    default:
      return jsType(at.value) === jsType(sent);
  }
}

// --- reading valibot schemas -------------------------------------------------------------------

interface SchemaNode {
  kind: string;
  type: string;
  entries?: Record<string, SchemaNode>;
  item?: SchemaNode;
  wrapped?: SchemaNode;
  options?: unknown[];
  key?: SchemaNode;
  value?: SchemaNode;
  literal?: unknown;
  pipe?: { kind: string; type: string; requirement?: unknown }[];
}

const WRAPPERS = new Set(['optional', 'exact_optional', 'undefinedable', 'nullable', 'nullish', 'non_optional', 'non_nullable', 'non_nullish']);
const OBJECTS = new Set(['object', 'loose_object', 'strict_object', 'object_with_rest']);
/** Schema types this walker understands; any other makes it throw, so a new kind of field is never skipped silently. */
const KNOWN = new Set([...WRAPPERS, ...OBJECTS, 'string', 'number', 'boolean', 'picklist', 'literal', 'array', 'record', 'unknown', 'any', 'union', 'variant']);

function unwrap(schema: SchemaNode): SchemaNode {
  let s = schema;
  while (WRAPPERS.has(s.type)) s = s.wrapped!;
  return s;
}

function check(schema: SchemaNode): void {
  if (!KNOWN.has(schema.type)) throw new Error(`fuzz: schema type '${schema.type}' is not walked yet: teach tests/support/fuzz.ts`);
}

function requirement(schema: SchemaNode, type: string): number | undefined {
  const action = schema.pipe?.find((a) => a.kind === 'validation' && a.type === type);
  return typeof action?.requirement === 'number' ? action.requirement : undefined;
}

/** A number schema with no validation at all accepts 1e308, -1, 3.5 and Infinity: never right on this protocol. */
function bareNumber(schema: SchemaNode): boolean {
  return schema.type === 'number' && !(schema.pipe ?? []).some((a) => a.kind === 'validation');
}

function accepts(schema: SchemaNode, value: Json): boolean {
  try {
    return v.safeParse(schema as unknown as v.GenericSchema, value).success;
  } catch {
    return false;
  }
}

// --- values -------------------------------------------------------------------------------------

const DEPTHS = [100, 1_000, 5_000];
/** 2^53 and beyond: not an integer JSON carries exactly, never a valid count, id or rate here. */
const UNSAFE = 2 ** 53;

function deepObject(levels: number): Raw {
  return new Raw(`${'{"a":'.repeat(levels)}0${'}'.repeat(levels)}`);
}
function deepArray(levels: number): Raw {
  return new Raw(`${'['.repeat(levels)}${']'.repeat(levels)}`);
}

function wrongTypes(): [string, Json][] {
  return [
    ['string', 'fuzz'],
    ['number', 7],
    ['boolean', true],
    ['null', null],
    ['array', []],
    ['object', {}],
    ['array nested 5000 deep', deepArray(5_000)],
  ];
}

function jsType(value: Json): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** [label, value, outrageous]: outrageous ones are invalid for any field of this protocol. */
function numberExtremes(): [string, Json, boolean][] {
  return [
    ['Infinity (1e999)', new Raw('1e999'), true],
    ['-Infinity', new Raw('-1e999'), true],
    ['1e308', 1e308, true],
    ['2^60', 2 ** 60, true],
    ['2^32', 2 ** 32, false],
    ['-1', -1, false],
    ['3.5', 3.5, false],
    ['-0', new Raw('-0'), false],
  ];
}

export interface FuzzOptions {
  random: () => number;
}

/** Every variant of every request method, from its schema and a valid base value of it. */
export function variantsFor(method: RequestMethod, base: Json, opts: FuzzOptions): Variant[] {
  const out: Variant[] = [];
  const schema = requests[method][0] as unknown as SchemaNode;
  const text = (n: number) => {
    // printable ASCII, no quote or backslash: one byte each in the frame
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x30 + Math.floor(opts.random() * 42));
    return s;
  };
  let fills: [Key[], Json][] = [];
  const add = (path: Key[], what: string, value: Variant['value'], expect: Expectation, danger?: Danger) =>
    out.push({ method, at: path.length ? path.join('.') : '(data)', what, path, value, expect, ...(danger && { danger }), ...(fills.length && { fills: [...fills] }) });
  /** Walks a place the base leaves empty, from a sample of it. */
  const walkSample = (node: SchemaNode | undefined, sample: Json, path: Key[]) => {
    fills.push([path, sample]);
    walk(node, sample, path);
    fills = fills.slice(0, -1);
  };

  const walk = (node: SchemaNode | undefined, value: Json, path: Key[]): void => {
    const s = node ? unwrap(node) : undefined;
    if (s) check(s);
    if (s && (s.type === 'unknown' || s.type === 'any')) return;
    const type = s ? s.type : jsType(value);
    // Wrong types: whatever this place does not take. A declared place: its schema decides (the
    // method's verdict); an undeclared one passed through must not keep a value of another type.
    for (const [label, bad] of wrongTypes()) {
      const fits = s ? accepts(s, bad instanceof Raw ? JSON.parse(bad.text) : bad) : jsType(bad) === jsType(value);
      if (!fits) add(path, `wrong type: ${label}`, bad, s ? 'any' : 'refuse-if-kept', bad instanceof Raw ? 'deep' : 'type');
    }
    if (type === 'union' || type === 'variant') {
      // Each option that takes the base value is walked as that place's schema.
      for (const option of s!.options as SchemaNode[]) if (accepts(option, value)) walk(option, value, path);
      return;
    }
    if (type === 'number') {
      for (const [label, n, outrageous] of numberExtremes()) {
        const must = label !== '-0' && (outrageous || (s !== undefined && bareNumber(s)));
        add(path, `extreme ${label}`, n, must ? 'refuse-if-kept' : 'any', 'number');
      }
    }
    if (type === 'string') {
      add(path, 'string as long as the frame allows', (budget: number) => text(Math.max(16, budget - 64)), 'refuse-if-kept', 'long');
      const max = s && requirement(s, 'max_length');
      if (max !== undefined) add(path, `string of max_length + 1 (${max + 1})`, text(max + 1), 'any');
      add(path, 'empty string', '', 'any');
      add(path, 'control characters and a lone surrogate', '\u0000\u001f\ud800"\\', 'any');
    }
    if (type === 'picklist' || type === 'literal') {
      const options = type === 'picklist' ? (s!.options as unknown[]) : [s!.literal];
      const first = String(options[0]);
      for (const other of [first.toUpperCase(), `${first} `, 'fuzz']) if (!options.includes(other)) add(path, `not an option: '${other}'`, other, 'any');
    }
    if (OBJECTS.has(type) || (!s && type === 'object') || type === 'record') {
      const obj = (value ?? {}) as Record<string, Json>;
      const entries = s && OBJECTS.has(s.type) ? s.entries! : {};
      for (const key of new Set([...Object.keys(entries), ...Object.keys(obj)])) {
        const child = entries[key] ?? (s?.type === 'record' ? s.value : undefined);
        if (Object.hasOwn(obj, key)) {
          add([...path, key], 'missing', DELETE, 'any');
          walk(child, obj[key], [...path, key]);
        } else if (child) {
          // An optional field the base leaves out: fuzz it from a sample.
          const sample = sampleOf(child, key, {});
          if (sample !== undefined) walkSample(child, sample, [...path, key]);
        }
      }
      add([...path, 'fuzzExtra'], 'extra key', 'x', 'any');
      add([...path, '__proto__'], "extra key '__proto__'", { polluted: true }, 'any');
      for (const levels of DEPTHS) add([...path, 'fuzzDeep'], `extra key nested ${levels} deep`, deepObject(levels), levels >= 1_000 ? 'refuse-if-kept' : 'any', 'deep');
      add([...path, 'fuzzLong'], 'extra key with a string as long as the frame allows', (budget: number) => text(Math.max(16, budget - 64)), 'any');
      add([...path, 'fuzzWide'], 'extra key: an object with as many keys as the frame allows', (budget: number) => wideObject(budget), 'any');
      if (type === 'record' || !s || s.type === 'loose_object') add(path, 'as many keys as the frame allows', (budget: number) => wideObject(budget), 'any');
      return;
    }
    if (type === 'array') {
      const items = (value ?? []) as Json[];
      const sampled = items.length === 0;
      const first = sampled ? (s?.item ? sampleOf(s.item, 'item', {}) : undefined) : items[0];
      add(path, 'empty array', [], 'any');
      if (first !== undefined) {
        const max = s ? requirement(s, 'max_length') : undefined;
        if (max !== undefined) add(path, `max_length + 1 items (${max + 1})`, Array.from({ length: max + 1 }, () => structuredClone(first)), 'any');
        add(path, 'as many items as the frame allows', (budget: number) => wideArray(first, budget), 'any');
        if (sampled) walkSample(s?.item, first, [...path, 0]);
        else walk(s?.item, first, [...path, 0]);
      }
      add(path, 'an array of 5000 nested arrays', [deepArray(5_000)], 'refuse-if-kept', 'deep');
    }
  };
  walk(schema, base, []);
  return out;
}

function wideObject(budget: number): Raw {
  const parts: string[] = [];
  let size = 2;
  for (let i = 0; size + 12 < budget; i++) {
    const part = `"k${i}":0`;
    parts.push(part);
    size += part.length + 1;
  }
  return new Raw(`{${parts.join(',')}}`);
}

function wideArray(item: Json, budget: number): Json[] {
  const one = encodeJson(item).length + 1;
  return Array.from({ length: Math.max(1, Math.floor(budget / one)) }, () => structuredClone(item));
}

/**
 * A valid value for a schema, for a method without a hand-written base or a field the base leaves
 * out: ids come from `ids` by field name; undefined for an optional field nothing can sample.
 */
export function sampleOf(node: SchemaNode, name: string, ids: Record<string, string>): Json {
  const s = unwrap(node);
  check(s);
  switch (s.type) {
    case 'string': {
      if (ids[name] !== undefined) return ids[name];
      const min = requirement(s, 'min_length') ?? 1;
      return 'a'.repeat(Math.max(1, min));
    }
    case 'number': {
      const min = requirement(s, 'min_value');
      return min !== undefined ? Math.max(min, 1) : 1;
    }
    case 'boolean':
      return false;
    case 'picklist':
      return s.options![0];
    case 'literal':
      return s.literal;
    case 'array':
      return [];
    case 'record':
      return {};
    case 'union':
    case 'variant':
      return sampleOf(s.options![0] as SchemaNode, name, ids);
    case 'unknown':
    case 'any':
      return undefined;
    default: {
      const out: Record<string, Json> = {};
      for (const [key, child] of Object.entries(s.entries ?? {})) {
        if (WRAPPERS.has(child.type) && (child.type === 'optional' || child.type === 'exact_optional' || child.type === 'nullish' || child.type === 'undefinedable')) continue;
        out[key] = sampleOf(child, key, ids);
      }
      return out;
    }
  }
}

/** The base of a method from its schema (for methods without a realistic hand-written one). */
export function sampleRequest(method: RequestMethod, ids: Record<string, string>): Json {
  const schema = requests[method][0] as unknown as SchemaNode;
  const base = sampleOf(schema, '', ids) ?? {};
  if (!accepts(schema, base)) throw new Error(`fuzz: cannot sample a valid '${method}' request; give the fuzz test a base for it`);
  return base;
}

/** Does the method's schema accept this data (parsed from the text the server will get), and what does it keep? */
export function schemaVerdict(method: RequestMethod, dataText: string): { success: boolean; output?: Json } {
  const schema = requests[method][0] as unknown as v.GenericSchema;
  try {
    const result = v.safeParse(schema, JSON.parse(dataText) ?? {});
    return result.success ? { success: true, output: result.output } : { success: false };
  } catch {
    // The schema threw (a check that recursed too deep): the server must refuse it without dying.
    return { success: false };
  }
}

/** Variants that name an object the sender may not touch, for every place the base holds one of its own ids. */
export function foreignIdVariants(method: RequestMethod, base: Json, ownIds: Set<string>, foreign: { label: string; id: string }[]): Variant[] {
  const out: Variant[] = [];
  const visit = (value: Json, path: Key[]) => {
    if (typeof value === 'string' && ownIds.has(value)) {
      for (const { label, id } of foreign) out.push({ method, at: path.join('.'), what: `id of ${label}`, path, value: id, expect: 'refuse', foreignId: true });
    } else if (value && typeof value === 'object') {
      for (const [k, child] of Object.entries(value)) visit(child, [...path, Array.isArray(value) ? Number(k) : k]);
    }
  };
  visit(base, []);
  return out;
}

export { MAX_MESSAGE_BYTES };
