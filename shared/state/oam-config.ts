/**
 * WCS OAM's monitoring configuration (reference §5.2), kept in the configuration store: profiles
 * (which metrics to collect, at what rate, for the streams their rules select), rules (stream-name
 * or mediaSessionId templates) and threshold alarms. Each is numbered as OAM numbers them (1, 2, ...)
 * and validated here, for the realms and for the node poller alike.
 *
 * OAM's payloads spell numbers as text (`"rate": "30"`, `"metrics": ["3", "10"]`); both spellings are
 * accepted, and numbers are answered.
 */
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { compileRulePattern, RulePatternError } from '../kernel/rule-pattern.ts';
import { LEGACY_METRIC_IDS, streamMetricByEnumName, streamMetricById } from '../kernel/stream-metrics.ts';
import {
  type ConfigKind,
  deleteConfig,
  getConfig,
  listConfig,
  nextConfigNumber,
  putConfig,
  replaceConfig,
} from './config-store.ts';
import { listNodes } from './monitoring.ts';

/** A whole number, as a JSON number or its decimal text. */
const wholeNumber = (min: number, max: number) =>
  z
    .pipe(
      z.union([z.int(), z.string().check(z.regex(/^-?\d{1,15}$/, 'a whole number'))]),
      z.transform((v) => Number(v)),
    )
    .check(z.refine((n) => n >= min && n <= max, `between ${min} and ${max}`));

/** A number (a threshold), as a JSON number or its decimal text. */
const anyNumber = z
  .pipe(
    z.union([z.number(), z.string().check(z.regex(/^-?\d+(\.\d+)?$/, 'a number'))]),
    z.transform((v) => Number(v)),
  )
  .check(z.refine((n) => Number.isFinite(n), 'a finite number'));

const name = z.string().check(z.minLength(1), z.maxLength(256));
const id = wholeNumber(1, 1e12);
const ids = z.array(id).check(z.maxLength(100));

/** OAM's rule types: `0` a stream-name template, `1` a mediaSessionId template. */
export const RULE_TYPES = { streamName: 0, mediaSessionId: 1 } as const;
/** OAM's alarm types: `0` below the threshold, `1` above it. */
export const ALARM_TYPES = { below: 0, above: 1 } as const;

export const profileFields = z.object({
  name,
  /** Seconds between two samples of a stream this profile selects. */
  rate: wholeNumber(1, 3600),
  metrics: ids.check(z.minLength(1)),
  rules: z._default(ids, []),
});
/**
 * A rule's value: a glob (`*` any characters, `?` one) or OAM's regular expression (`.*`), told apart
 * and compiled by `kernel/rule-pattern.ts`; one that cannot be matched in linear time is refused.
 */
const ruleValue = z.string().check(
  z.minLength(1),
  z.maxLength(512),
  z.superRefine((value, ctx) => {
    try {
      compileRulePattern(value);
    } catch (error) {
      if (!(error instanceof RulePatternError)) throw error;
      ctx.issues.push({ code: 'custom', message: error.message, input: value });
    }
  }),
);

export const ruleFields = z.object({
  type: wholeNumber(0, 1),
  name,
  value: ruleValue,
  profiles: z._default(ids, []),
});
export const alarmFields = z.object({
  type: wholeNumber(0, 1),
  name,
  value: anyNumber,
  metric: id,
  /** The node it watches (its `nodeId`); every node when left out. */
  node: z.optional(z.string().check(z.minLength(1), z.maxLength(300))),
  /** Milliseconds the metric must stay past the threshold before the alarm is raised. */
  time: z._default(wholeNumber(0, 86_400_000), 0),
});

export type Profile = z.infer<typeof profileFields> & { readonly id: number };
export type Rule = z.infer<typeof ruleFields> & { readonly id: number };
export type Alarm = z.infer<typeof alarmFields> & { readonly id: number };

export interface OamKinds {
  profile: Profile;
  rule: Rule;
  alarm: Alarm;
}
export type OamKind = keyof OamKinds;

export const FIELDS = { profile: profileFields, rule: ruleFields, alarm: alarmFields } as const;

/** A payload that names an object: `{id}`, a number or its text. */
export const idPayload = z.object({ id });

/** Why a payload cannot be stored: each problem, with the field it is about. */
export class OamConfigError extends Error {
  /** `Object not found`: the payload names an object that does not exist. */
  readonly notFound: boolean;

  constructor(message: string, notFound = false) {
    super(message);
    this.name = 'OamConfigError';
    this.notFound = notFound;
  }
}

/**
 * A metric as stored: by `enumName`, what WCS calls it, so that what a profile collects or an alarm
 * watches never depends on a numbering (OAM's changed once: `kernel/stream-metrics.ts`).
 */
const storedMetric = (id: number) => streamMetricById(id)?.enumName ?? id;
/**
 * A stored metric as the realms number it: an `enumName`, or a number stored by a version before
 * metrics were stored by name, in that version's numbering (`LEGACY_METRIC_IDS`). `undefined` for
 * one the catalogue no longer has.
 */
const metricIdOf = (stored: unknown): number | undefined =>
  streamMetricByEnumName(typeof stored === 'number' ? LEGACY_METRIC_IDS[stored] : stored)?.id;

/** `object` as the configuration store keeps it: its metrics by name. */
function toStored(kind: OamKind, object: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'profile') return { ...object, metrics: (object.metrics as number[]).map(storedMetric) };
  if (kind === 'alarm') return { ...object, metric: storedMetric(object.metric as number) };
  return object;
}

