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
 *
 * The same conditions keep an item to itself: it is on the node of its first hook, and a hook
 * naming another node changes nothing (`foreign`); an item whose id was used again after it ended
 * (a WCS session id behind NAT) is a new generation, which no hook received before it began
 * changes (`earlier-generation`). What reconciliation found is written provisionally, for the real
 * hook to replace. `docs/data-model.md` ("Ordering, repeats and terminal states") says it for users.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
   * The sparse-index attribute that holds the entity's WCS `nodeId` while a node may still have it:
   * what a node should still have, found by node when the node is reconciled. Its value is always
   * the item's own `nodeId` (the node of its first hook): a hook naming another node is not applied.
   */
  readonly nodeAttribute?: string;
  /**
   * The lowest rank at which the entity is in the per-node index (`nodeAttribute`) until it ends.
   * Default: `liveFromRank`. A stream is there from PENDING: a publisher admitted whose PUBLISHING
   * and FAILED hooks were lost must be found to be ended.
   */
  readonly nodeFromRank?: number;
  /**
   * The entity's id may be used again once it has ended (a WCS session id behind NAT): a transition
   * that asks for it (`Transition.newGenerationIfEndedBefore`) replaces the ended item by a fresh
   * generation, keeping these attributes of each earlier one in `previousGenerations` (at most
   * `kept`; the older ones counted in `earlierGenerationsDropped`).
   */
  readonly generations?: { readonly summary: readonly string[]; readonly kept: number };
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

/**
 * Marks the item at `key` refused by its decision hook at `at` (`refusedAt`, `refusal`: why), with
 * `facts` (its app, its name) where missing: the attempt was never admitted, whatever status WCS
 * reports for it (a refused action is reported FAILED, reference §1.2, §1.3). One idempotent
 * write, creating the item when no hook has yet; no transition removes the mark (only a new
 * generation starts without it). Only that attempt's item is marked: one of `nodeId` (or of none
 * yet) whose current first status is no earlier than `at` (a FAILED that got there first); an
 * item recorded before (an attempt admitted earlier, an earlier connection under the same id) or
 * another node's is left as it is, and the answer is false.
 */
export async function markRefused(
  tableName: string,
  key: Readonly<Record<string, string>>,
  mark: {
    at: string;
    reason: string;
    nodeId: string;
    expiresAt: number;
    facts: Readonly<Record<string, unknown>>;
  },
): Promise<boolean> {
  const update = new UpdateExpression()
    .setIfMissing('refusedAt', mark.at)
    .setIfMissing('refusal', mark.reason.slice(0, HISTORY_INFO_CHARS))
    .setIfMissing('expiresAt', mark.expiresAt);
  // Not its node: that is its first status hook's, as for any item ("One node per item").
  for (const [k, v] of defined(mark.facts)) if (k !== 'nodeId') update.setIfMissing(k, v);
  const [node, first] = [update.name('nodeId'), update.name('firstStatusAt')];
  const condition = `(attribute_not_exists(${node}) OR ${node} = ${update.value(mark.nodeId)}) AND (attribute_not_exists(${first}) OR ${first} >= ${update.value(mark.at)})`;
  const written = await conditionalUpdate(tableName, key, update, condition);
  return 'item' in written;
}

/** How a hook's report is to be taken, beyond what it says and when it arrived. */
export interface Reported {
  /**
   * When what the hook reports happened, when that is known to be before its arrival (a reconciled
   * or lost end: the last evidence of life). A terminal status is stamped `endedAt` with it (never
   * before the item's first hook) and `endDetectedAt` with the arrival. Default: the arrival.
   */
  readonly happenedAt?: Date;
  /**
   * Found by reconciliation, not reported by WCS: written with `provisional: true` and its status not
   * counted as seen, so that the real hook of that status, arriving later, replaces its facts.
   */
  readonly provisional?: boolean;
}

