/**
 * The realms of the monitoring API, the same over STOMP (`SEND /app/api/<realm>`) and REST
 * (`POST /api/<realm>`), answering as WCS OAM does (reference §5.2): `{status, reason, payload}`,
 * 200 SUCCESS, 400 with the reason for a payload that cannot be served (`Object not found` for an id
 * that names nothing), 500 when a dependency fails. Every realm is a Query on a key or an index.
 *
 * OAM numbers its nodes; wcs-hooks names a node by WCS's own nodeId (`<id>@<ip>`), which a client
 * passes back wherever OAM takes a node id. Profiles, rules and alarms are numbered as OAM numbers
 * them. `docs/realtime.md` shows each realm's request and reply.
 */
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { mapWithConcurrency } from '../kernel/concurrency.ts';
import { logger } from '../kernel/logger.ts';
import type { Realm } from '../kernel/registry.ts';
import { withSourceStack } from '../kernel/source-stack.ts';
import { STREAM_METRICS, streamMetricById } from '../kernel/stream-metrics.ts';
import { nodeChanges } from '../state/counters.ts';
import {
  type DenialSubject,
  denialEnd,
  deny,
  InvalidDenialError,
  listDenials,
  undeny,
} from '../state/denials.ts';
import { lastSamples } from '../state/metrics.ts';
import {
  deleteNode,
  getNode,
  hostOf,
  listNodes,
  type NodeStatus,
  setNodeProfiles,
} from '../state/monitoring.ts';
import {
  createOam,
  deleteOam,
  FIELDS,
  getOam,
  idPayload,
  listOam,
  OamConfigError,
  type OamKind,
  problems,
  updateOam,
} from '../state/oam-config.ts';
import { listOpenSessions, openSessionsOn, sessionItems, sessionRecord } from '../state/sessions.ts';
import {
  type LiveStream,
  listLiveStreams,
  streamItems,
  streamsByName,
  streamsByTime,
  streamsOfSession,
} from '../state/streams.ts';
import {
  answerUsage,
  InvalidUsageQuestionError,
  type UsageRequest,
  usageQuestion,
} from '../state/usage-answers.ts';
import type { RealmReply, RealmRequest } from './stomp/session.ts';
import { nodeStatusView, streamFields } from './views.ts';

const text = z.string().check(z.minLength(1), z.maxLength(1024));
const ok = (payload?: unknown): RealmReply => ({
  status: 200,
  reason: 'SUCCESS',
  ...(payload !== undefined && { payload }),
});
const badRequest = (reason: string): RealmReply => ({ status: 400, reason });
const NOT_FOUND = 'Object not found';

/** A whole number, as a JSON number or its text (OAM spells numbers as text). */
const count = (min: number, max: number, fallback: number) =>
  z._default(
    z
      .pipe(
        z.union([z.int(), z.string().check(z.regex(/^\d{1,9}$/, 'a whole number'))]),
        z.transform((v) => Number(v)),
      )
      .check(z.refine((n) => n >= min && n <= max, `between ${min} and ${max}`)),
    fallback,
  );
/**
 * Paging, for every realm whose answer grows with the cluster: `limit` items after skipping
 * `offset`, as OAM pages `stream/history` and `stream/metrics`. Without a `limit`, a list answers
 * `LIST_LIMIT` items: typical ones (a stream is about 350 bytes) stay far within what one STOMP
 * message carries (128 KiB); whatever the limit, an answer is cut to fit its transport (`fitReply`).
 */
export const LIST_LIMIT = 100;
export const LIST_LIMIT_MAX = 1000;
const OFFSET_MAX = 1_000_000;
const page = (fallback = LIST_LIMIT, max = LIST_LIMIT_MAX) => ({
  limit: count(1, max, fallback),
  offset: count(0, OFFSET_MAX, 0),
});
type Page = { readonly limit: number; readonly offset: number };

