/**
 * The realms of the monitoring API, the same over STOMP (`SEND /app/api/<realm>`) and REST
 * (`POST /api/<realm>`), answering as WCS OAM does (reference §5.2): `{status, reason, payload}`,
 * 200 SUCCESS, or 400 with the reason. Every realm is a Query on a key or an index.
 */
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { METRIC } from '../kernel/metric-names.ts';
import { listOpenSessions, sessionRecord } from '../state/sessions.ts';
import { listLiveStreams, streamsByName, streamsOfSession } from '../state/streams.ts';
import type { RealmReply, RealmRequest } from './stomp/session.ts';
import { streamFields } from './views.ts';

const text = z.string().check(z.minLength(1), z.maxLength(1024));
const ok = (payload: unknown): RealmReply => ({ status: 200, reason: 'SUCCESS', payload });
const badRequest = (reason: string): RealmReply => ({ status: 400, reason });

/** A stream as the realms show it: OAM's field names where OAM has one. */
function streamView(item: Record<string, unknown>) {
  return {
    ...streamFields(item),
    status: item.status ?? (item.published ? 'PUBLISHING' : 'PLAYING'),
    ...(item.info !== undefined && { info: item.info }),
    ...(item.firstStatusAt !== undefined && { createDate: item.firstStatusAt }),
    ...(item.endedAt !== undefined && { endDate: item.endedAt }),
  };
}

const streamList = z.object({
  app: z.optional(text),
  name: z.optional(text),
  node: z.optional(text),
  publisher: z.optional(z.boolean()),
  status: z.optional(text),
});

/** Live streams (PUBLISHING, PLAYING) of one app or of every app (policy or not), filtered. */
async function listStreams(payload: z.infer<typeof streamList>) {
  const live = await listLiveStreams({
    ...(payload.app !== undefined && { appKey: payload.app }),
    ...(payload.name !== undefined && { name: payload.name }),
    ...(payload.publisher !== undefined && { published: payload.publisher }),
  });
  return live
    .map((s) => streamView({ ...s }))
    .filter(
      (s) =>
        (payload.node === undefined || s.node === payload.node) &&
        (payload.status === undefined || s.status === payload.status),
    );
}

const streamHistory = z.object({
  name: text,
  from: z.optional(text),
  to: z.optional(text),
  limit: z._default(z.int().check(z.positive(), z.maximum(100)), 50),
});

/** Every publish and play of a name over a time range (`byName` index), newest first. */
async function streamHistoryOf(payload: z.infer<typeof streamHistory>) {
  const streams = await streamsByName(payload.name, {
    ...(payload.from && { from: payload.from }),
    ...(payload.to && { to: payload.to }),
    limit: payload.limit,
  });
  return streams.map(streamView).sort((a, b) => String(b.createDate).localeCompare(String(a.createDate)));
}

const sessionList = z.object({ app: text, user: z.optional(text) });
const sessionHistory = z.object({ sessionId: text });

/** One session and its streams, in time order. */
async function sessionHistoryOf(sessionId: string) {
  const [Item, streams] = await Promise.all([sessionRecord(sessionId), streamsOfSession(sessionId)]);
  if (!Item) return undefined;
  return {
    sessionId,
    app: Item.appKey,
    node: Item.nodeId,
    user: Item.userId,
    status: Item.status,
    info: Item.info,
    history: Item.statusHistory,
    streams: streams.map(streamView).sort((a, b) => String(a.createDate).localeCompare(String(b.createDate))),
  };
}

/** The counters the backend keeps (CloudWatch EMF metrics), described as OAM's metric/list describes its own. */
const METRICS = [
  { id: 1, enumName: METRIC.hooks, name: 'Hooks answered', note: 'by method' },
  { id: 2, enumName: METRIC.rejected, name: 'Hooks refused (4xx)', note: 'by method and error' },
  { id: 3, enumName: METRIC.errors, name: 'Hooks failed (5xx)', note: 'by method' },
  { id: 4, enumName: METRIC.latency, name: 'Hook latency', note: 'milliseconds, by method' },
  { id: 5, enumName: METRIC.admitted, name: 'Decisions admitted', note: 'by method' },
  {
    id: 6,
    enumName: METRIC.decisionFallback,
    name: 'Decisions by fail mode',
    note: 'by method and fail mode',
  },
  { id: 7, enumName: METRIC.spilled, name: 'Event hooks spilled', note: 'by method' },
  { id: 8, enumName: METRIC.apiRequests, name: 'Operator API requests answered', note: 'by route' },
];

function parse<T>(schema: z.ZodMiniType<T>, payload: unknown): T | RealmReply {
  const result = schema.safeParse(payload ?? {});
  if (result.success) return result.data;
  return badRequest(
    result.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; '),
  );
}

const isReply = (value: unknown): value is RealmReply =>
  typeof value === 'object' && value !== null && 'status' in value && 'reason' in value && !('name' in value);

/** Answers one request. An unknown realm is a 400, as OAM answers a request it cannot serve. */
export async function handleRealm(request: RealmRequest): Promise<RealmReply> {
  const realm = request.realm.replace(/^\/app/, '');
  switch (realm) {
    case '/api/stream/list': {
      const payload = parse(streamList, request.payload);
      return isReply(payload) ? payload : ok(await listStreams(payload));
    }
    case '/api/stream/history': {
      const payload = parse(streamHistory, request.payload);
      return isReply(payload) ? payload : ok(await streamHistoryOf(payload));
    }
    case '/api/session/list': {
      const payload = parse(sessionList, request.payload);
      return isReply(payload) ? payload : ok(await listOpenSessions(payload.app, payload.user));
    }
    case '/api/session/history': {
      const payload = parse(sessionHistory, request.payload);
      if (isReply(payload)) return payload;
      const history = await sessionHistoryOf(payload.sessionId);
      return history ? ok(history) : badRequest('Object not found');
    }
    case '/api/metric/list': {
      const id = (request.payload as { id?: unknown } | undefined)?.id;
      return ok(id === undefined ? METRICS : METRICS.filter((m) => String(m.id) === String(id)));
    }
    default:
      return badRequest(`unknown realm ${request.realm}`);
  }
}