/** The parts of a `Transition` that `reported` sets. */
export function reportedFacts(reported: Reported): Pick<Transition, 'happenedAt' | 'provisional'> {
  return {
    ...(reported.happenedAt && { happenedAt: reported.happenedAt.toISOString() }),
    ...(reported.provisional && { provisional: true }),
  };
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
  /** ISO-8601 time what it reports happened (`Reported.happenedAt`), when known to be before `at`. */
  readonly happenedAt?: string;
  /** Found by reconciliation (`Reported.provisional`). */
  readonly provisional?: boolean;
  /** Epoch seconds after which the item may be deleted. */
  readonly expiresAt: number;
  /**
   * Facts that are the same in every hook about the entity (its name, its session, its `nodeId`):
   * written if missing. A `nodeId` here is the node the hook came from; a hook from another node
   * than the item's is not applied (`foreign`).
   */
  readonly constants: Readonly<Record<string, unknown>>;
  /** Facts about its latest state (codecs, `info`): overwritten by a forward step, filled if missing by a late one. */
  readonly latest: Readonly<Record<string, unknown>>;
  /** Extra fields for this hook's history entry. */
  readonly historyDetails?: Readonly<Record<string, unknown>>;
  /** Facts this hook alone establishes, written whether it is a step forward or late (`connectSeen` by `connect`). */
  readonly marks?: Readonly<Record<string, unknown>>;
  /**
   * For a model with generations: when the item has ended, and its end was detected strictly before
   * this ISO time and before `at`, the item is replaced by a fresh generation and the transition
   * applied to that. A `connect` passes its own arrival; reconciliation, the end of its grace.
   */
  readonly newGenerationIfEndedBefore?: string;
}

/**
 * What a transition did: moved the entity forward, added a late hook to it, or nothing: a repeat
 * (or a provisional report of what is known already), a hook naming another node than the item's
 * (`foreign`), or one received before the item's current generation began (`earlier-generation`).
 * The caller keeps the last two as events (`recorders.ts`): they are not the item's.
 */
export type TransitionOutcome = 'advanced' | 'late' | 'duplicate' | 'foreign' | 'earlier-generation';