/** The page `p` of `all`, with how many there are and whether more follow. */
const paged = <T>(all: readonly T[], p: Page): RealmReply => ({
  ...ok(all.slice(p.offset, p.offset + p.limit)),
  total: all.length,
  more: p.offset + p.limit < all.length,
});

/** Epoch milliseconds, or an ISO date. */
const instant = z.pipe(
  z.union([z.int(), z.string().check(z.minLength(1), z.maxLength(40))]),
  z.transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) {
      ctx.issues.push({ code: 'custom', message: 'epoch milliseconds or an ISO date', input: v });
      return z.NEVER;
    }
    return ms;
  }),
);
/** `true`/`false`, or OAM's `1`/`0` and their text. */
const flag = z.pipe(
  z.union([z.boolean(), z.literal(0), z.literal(1), z.enum(['true', 'false', '0', '1'])]),
  z.transform((v) => v === true || v === 1 || v === 'true' || v === '1'),
);
const nodeRef = z.pipe(
  z.union([z.string().check(z.minLength(1), z.maxLength(300)), z.int()]),
  z.transform((v) => String(v)),
);

const ms = (iso: unknown) => (typeof iso === 'string' ? Date.parse(iso) : undefined);

/** A stream as the realms show it: OAM's field names where OAM has one, dates in epoch ms. */
function streamView(item: Record<string, unknown>, now = Date.now()) {
  const createDate = ms(item.firstStatusAt);
  const endDate = ms(item.endedAt);
  const refused = typeof item.refusedAt === 'string';
  return {
    id: item.mediaSessionId,
    ...streamFields(item),
    status: item.status ?? (refused ? 'FAILED' : item.published ? 'PUBLISHING' : 'PLAYING'),
    ...(item.info !== undefined && { info: item.info }),
    // Refused by its publishStream/playStream (WCS reports it FAILED): never admitted.
    ...(refused && { refused: true, refusal: item.refusal }),
    createDate: createDate ?? null,
    endDate: endDate ?? null,
    ...(createDate !== undefined && { duration: (endDate ?? now) - createDate }),
  };
}
type StreamView = ReturnType<typeof streamView>;

const streamFilter = {
  app: z.optional(text),
  node: z.optional(nodeRef),
  nodeIp: z.optional(text),
  nodeHostName: z.optional(text),
  mediaId: z.optional(text),
  name: z.optional(text),
  publisher: z.optional(flag),
  status: z.optional(text),
};
type StreamFilter = { [K in keyof typeof streamFilter]?: z.infer<(typeof streamFilter)[K]> };

/** What a stream filter looks at: a stream's view, or its `liveStreams` index entry made one. */
type Filtered = Pick<StreamView, 'app' | 'node' | 'mediaId' | 'name' | 'publisher' | 'status'>;

function matches(filter: StreamFilter, s: Filtered): boolean {
  const node = typeof s.node === 'string' ? s.node : '';
  return (
    (filter.app === undefined || s.app === filter.app) &&
    (filter.node === undefined || node === filter.node || hostOf(node) === filter.node) &&
    (filter.nodeIp === undefined || hostOf(node) === filter.nodeIp) &&
    (filter.nodeHostName === undefined || hostOf(node) === filter.nodeHostName) &&
    (filter.mediaId === undefined || s.mediaId === filter.mediaId) &&
    (filter.name === undefined || s.name === filter.name) &&
    (filter.publisher === undefined || s.publisher === filter.publisher) &&
    (filter.status === undefined || s.status === filter.status)
  );
}

/**
 * A live stream's index entry as a filter sees it. Only PUBLISHING and PLAYING streams are in the
 * `liveStreams` index, and a publisher's live status is PUBLISHING, a player's PLAYING.
 */
const liveFiltered = (s: LiveStream): Filtered => ({
  app: s.appKey,
  node: s.nodeId,
  mediaId: s.mediaSessionId,
  name: s.name,
  publisher: s.published,
  status: s.published ? 'PUBLISHING' : 'PLAYING',
});