/** A stored object as the realms and the poller see it: its metrics by OAM id. */
function fromStored<Kind extends OamKind>(kind: Kind, value: unknown): OamKinds[Kind] {
  const object = value as Record<string, unknown>;
  if (kind === 'profile') {
    const metrics = (object.metrics as unknown[]).map(metricIdOf).filter((m) => m !== undefined);
    return { ...object, metrics } as unknown as OamKinds[Kind];
  }
  // An alarm on a metric the catalogue no longer has watches nothing (no id is 0).
  if (kind === 'alarm')
    return { ...object, metric: metricIdOf(object.metric) ?? 0 } as unknown as OamKinds[Kind];
  return object as unknown as OamKinds[Kind];
}

/** Every object of `kind`, by id. */
export async function listOam<Kind extends OamKind>(kind: Kind): Promise<OamKinds[Kind][]> {
  const entries = await listConfig(kind as ConfigKind);
  return entries.map((e) => fromStored(kind, e.value)).sort((a, b) => a.id - b.id);
}

/** The object of `kind` numbered `id`, or `undefined`. */
export async function getOam<Kind extends OamKind>(
  kind: Kind,
  id: number,
): Promise<OamKinds[Kind] | undefined> {
  const value = await getConfig(kind as ConfigKind, String(id));
  return value === undefined ? undefined : fromStored(kind, value);
}

/** Checks what an object refers to exists: a profile's metrics and rules, a rule's profiles, an alarm's metric. */
async function checkReferences(kind: OamKind, fields: Record<string, unknown>): Promise<void> {
  const metrics =
    kind === 'profile' ? (fields.metrics as number[]) : kind === 'alarm' ? [fields.metric as number] : [];
  const unknownMetric = metrics.find((m) => !streamMetricById(m));
  if (unknownMetric !== undefined) throw new OamConfigError(`metric ${unknownMetric} is not in metric/list`);
  const refs: [OamKind, number[]][] =
    kind === 'profile'
      ? [['rule', fields.rules as number[]]]
      : kind === 'rule'
        ? [['profile', fields.profiles as number[]]]
        : [];
  for (const [refKind, refIds] of refs) {
    const existing = new Set((await listOam(refKind)).map((o) => o.id));
    const missing = refIds.find((r) => !existing.has(r));
    if (missing !== undefined) throw new OamConfigError(`${refKind} ${missing} does not exist`);
  }
}

/** Creates an object of `kind` from `fields` (validated by `FIELDS[kind]`); answers it with its new id. */
export async function createOam<Kind extends OamKind>(
  kind: Kind,
  fields: z.infer<(typeof FIELDS)[Kind]>,
): Promise<OamKinds[Kind]> {
  await checkReferences(kind, fields);
  const object = { id: await nextConfigNumber(kind), ...fields } as OamKinds[Kind];
  await putConfig(kind, String(object.id), toStored(kind, object as Record<string, unknown>));
  return object;
}

/**
 * Replaces the fields an update names (OAM's update carries the object's fields; those left out keep
 * their value). Throws `OamConfigError` (not found) when there is no such object.
 */
export async function updateOam<Kind extends OamKind>(
  kind: Kind,
  id: number,
  change: Record<string, unknown>,
): Promise<OamKinds[Kind]> {
  const existing = await getOam(kind, id);
  if (!existing) throw new OamConfigError('Object not found', true);
  const { id: _ignored, ...rest } = existing as unknown as Record<string, unknown>;
  const parsed = FIELDS[kind].safeParse({ ...rest, ...change });
  if (!parsed.success) throw new OamConfigError(problems(parsed.error.issues));
  await checkReferences(kind, parsed.data as Record<string, unknown>);
  const object = { ...parsed.data, id } as OamKinds[Kind];
  if (!(await replaceConfig(kind, String(id), toStored(kind, object as Record<string, unknown>))))
    throw new OamConfigError('Object not found', true);
  return object;
}

/** Nodes named in a refusal, at most; the count says how many more. */
const NODES_NAMED = 10;

/**
 * Deletes object `id` of `kind`; throws `OamConfigError` (not found) when there is none.
 *
 * A profile assigned to a node is not deleted (`OamConfigError` naming the nodes): a node follows
 * the profiles `node/update` gave it, or every profile when it was given none, so taking the id out
 * of its list would silently change what it samples either way (nothing, when it named only this
 * one; everything, were an emptied list read as "none given"). The operator says which: `node/update`
 * first. Rules and profiles refer to each other (`rule.profiles`, `profile.rules`): a deleted one's
 * id is taken out of the others' lists, which stay valid (an update of them checks every id).
 */
export async function deleteOam(kind: OamKind, id: number): Promise<void> {
  if (kind === 'profile') {
    const holders = (await listNodes()).filter((n) => n.profiles?.includes(id)).map((n) => n.nodeId);
    if (holders.length > 0) {
      const named = holders.slice(0, NODES_NAMED).join(', ');
      const more = holders.length > NODES_NAMED ? ` and ${holders.length - NODES_NAMED} more` : '';
      throw new OamConfigError(
        `profile ${id} is assigned to node ${named}${more}: give the node other profiles (node/update) before deleting it`,
      );
    }
  }
  if (!(await deleteConfig(kind, String(id)))) throw new OamConfigError('Object not found', true);
  if (kind === 'alarm') return;
  const [referrer, field] =
    kind === 'profile' ? (['rule', 'profiles'] as const) : (['profile', 'rules'] as const);
  for (const other of await listOam(referrer)) {
    const ids = (other as unknown as Record<string, number[]>)[field] ?? [];
    if (!ids.includes(id)) continue;
    // One deleted meanwhile is not put back (replaceConfig writes only over an existing one).
    const changed = {
      ...(other as unknown as Record<string, unknown>),
      [field]: ids.filter((i) => i !== id),
    };
    await replaceConfig(referrer, String(other.id), toStored(referrer, changed));
  }
}

/** A validation's problems in one line: `field: what is wrong; ...`. */
export function problems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`).join('; ');
}