/** The outcome, and what the caller needs of the item. */
export interface TransitionResult {
  readonly outcome: TransitionOutcome;
  /** The item as the write left it: `advanced` and `late` only (nothing else wrote it). */
  readonly item?: Record<string, unknown>;
  /** `foreign`: the node the item is on. */
  readonly itemNodeId?: string;
  /** `earlier-generation`: when the item's current generation began. */
  readonly generationStartedAt?: string;
  /** The generation this transition started (`Transition.newGenerationIfEndedBefore`), when it started one. */
  readonly generation?: number;
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

/** How often a transition is tried again when the item changed under it (a new generation, a clamp). */
const MAX_ATTEMPTS = 4;

function historyEntry(t: Transition) {
  return {
    status: t.status,
    at: t.at,
    ...(t.happenedAt !== undefined && { happenedAt: t.happenedAt }),
    ...(t.provisional && { provisional: true }),
    ...(typeof t.latest.info === 'string' && { info: t.latest.info.slice(0, HISTORY_INFO_CHARS) }),
    ...t.historyDetails,
  };
}

function defined(record: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(record).filter(([, v]) => v !== undefined && v !== null);
}

const nodeOf = (t: Transition) => (typeof t.constants.nodeId === 'string' ? t.constants.nodeId : undefined);

/**
 * The update of a step forward to `t`, its end stamped `endedAt`. A real hook clears what a
 * provisional one left (`provisional`, and the facts in `dropFacts` it wrote that this hook does
 * not restate); a provisional one marks itself so, without counting its status as seen.
 */
function forwardUpdate(
  model: LifecycleModel,
  t: Transition,
  endedAt: string,
  dropFacts: readonly string[] = [],
): UpdateExpression {
  const rank = rankOf(model, t.status);
  const forward = new UpdateExpression();
  forward
    .set('status', t.status)
    .set('statusRank', rank)
    .set('lastStatusAt', t.at)
    .set('expiresAt', t.expiresAt)
    .setIfMissing('firstStatusAt', t.at)
    .append('statusHistory', [historyEntry(t)]);
  const latest = defined(t.latest);
  if (t.provisional) {
    forward.set('provisional', true);
    if (latest.length > 0) forward.set('provisionalFacts', new Set(latest.map(([k]) => k)));
  } else {
    forward.addToSet('seenStatuses', [t.status]).remove('provisional').remove('provisionalFacts');
    for (const fact of dropFacts) forward.remove(fact);
  }
  if (model.generations) forward.setIfMissing('generation', 1);
  for (const [k, v] of defined(t.constants)) forward.setIfMissing(k, v);
  for (const [k, v] of [...latest, ...defined(t.marks ?? {})]) forward.set(k, v);
  const nodeId = nodeOf(t);
  if (rank >= TERMINAL_RANK) {
    forward.setIfMissing('endedAt', endedAt).setIfMissing('endDetectedAt', t.at).remove(model.liveAttribute);
    if (model.nodeAttribute) forward.remove(model.nodeAttribute);
    if (model.failedAttribute && t.status === 'FAILED') forward.set(model.failedAttribute, t.appKey);
    return forward;
  }
  if (rank >= model.liveFromRank && t.liveValue !== null)
    forward.set(model.liveAttribute, t.liveValue ?? t.appKey);
  // The write's condition lets only a hook of the item's own node through: its nodeId is the item's.
  if (model.nodeAttribute && nodeId !== undefined && rank >= (model.nodeFromRank ?? model.liveFromRank))
    forward.set(model.nodeAttribute, nodeId);
  return forward;
}

/**
 * The conditions every write of `t` carries: the item is on the hook's node (or on none yet), and
 * its current generation began no later than the hook arrived.
 */
function ownership(update: UpdateExpression, model: LifecycleModel, t: Transition): string[] {
  const clauses: string[] = [];
  const nodeId = nodeOf(t);
  if (nodeId !== undefined) {
    const n = update.name('nodeId');
    clauses.push(`(attribute_not_exists(${n}) OR ${n} = ${update.value(nodeId)})`);
  }
  if (model.generations) {
    const g = update.name('generationStartedAt');
    clauses.push(`(attribute_not_exists(${g}) OR ${g} <= ${update.value(t.at)})`);
  }
  return clauses;
}

/** The clause that keeps an end from being stamped before the item's first hook (none when it is the arrival). */
function clamped(update: UpdateExpression, model: LifecycleModel, t: Transition, endedAt: string): string[] {
  if (rankOf(model, t.status) < TERMINAL_RANK || endedAt >= t.at) return [];
  return [`${update.name('firstStatusAt')} <= ${update.value(endedAt)}`];
}

/** Why `t` is not the item's, as an outcome: it names another node, or came before this generation. */
function notTheItems(model: LifecycleModel, t: Transition, existing: Record<string, unknown>) {
  const startedAt = existing.generationStartedAt;
  if (model.generations && typeof startedAt === 'string' && startedAt > t.at)
    return { outcome: 'earlier-generation', generationStartedAt: startedAt } as const;
  const nodeId = nodeOf(t);
  if (nodeId !== undefined && typeof existing.nodeId === 'string' && existing.nodeId !== nodeId)
    return { outcome: 'foreign', itemNodeId: existing.nodeId } as const;
  return undefined;
}

/** Whether the item's rank lets `t` step forward (the rank part of the forward write's condition). */
function rankAllows(model: LifecycleModel, t: Transition, existing: Record<string, unknown>): boolean {
  if (existing.statusRank === undefined) return true;
  const [from, to] = [Number(existing.statusRank), rankOf(model, t.status)];
  return from < to || (from === to && String(existing.status) < t.status);
}

/**
 * Whether `t` asks for, and the `existing` item allows, a new generation: the item has ended, and
 * its end was detected (`endDetectedAt`, else `endedAt`) strictly before `t`'s cut-off and arrival.
 * Strictly: the `connect` write of a decision abandoned to its fail mode arrives at the very time
 * its refusal ended the session, and must not reopen it.
 */
export function mayStartGeneration(
  model: LifecycleModel,
  t: Pick<Transition, 'at' | 'newGenerationIfEndedBefore'>,
  existing: Readonly<Record<string, unknown>>,
): boolean {
  if (!model.generations || t.newGenerationIfEndedBefore === undefined) return false;
  if (Number(existing.statusRank ?? -1) < TERMINAL_RANK) return false;
  const end = existing.endDetectedAt ?? existing.endedAt;
  return typeof end === 'string' && end < t.newGenerationIfEndedBefore && end < t.at;
}

type Written = { readonly item: Record<string, unknown> } | { readonly existing?: Record<string, unknown> };

/** One conditional UpdateItem: the item it left, or, when the condition failed, the item as it was. */
async function conditionalUpdate(
  tableName: string,
  key: Transition['key'],
  update: UpdateExpression,
  condition: string,
): Promise<Written> {
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        ...update.toParams(condition),
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { item: Attributes ?? {} };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // The exception carries the item in DynamoDB's wire format; the document client does not convert it.
    const item = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
    return item ? { existing: unmarshall(item) } : {};
  }
}