/** Live streams in a stable order, for paging: by app, name, publisher before players, mediaId. */
const liveOrder = (a: LiveStream, b: LiveStream) =>
  a.appKey.localeCompare(b.appKey) ||
  a.name.localeCompare(b.name) ||
  Number(b.published) - Number(a.published) ||
  a.mediaSessionId.localeCompare(b.mediaSessionId);

const streamList = z.object({ ...streamFilter, showClosed: z._default(flag, false), ...page() });

/** Ended streams `showClosed` adds: those of the last day, at most this many, newest first. */
const CLOSED_SHOWN = 500;

/**
 * Live streams (PUBLISHING, PLAYING) of one app or of every app (policy or not), filtered, each with
 * its `age` (ms since it started); with `showClosed`, then those of the last day that have ended.
 * The live ones are filtered and paged on the `liveStreams` index's entries (app, name, role, node:
 * every filter), and only the page's items are read: 10,000 live streams cost one Query per
 * shard of small entries and one BatchGet of a page, not 10,000 items.
 */
async function listStreams(payload: z.infer<typeof streamList>): Promise<RealmReply> {
  const now = Date.now();
  const live = (
    await listLiveStreams({
      ...(payload.app !== undefined && { appKey: payload.app }),
      ...(payload.name !== undefined && { name: payload.name }),
      ...(payload.publisher !== undefined && { published: payload.publisher }),
    })
  )
    .filter((s) => matches(payload, liveFiltered(s)))
    .sort(liveOrder);
  const closed = payload.showClosed ? await recentlyClosed(payload, live, now) : [];
  const { offset, limit } = payload;
  const livePage = live.slice(offset, offset + limit);
  const byId = new Map((await streamItems(livePage)).map((item) => [item.mediaSessionId, item]));
  const shown = [
    // An entry whose item is gone meanwhile (ended and expired) is left out.
    ...livePage.flatMap((s) => {
      const item = byId.get(s.mediaSessionId);
      return item ? [streamView(item, now)] : [];
    }),
    ...closed.slice(Math.max(0, offset - live.length), Math.max(0, offset + limit - live.length)),
  ];
  const total = live.length + closed.length;
  return {
    ...ok(shown.map((s) => ({ ...s, age: s.createDate === null ? null : now - s.createDate }))),
    total,
    more: offset + limit < total,
  };
}

/** The streams of the last day that have ended and match `payload`, newest first (at most `CLOSED_SHOWN`). */
async function recentlyClosed(payload: StreamFilter, live: readonly LiveStream[], now: number) {
  const from = new Date(now - 86_400_000).toISOString();
  const recent = payload.name
    ? await streamsByName(payload.name, { from, limit: CLOSED_SHOWN })
    : await streamsByTime({ from, to: new Date(now).toISOString(), limit: CLOSED_SHOWN, offset: 0 });
  const liveIds = new Set(live.map((s) => s.mediaSessionId));
  return recent
    .filter((i) => i.endedAt !== undefined && !liveIds.has(String(i.mediaSessionId)))
    .map((item) => streamView(item, now))
    .filter((s) => matches(payload, s))
    .sort((a, b) => (b.createDate ?? 0) - (a.createDate ?? 0));
}

const streamHistory = z.object({
  ...streamFilter,
  /** First status at or after (epoch ms or ISO); default a day before `to`. */
  from: z.optional(instant),
  to: z.optional(instant),
  createDate: z.optional(instant),
  endDate: z.optional(instant),
  limit: count(1, 100, 50),
  offset: count(0, 10_000, 0),
});

/** A publisher's `subscribers` list shows at most this many plays; `subscriberCount` counts them all. */
export const SUBSCRIBERS_SHOWN = 20;
/** Plays of a name read to find a publisher's subscribers (the latest ones). */
const PLAYS_READ = 100;

