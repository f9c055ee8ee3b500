/**
 * The order-independent lifecycle of sessions and streams.
 *
 * WCS sends hooks from a thread pool and retries failed sends (reference §0, §0.2), so a hook can
 * arrive late, twice, or before the one that preceded it. Statuses are therefore ordered by rank,
 * and an item only ever moves to a higher (rank, status) pair; this is enforced by the write's
 * condition expression, never by reading first. A terminal status (rank ≥ 2) is never left for a
 * live one. A hook that arrives after a higher status still adds its status to the history and
 * fills fields the item lacks; a repeated hook changes nothing. The final item is the same for any
 * arrival order: status and `info` from the highest-ranked hook, history the set of statuses seen.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamo, isConditionFailure } from '../store/dynamo.ts';
import { UpdateExpression } from '../store/update-expression.ts';

/** How an entity's statuses are ordered, and which of its attributes mark it live or failed. */
export interface LifecycleModel {
  /** Rank of each known status. Unknown statuses rank -1: recorded in history, never current over a known one. */
  readonly ranks: Readonly<Record<string, number>>;
  /** The sparse-index attribute that exists only while the entity is live (its value: `Transition.liveValue`). */
  readonly liveAttribute: string;
  /** The lowest rank that counts as live (a session is open from `connect`; a stream is live from PUBLISHING/PLAYING). */
  readonly liveFromRank: number;
  /** The sparse-index attribute that holds the `appKey` once the entity ended FAILED, if any. */
  readonly failedAttribute?: string;
  /**
   * The sparse-index attribute that holds the entity's WCS `nodeId` (`constants.nodeId`) while it is
   * live: what a node should still have, found by node when the node is reconciled.
   */
  readonly nodeAttribute?: string;
}

/** Statuses at or above this rank are terminal: nothing moves an entity out of them. */
export const TERMINAL_RANK = 2;

/** The rank of `status` in `model`; -1 for a status WCS may add that we do not know. */
export function rankOf(model: LifecycleModel, status: string): number {
  return model.ranks[status] ?? -1;
}

/** True when `status` ends the entity's life. */
export function isTerminal(model: LifecycleModel, status: string): boolean {
  return rankOf(model, status) >= TERMINAL_RANK;
}

/**
 * True when moving from `current` to `next` is a step forward: a higher rank, or the same rank and
 * a later name (so that two statuses of one rank resolve the same way in any order). The write
 * condition in `applyTransition` is the same rule, evaluated by DynamoDB.
 */
export function isForward(model: LifecycleModel, current: string | undefined, next: string): boolean {
  if (current === undefined) return true;
  const [from, to] = [rankOf(model, current), rankOf(model, next)];
  return from < to || (from === to && current < next);
}

/** One hook's worth of change to one entity. */
export interface Transition {
  readonly key: Readonly<Record<string, string>>;
  readonly status: string;
  readonly appKey: string;
  /**
   * The value of the model's live attribute while the entity is live. Default: `appKey`; `null`:
   * not yet indexed as live (a stream whose name no hook has told yet).
   */
  readonly liveValue?: string | null;
  /** ISO-8601 time the hook was received. */
  readonly at: string;
  /** Epoch seconds after which the item may be deleted. */
  readonly expiresAt: number;
  /** Facts that are the same in every hook about the entity (its name, its session): written if missing. */
  readonly constants: Readonly<Record<string, unknown>>;
  /** Facts about its latest state (codecs, `info`): overwritten by a forward step, filled if missing by a late one. */
  readonly latest: Readonly<Record<string, unknown>>;
  /** Extra fields for this hook's history entry. */
  readonly historyDetails?: Readonly<Record<string, unknown>>;
  /** Facts this hook alone establishes, written whether it is a step forward or late (`connectSeen` by `connect`). */
  readonly marks?: Readonly<Record<string, unknown>>;
}

/** What a transition did: moved the entity forward, added a late hook to it, or nothing (a repeat). */
export type TransitionOutcome = 'advanced' | 'late' | 'duplicate';

/** The outcome, and the item as the write left it (absent for a repeat, which wrote nothing). */
export interface TransitionResult {
  readonly outcome: TransitionOutcome;
  readonly item?: Record<string, unknown>;
}

/** Longest `info` kept in a history entry; the current `info` of the item keeps it whole. */
const HISTORY_INFO_CHARS = 512;

/**
 * Distinct statuses of rank -1 (ones WCS may add that we do not know) an item's history keeps. The
 * known ones are a handful; without this bound, a client sending ever new statuses would grow the
 * item past DynamoDB's 400 KB, and every later hook of it would fail. Past it, such a status is
 * counted in `historyDropped` instead.
 */