/**
 * Applies `transition` to the item in `tableName`, creating it if needed. Whether it is a step
 * forward, a late hook, a repeat, or not the item's (another node's, an earlier generation's) is
 * decided by the writes' conditions; the item a failed condition returns only says which. A repeat
 * of a hook already applied costs one failed write and changes nothing.
 */
export function applyTransition(
  tableName: string,
  model: LifecycleModel,
  t: Transition,
): Promise<TransitionResult> {
  const endedAt = t.happenedAt !== undefined && t.happenedAt < t.at ? t.happenedAt : t.at;
  return attempt(tableName, model, t, endedAt, 1);
}

async function attempt(
  tableName: string,
  model: LifecycleModel,
  t: Transition,
  endedAt: string,
  tries: number,
): Promise<TransitionResult> {
  if (tries > MAX_ATTEMPTS) throw new Error(`the item kept changing under a ${t.status} transition`);
  const again = (end = endedAt) => attempt(tableName, model, t, end, tries + 1);
  const rank = rankOf(model, t.status);
  const forward = forwardUpdate(model, t, endedAt);
  const r = forward.name('statusRank');
  const s = forward.name('status');
  const [rankValue, statusValue] = [forward.value(rank), forward.value(t.status)];
  const condition = [
    `(attribute_not_exists(${r}) OR ${r} < ${rankValue} OR (${r} = ${rankValue} AND ${s} < ${statusValue}))`,
    ...ownership(forward, model, t),
    ...clamped(forward, model, t, endedAt),
  ].join(' AND ');
  const written = await conditionalUpdate(tableName, t.key, forward, condition);
  if ('item' in written) return { outcome: 'advanced', item: written.item };

  const { existing } = written;
  // No item, so only the clamp failed: an end with nothing before it is stamped when it arrived.
  if (!existing) return again(t.at);
  if (mayStartGeneration(model, t, existing)) {
    const generation = await startGeneration(tableName, model, t, existing);
    const result = await again();
    return generation === undefined ? result : { ...result, generation };
  }
  const notOurs = notTheItems(model, t, existing);
  if (notOurs) return notOurs;
  // A step forward refused only because the end would precede the item's first hook.
  if (rankAllows(model, t, existing)) return again(String(existing.firstStatusAt ?? t.at));
  if (!t.provisional && existing.provisional === true && existing.status === t.status)
    return replaceProvisional(tableName, model, t, endedAt, existing, again);
  const seen = existing.seenStatuses;
  // A status already seen is a repeat; a provisional report of what is known already is no news.
  if ((seen instanceof Set && seen.has(t.status)) || t.provisional) return { outcome: 'duplicate' };
  return applyLate(tableName, model, t, existing);
}

/**
 * The real hook of the status a provisional one reported: a step forward that replaces its facts
 * (those it does not restate are removed) and makes the status seen.
 */
async function replaceProvisional(
  tableName: string,
  model: LifecycleModel,
  t: Transition,
  endedAt: string,
  existing: Record<string, unknown>,
  again: () => Promise<TransitionResult>,
): Promise<TransitionResult> {
  const restated = new Set(
    [...defined(t.constants), ...defined(t.latest), ...defined(t.marks ?? {})].map(([k]) => k),
  );
  const facts = existing.provisionalFacts instanceof Set ? [...existing.provisionalFacts].map(String) : [];
  const update = forwardUpdate(
    model,
    t,
    endedAt,
    facts.filter((fact) => !restated.has(fact)),
  );
  const condition = [
    `${update.name('provisional')} = ${update.value(true)}`,
    `${update.name('status')} = ${update.value(t.status)}`,
    ...ownership(update, model, t),
    ...clamped(update, model, t, endedAt),
  ].join(' AND ');
  const written = await conditionalUpdate(tableName, t.key, update, condition);
  return 'item' in written ? { outcome: 'advanced', item: written.item } : again();
}