/**
 * Publishes and plays, newest first, with OAM's fields and paging: by name (`byName`), else by the
 * day they started (`byDay`), filtered; `more` when more follow the page. A publisher's
 * `subscribers` are the plays of its name that started while it was live, refused ones left out
 * (they are listed, `refused`, but nobody watched): the latest `SUBSCRIBERS_SHOWN` of them, `subscriberCount` how many there are among its name's latest
 * `PLAYS_READ` plays (all of them: `stream/history {name, publisher: false, from, to}`).
 */
async function streamHistoryOf(payload: z.infer<typeof streamHistory>): Promise<RealmReply> {
  const now = Date.now();
  const to = payload.to ?? payload.endDate ?? now;
  const from = payload.from ?? payload.createDate ?? (payload.name ? 0 : to - 86_400_000);
  const filtered = Object.keys(payload).some((k) => k in streamFilter && k !== 'name');
  const wanted = payload.offset + payload.limit;
  // One more than the page, to know whether more follow; a filter may drop many: read more then.
  const read = filtered ? Math.max((wanted + 1) * 4, 100) : wanted + 1;
  const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const items = payload.name
    ? await streamsByName(payload.name, { ...range, limit: read })
    : await streamsByTime({ ...range, limit: read, offset: 0 });
  const matching = items
    .map((item) => streamView(item, now))
    .filter((s) => matches(payload, s))
    .sort((a, b) => (b.createDate ?? 0) - (a.createDate ?? 0));
  const page = matching.slice(payload.offset, wanted);
  const players = new Map<string, StreamView[]>();
  for (const name of new Set(page.filter((s) => s.publisher).map((s) => String(s.name)))) {
    const plays = await streamsByName(name, { ...range, to: new Date(now).toISOString(), limit: PLAYS_READ });
    players.set(
      name,
      plays.map((p) => streamView(p, now)).filter((p) => p.publisher === false && !p.refused),
    );
  }
  const shown = page.map((s) => {
    const subscribers = s.publisher
      ? (players.get(String(s.name)) ?? [])
          .filter(
            (p) =>
              p.app === s.app &&
              p.createDate !== null &&
              s.createDate !== null &&
              p.createDate >= s.createDate &&
              (s.endDate === null || p.createDate <= s.endDate),
          )
          .map((p) => p.mediaId)
      : [];
    return {
      ...s,
      subscribers: subscribers.slice(0, SUBSCRIBERS_SHOWN),
      subscriberCount: subscribers.length,
    };
  });
  return { ...ok(shown), more: matching.length > wanted || (filtered && items.length >= read) };
}

const streamMetrics = z.object({
  node: nodeRef,
  mediaId: text,
  limit: count(1, 1000, 1),
  offset: count(0, 100_000, 0),
  /** Samples taken at or after this time (epoch ms or ISO). */
  time: z.optional(instant),
  seq: z.optional(z.unknown()),
});

const sessionList = z.object({ app: z.optional(text), user: z.optional(text), ...page() });

/** How many nodes' open sessions are asked for at once (a cluster may know hundreds of nodes). */
const NODE_QUERY_CONCURRENCY = 8;

/**
 * Open sessions, of one app (`openByApp`, by user then sessionId) or, without `app`, of every app:
 * those open on each known node (`openByNode`, one Query per node; a node is known from its first
 * hook), by sessionId. Only the page's items are read (one BatchGet), for who, what status and since
 * when: `{sessionId, nodeId, appKey, app, node, user, status, createDate, duration}`. (`user` without
 * `app` is matched on the items, so it reads them all.)
 */