export const UNKNOWN_STATUSES_KEPT = 16;

function historyEntry(t: Transition) {
  return {
    status: t.status,
    at: t.at,
    ...(typeof t.latest.info === 'string' && { info: t.latest.info.slice(0, HISTORY_INFO_CHARS) }),
    ...t.historyDetails,
  };
}

function defined(record: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(record).filter(([, v]) => v !== undefined && v !== null);
}

/**
 * Applies `transition` to the item in `tableName`, creating it if needed. At most two conditional
 * writes; a repeat of a hook already applied costs one failed write and changes nothing.
 */
export async function applyTransition(
  tableName: string,
  model: LifecycleModel,
  t: Transition,
): Promise<TransitionResult> {
  const rank = rankOf(model, t.status);
  const forward = new UpdateExpression();
  forward
    .set('status', t.status)
    .set('statusRank', rank)
    .set('lastStatusAt', t.at)
    .set('expiresAt', t.expiresAt)
    .setIfMissing('firstStatusAt', t.at)
    .append('statusHistory', [historyEntry(t)])
    .addToSet('seenStatuses', [t.status]);
  for (const [k, v] of defined(t.constants)) forward.setIfMissing(k, v);
  for (const [k, v] of defined({ ...t.latest, ...t.marks })) forward.set(k, v);
  const nodeId = t.constants.nodeId;
  if (rank >= TERMINAL_RANK) {
    forward.setIfMissing('endedAt', t.at).remove(model.liveAttribute);
    if (model.nodeAttribute) forward.remove(model.nodeAttribute);
    if (model.failedAttribute && t.status === 'FAILED') forward.set(model.failedAttribute, t.appKey);
  } else if (rank >= model.liveFromRank) {
    if (t.liveValue !== null) forward.set(model.liveAttribute, t.liveValue ?? t.appKey);
    if (model.nodeAttribute && typeof nodeId === 'string') forward.set(model.nodeAttribute, nodeId);
  }
  const r = forward.name('statusRank');
  const s = forward.name('status');
  const condition = `attribute_not_exists(${r}) OR ${r} < ${forward.value(rank)} OR (${r} = ${forward.value(rank)} AND ${s} < ${forward.value(t.status)})`;

  let existing: Record<string, unknown> | undefined;
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: t.key,
        ...forward.toParams(condition),
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { outcome: 'advanced', ...(Attributes && { item: Attributes }) };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // The exception carries the item in DynamoDB's wire format; the document client does not convert it.
    const item = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
    existing = item ? unmarshall(item) : undefined;
  }

  // Not a step forward. A status already in the history is a repeat: nothing to write.
  const seen = existing?.seenStatuses;
  if (seen instanceof Set && seen.has(t.status)) return { outcome: 'duplicate' };

  const late = new UpdateExpression();
  late
    .setIfMissing('firstStatusAt', t.at)
    .append('statusHistory', [historyEntry(t)])
    .addToSet('seenStatuses', [t.status]);
  for (const [k, v] of defined({ ...t.constants, ...t.latest })) late.setIfMissing(k, v);
  for (const [k, v] of defined(t.marks ?? {})) late.set(k, v);
  const seenName = late.name('seenStatuses');
  const unseen = `NOT contains(${seenName}, ${late.value(t.status)})`;
  // Statuses of rank -1 are unbounded in kind: only so many are kept (counting every one of them).
  const bounded =
    rank < 0 ? ` AND size(${seenName}) < ${late.value(UNKNOWN_STATUSES_KEPT + knownSeen(model, seen))}` : '';
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: t.key,
        ...late.toParams(`${unseen}${bounded}`),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { outcome: 'late', ...(Attributes && { item: Attributes }) };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // A concurrent copy of the same hook got there first; or the history is full.
    if (!bounded) return { outcome: 'duplicate' };
    const dropped = new UpdateExpression().increment('historyDropped', 1);
    const { Attributes } = await dynamo.send(
      new UpdateCommand({ TableName: tableName, Key: t.key, ...dropped.toParams(), ReturnValues: 'ALL_NEW' }),
    );
    return { outcome: 'late', ...(Attributes && { item: Attributes }) };
  }
}

/** How many of the statuses in `seen` the model knows (they do not count against the bound on unknown ones). */
function knownSeen(model: LifecycleModel, seen: unknown): number {
  return seen instanceof Set ? [...seen].filter((s) => rankOf(model, String(s)) >= 0).length : 0;
}