/** Adds `t`, not a step forward, to the item's history, filling only the facts it lacks. */
async function applyLate(
  tableName: string,
  model: LifecycleModel,
  t: Transition,
  existing: Record<string, unknown>,
): Promise<TransitionResult> {
  const rank = rankOf(model, t.status);
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
    rank < 0
      ? [`size(${seenName}) < ${late.value(UNKNOWN_STATUSES_KEPT + knownSeen(model, existing.seenStatuses))}`]
      : [];
  const condition = [unseen, ...bounded, ...ownership(late, model, t)].join(' AND ');
  const written = await conditionalUpdate(tableName, t.key, late, condition);
  if ('item' in written) return { outcome: 'late', item: written.item };
  const now = written.existing;
  const notOurs = now && notTheItems(model, t, now);
  if (notOurs) return notOurs;
  // A concurrent copy of the same hook got there first; or the history is full.
  const seen = now?.seenStatuses;
  if (bounded.length === 0 || (seen instanceof Set && seen.has(t.status))) return { outcome: 'duplicate' };
  const dropped = new UpdateExpression().increment('historyDropped', 1);
  const { Attributes } = await dynamo.send(
    new UpdateCommand({ TableName: tableName, Key: t.key, ...dropped.toParams(), ReturnValues: 'ALL_NEW' }),
  );
  return { outcome: 'late', ...(Attributes && { item: Attributes }) };
}

/** How many of the statuses in `seen` the model knows (they do not count against the bound on unknown ones). */
function knownSeen(model: LifecycleModel, seen: unknown): number {
  return seen instanceof Set ? [...seen].filter((s) => rankOf(model, String(s)) >= 0).length : 0;
}

/**
 * The item that replaces the ended `existing` one when `t` starts its next generation: the key and
 * `t`'s constants, the generation after the item's (an item without one is the first), when it
 * began (`t.at`), and the summaries of the earlier ones (`LifecycleModel.generations`), at most
 * `kept`, the oldest dropped and counted in `earlierGenerationsDropped`.
 */
export function nextGenerationItem(
  model: LifecycleModel,
  t: Pick<Transition, 'key' | 'at' | 'expiresAt' | 'constants'>,
  existing: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const { summary, kept } = model.generations ?? { summary: [], kept: 0 };
  const current = Number(existing.generation ?? 1);
  const earlier = Array.isArray(existing.previousGenerations) ? existing.previousGenerations : [];
  const summarised = Object.fromEntries(
    summary.filter((k) => existing[k] !== undefined).map((k) => [k, existing[k]]),
  );
  const previous = [...earlier, { ...summarised, generation: current }];
  const dropped = Math.max(0, previous.length - kept);
  const droppedInAll = Number(existing.earlierGenerationsDropped ?? 0) + dropped;
  return {
    // With the transition's constants (its node, its app), so that no reader finds the session
    // nowhere between this write and the transition's own.
    ...Object.fromEntries(defined(t.constants)),
    ...t.key,
    generation: current + 1,
    generationStartedAt: t.at,
    previousGenerations: previous.slice(dropped),
    ...(droppedInAll > 0 && { earlierGenerationsDropped: droppedInAll }),
    expiresAt: t.expiresAt,
  };
}

/**
 * Replaces the ended `existing` item by its next generation (`nextGenerationItem`), conditional on
 * no one having replaced it first (its `generation`) and on it having ended. Answers the new
 * generation, or `undefined` when another write replaced it first (the transition is then tried on
 * what that left).
 */
async function startGeneration(
  tableName: string,
  model: LifecycleModel,
  t: Transition,
  existing: Record<string, unknown>,
): Promise<number | undefined> {
  const item = nextGenerationItem(model, t, existing);
  const condition = new UpdateExpression();
  const g = condition.name('generation');
  const sameGeneration =
    existing.generation === undefined
      ? `attribute_not_exists(${g})`
      : `${g} = ${condition.value(existing.generation)}`;
  try {
    await dynamo.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: `${sameGeneration} AND ${condition.name('statusRank')} >= ${condition.value(TERMINAL_RANK)}`,
        ExpressionAttributeNames: condition.names,
        ExpressionAttributeValues: condition.values,
      }),
    );
    return Number(item.generation);
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return undefined;
  }
}