async function listSessions(payload: z.infer<typeof sessionList>): Promise<RealmReply> {
  const now = Date.now();
  const { app, user } = payload;
  const ids =
    app === undefined
      ? [
          ...new Set(
            (
              await mapWithConcurrency(await listNodes(), NODE_QUERY_CONCURRENCY, (n) =>
                openSessionsOn(n.nodeId),
              )
            ).flat(),
          ),
        ].sort()
      : (await listOpenSessions(app, user)).map((s) => s.sessionId);
  const byUser = app === undefined && user !== undefined;
  const wanted = byUser ? ids : ids.slice(payload.offset, payload.offset + payload.limit);
  const items = new Map((await sessionItems(wanted)).map((i) => [String(i.sessionId), i]));
  const shown = wanted.flatMap((sessionId) => {
    const item = items.get(sessionId);
    // An id whose item is gone meanwhile (ended and expired) is left out.
    if (!item || (byUser && item.userId !== user)) return [];
    const createDate = ms(item.generationStartedAt ?? item.firstStatusAt ?? item.connectedAt) ?? null;
    return [
      {
        sessionId,
        nodeId: item.nodeId,
        appKey: item.appKey,
        app: item.appKey,
        node: item.nodeId,
        user: item.userId ?? null,
        status: item.status ?? null,
        createDate,
        duration: createDate === null ? null : now - createDate,
      },
    ];
  });
  if (byUser) return paged(shown, payload);
  return { ...ok(shown), total: ids.length, more: payload.offset + payload.limit < ids.length };
}
const sessionHistory = z.object({ sessionId: text });

/** One session and its streams, in time order. */
async function sessionHistoryOf(sessionId: string) {
  const [Item, streams] = await Promise.all([sessionRecord(sessionId), streamsOfSession(sessionId)]);
  if (!Item) return undefined;
  const views = streams.map((s) => streamView(s)).sort((a, b) => (a.createDate ?? 0) - (b.createDate ?? 0));
  // A session id used again holds one generation after another; a stream belongs to the generation
  // whose span holds its start (docs/data-model.md).
  const startOf = (g: Record<string, unknown>) => ms(g.generationStartedAt ?? g.firstStatusAt) ?? 0;
  const previous = ((Item.previousGenerations as Record<string, unknown>[] | undefined) ?? []).map(
    (g, i) => ({
      generation: g.generation ?? i + 1,
      ...g,
    }),
  );
  const starts = [...previous.map(startOf), startOf(Item)];
  const streamsOf = (index: number) =>
    views.filter(
      (s) =>
        (s.createDate ?? 0) >= (starts[index] ?? 0) &&
        (index + 1 >= starts.length || (s.createDate ?? 0) < (starts[index + 1] ?? Number.POSITIVE_INFINITY)),
    );
  return {
    sessionId,
    app: Item.appKey,
    node: Item.nodeId,
    user: Item.userId,
    status: Item.status,
    info: Item.info,
    generation: Item.generation ?? 1,
    generationStartedAt: ms(Item.generationStartedAt ?? Item.firstStatusAt) ?? null,
    endDate: ms(Item.endedAt) ?? null,
    endDetectedAt: ms(Item.endDetectedAt) ?? null,
    ...(Item.provisional === true && { provisional: true }),
    history: Item.statusHistory,
    streams: streamsOf(previous.length),
    previousGenerations: previous.map((g, i) => ({ ...g, streams: streamsOf(i) })),
    ...(Item.earlierGenerationsDropped !== undefined && {
      earlierGenerationsDropped: Item.earlierGenerationsDropped,
    }),
  };
}

/** A node as `node/list` shows it. */
const nodeListView = (n: NodeStatus) => ({ id: n.nodeId, host: n.host, profiles: n.profiles ?? [] });

const optionalId = z.object({ id: z.optional(nodeRef) });
const nodeList = z.object({ id: z.optional(nodeRef), ...page() });
const nodeUpdate = z.object({
  id: nodeRef,
  profiles: z.array(z.pipe(z.union([z.int(), z.string()]), z.transform(Number))),
});

/** The nodes `id` names: itself by nodeId, or every node with that IP; all without an id. */
async function nodesNamed(id: string | undefined): Promise<NodeStatus[] | undefined> {
  if (id === undefined) return listNodes();
  const exact = await getNode(id);
  if (exact) return [exact];
  const byHost = (await listNodes()).filter((n) => n.host === id);
  return byHost.length > 0 ? byHost : undefined;
}

type Handler = (payload: unknown) => Promise<RealmReply>;

/**
 * `payload` without its fields given as an empty string. OAM's own page sends every filter it has,
 * those the operator left blank as `""` (`{"node":"","publisher":"",...}`): in every realm, a field
 * given as `""` is a field left out (no filter; every node for an alarm's node; unchanged in an
 * update), and a required one is then missing.
 */
function withoutEmptyStrings(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== ''));
}

/** A realm that validates its payload with `schema` before `serve` sees it. */
function realm<T>(schema: z.ZodMiniType<T>, serve: (payload: T) => Promise<RealmReply>): Handler {
  return async (payload) => {
    const parsed = schema.safeParse(withoutEmptyStrings(payload ?? {}));
    if (!parsed.success) return badRequest(problems(parsed.error.issues));
    try {
      return await serve(parsed.data);
    } catch (error) {
      if (error instanceof OamConfigError) return badRequest(error.message);
      throw error;
    }
  };
}

/** `create`, `update`, `delete` and `list` of an OAM object kind, over the configuration store. */
function crud(
  kind: OamKind,
  listFilter?: (object: Record<string, unknown>, payload: Record<string, unknown>) => boolean,
) {
  const fields = FIELDS[kind] as unknown as z.ZodMiniType<Record<string, unknown>>;
  return {
    create: realm(fields, async (payload) => ok({ id: (await createOam(kind, payload as never)).id })),
    update: realm(z.looseObject({ id: idPayload.shape.id }), async ({ id, ...change }) => {
      await updateOam(kind, id, change);
      return ok();
    }),
    delete: realm(idPayload, async ({ id }) => {
      await deleteOam(kind, id);
      return ok();
    }),
    list: realm(z.looseObject({ id: z.optional(idPayload.shape.id), ...page() }), async (payload) => {
      if (payload.id !== undefined) {
        const one = await getOam(kind, payload.id);
        return one ? ok([one]) : badRequest(NOT_FOUND);
      }
      const all = (await listOam(kind)) as unknown as Record<string, unknown>[];
      return paged(listFilter ? all.filter((o) => listFilter(o, payload)) : all, payload);
    }),
  };
}

const profiles = crud('profile');
const rules = crud('rule', (rule, payload) => {
  if (payload.profile === undefined) return true;
  return (rule.profiles as number[]).includes(Number(payload.profile));
});
const alarms = crud('alarm');

/** Whom a `denial/*` realm names: a `user` or a `token` (its `jti`), in an `app` or (none) every app. */
const denialTarget = {
  user: z.optional(text),
  token: z.optional(text),
  app: z.optional(text),
};
const denialCreate = z.object({
  ...denialTarget,
  /** An ISO date; or `for`, a duration (`2h`, `7d`); neither: for good. */
  until: z.optional(text),
  for: z.optional(text),
  reason: z.optional(text),
});

/** The one subject `payload` names, or a 400 reply when it names none or both. */
function subjectOf(payload: { user?: string; token?: string }): [DenialSubject, string] | RealmReply {
  if ((payload.user === undefined) === (payload.token === undefined))
    return badRequest('give user or token (its jti), one of them');
  return payload.user !== undefined ? ['user', payload.user] : ['token', String(payload.token)];
}

/**
 * The `denial/*` realms, as `deny`, `undeny` and `denials list` in the CLI (`state/denials.ts`):
 * create answers the denial and the sessions it revoked; delete answers `Object not found` when
 * there was none.
 */
const denials = {
  create: realm(denialCreate, async (p) => {
    const subject = subjectOf(p);
    if (!Array.isArray(subject)) return subject;
    try {
      const now = new Date();
      const until = denialEnd(p.until, p.for, now);
      const request = { subject: subject[0], name: subject[1], appKey: p.app, until, reason: p.reason };
      return ok(await deny(request, now));
    } catch (error) {
      if (error instanceof InvalidDenialError) return badRequest(error.message);
      throw error;
    }
  }),
  delete: realm(z.object(denialTarget), async (p) => {
    const subject = subjectOf(p);
    if (!Array.isArray(subject)) return subject;
    return (await undeny(subject[0], subject[1], p.app)) ? ok() : badRequest(NOT_FOUND);
  }),
  list: realm(z.object({ app: z.optional(text), ...page() }), async (p) =>
    paged(await listDenials(new Date(), p.app), p),
  ),
};

/** What both usage realms take: the app, its range of UTC days, a page of the rows. */
const usageRange = { app: z.optional(text), from: z.optional(text), to: z.optional(text), ...page() };

/**
 * The `usage/*` realms: the answer `npm run cli -- usage` prints (`state/usage-answers.ts`), its rows
 * a page at a time (`total`, `more`); a question that cannot be answered (a day that is not
 * `YYYY-MM-DD`, a range backwards or over a year, an unknown app) is a 400 saying why.
 */
async function usageReply(request: UsageRequest, p: Page): Promise<RealmReply> {
  try {
    const answer = await answerUsage(usageQuestion(request), p);
    return { ...ok(answer.rows), total: answer.total, more: answer.more };
  } catch (error) {
    if (error instanceof InvalidUsageQuestionError) return badRequest(error.message);
    throw error;
  }
}

const usage = {
  app: realm(z.object({ ...usageRange, by: z.optional(text) }), (p) => usageReply(p, p)),
  stream: realm(z.object({ ...usageRange, name: z.optional(text) }), async ({ name, ...p }) =>
    name === undefined
      ? badRequest('name is needed: the stream name whose publishes to answer')
      : usageReply({ ...p, stream: name, by: 'publish' }, p),
  ),
};

/** Every realm, by name: the registry lists them (`REALMS`), and each has its handler here. */
const REALM_HANDLERS: Readonly<Record<Realm, Handler>> = {
  '/api/stream/list': realm(streamList, listStreams),
  '/api/stream/history': realm(streamHistory, streamHistoryOf),
  '/api/stream/metrics': realm(streamMetrics, async (p) => {
    const nodes = await nodesNamed(p.node);
    const nodeId = nodes?.[0]?.nodeId ?? p.node;
    // One more than asked, to know whether more follow.
    const samples = await lastSamples(nodeId, p.mediaId, {
      limit: p.limit + 1,
      offset: p.offset,
      ...(p.time !== undefined && { since: p.time }),
    });
    return { ...ok(samples.slice(0, p.limit)), more: samples.length > p.limit };
  }),
  '/api/session/list': realm(sessionList, listSessions),
  '/api/session/history': realm(sessionHistory, async (p) => {
    const history = await sessionHistoryOf(p.sessionId);
    return history ? ok(history) : badRequest(NOT_FOUND);
  }),
  '/api/metric/list': realm(optionalId, async ({ id }) => {
    if (id === undefined) return ok(STREAM_METRICS);
    const metric = streamMetricById(id);
    return metric ? ok([metric]) : badRequest(NOT_FOUND);
  }),
  '/api/node/list': realm(nodeList, async (p) => {
    const nodes = await nodesNamed(p.id);
    return nodes ? paged(nodes.map(nodeListView), p) : badRequest(NOT_FOUND);
  }),
  '/api/node/update': realm(nodeUpdate, async ({ id, profiles: assigned }) => {
    const known = new Set((await listOam('profile')).map((p) => p.id));
    const missing = assigned.find((p) => !known.has(p));
    if (missing !== undefined) return badRequest(`profile ${missing} does not exist`);
    const nodes = await nodesNamed(id);
    if (!nodes) return badRequest(NOT_FOUND);
    for (const node of nodes) await setNodeProfiles(node.nodeId, assigned);
    return ok();
  }),
  '/api/node/delete': realm(z.object({ id: nodeRef }), async ({ id }) => {
    const nodes = await nodesNamed(id);
    if (!nodes) return badRequest(NOT_FOUND);
    for (const node of nodes) await deleteNode(node.nodeId);
    return ok();
  }),
  '/api/node_status/list': realm(nodeList, async (p) => {
    const nodes = await nodesNamed(p.id);
    if (!nodes) return badRequest(NOT_FOUND);
    // What reconciliations changed per node over the last 24 hours and 7 days: two Queries for
    // every node.
    const page = paged(nodes, p);
    const shown = (page.payload as NodeStatus[]) ?? [];
    const changesOf = await nodeChanges(new Date());
    return {
      ...page,
      payload: shown.map((n) => ({ ...nodeStatusView({ ...n }), reconciled: changesOf(n.nodeId) })),
    };
  }),
  '/api/profile/create': profiles.create,
  '/api/profile/update': profiles.update,
  '/api/profile/delete': profiles.delete,
  '/api/profile/list': profiles.list,
  '/api/rule/create': rules.create,
  '/api/rule/update': rules.update,
  '/api/rule/delete': rules.delete,
  '/api/rule/list': rules.list,
  '/api/alarm/create': alarms.create,
  '/api/alarm/update': alarms.update,
  '/api/alarm/delete': alarms.delete,
  '/api/alarm/list': alarms.list,
  '/api/denial/create': denials.create,
  '/api/denial/delete': denials.delete,
  '/api/denial/list': denials.list,
  '/api/usage/app': usage.app,
  '/api/usage/stream': usage.stream,
};

/**
 * `reply` in at most `maxBytes` of JSON: as it is when it fits; a list cut after the last whole
 * item that fits, with `more` (a client goes on from `offset` + the items it got); else a 400
 * saying how large the answer was. Never an answer its transport would refuse (a STOMP message over
 * 128 KiB, a Lambda response over 6 MB), which would reach the client as nothing or as a bare 500.
 */
export function fitReply(reply: RealmReply, maxBytes: number): RealmReply {
  const bytes = Buffer.byteLength(JSON.stringify(reply));
  if (bytes <= maxBytes) return reply;
  if (Array.isArray(reply.payload)) {
    let room = maxBytes - Buffer.byteLength(JSON.stringify({ ...reply, payload: [], more: true }));
    let kept = 0;
    for (const item of reply.payload) {
      // The item, and the comma before the next.
      room -= Buffer.byteLength(JSON.stringify(item)) + 1;
      if (room < 0) break;
      kept++;
    }
    if (kept > 0) return { ...reply, payload: reply.payload.slice(0, kept), more: true };
  }
  return badRequest(
    `the answer is ${bytes} bytes, more than the ${maxBytes} one answer may carry: ask for fewer (limit) or narrow the filters`,
  );
}

/**
 * Answers one request, in at most `maxReplyBytes` of JSON (`fitReply`). An unknown realm is a 400,
 * as OAM answers a request it cannot serve; a failure on the way (the database) is a 500, as OAM's
 * "Persist exception", logged with its cause.
 */
export async function handleRealm(
  request: RealmRequest,
  maxReplyBytes = Number.POSITIVE_INFINITY,
): Promise<RealmReply> {
  const name = request.realm.replace(/^\/app/, '');
  const handler = (REALM_HANDLERS as Readonly<Record<string, Handler>>)[name];
  if (!handler || !Object.hasOwn(REALM_HANDLERS, name)) return badRequest(`unknown realm ${request.realm}`);
  try {
    return fitReply(await handler(request.payload), maxReplyBytes);
  } catch (error) {
    logger.error('a realm failed', { realm: name, error: await withSourceStack(error as Error) });
    return { status: 500, reason: `the request could not be served (${(error as Error).name}); try again` };
  }
}
