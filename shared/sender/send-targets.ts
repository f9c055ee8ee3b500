import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { appKeysOr } from '../state/apps.ts';
import { getSession, listOpenSessions } from '../state/sessions.ts';
import { listLiveStreams } from '../state/streams.ts';

const identifier = z.string().check(z.minLength(1), z.maxLength(512));

/** A send target, as the API, the queue and the CLI take it. */
export const sendTarget = z.union([
  z.strictObject({ sessionId: identifier }),
  z.strictObject({ userId: identifier, appKey: z.optional(identifier) }),
  z.strictObject({
    streamName: z.string().check(z.minLength(1), z.maxLength(1024)),
    appKey: z.optional(identifier),
  }),
  z.strictObject({ appKey: identifier }),
]);
export type SendTarget = z.infer<typeof sendTarget>;

/** A session a message can be pushed to. */
export interface Recipient {
  readonly sessionId: string;
  readonly nodeId: string;
  readonly appKey: string;
}

/** A short label of `target` for the record: `session:<id>`, `user:<id>`, `stream:<name>`, `app:<key>`. */
export function describeTarget(target: SendTarget): string {
  if ('sessionId' in target) return `session:${target.sessionId}`;
  if ('userId' in target) return `user:${target.userId}${target.appKey ? `@${target.appKey}` : ''}`;
  if ('streamName' in target) return `stream:${target.streamName}${target.appKey ? `@${target.appKey}` : ''}`;
  return `app:${target.appKey}`;
}

/** The sessions playing `name` now, in `appKey` or in every app: Queries on the `liveStreams` index. */
async function playersOf(name: string, appKey: string | undefined): Promise<Recipient[]> {
  const players = await listLiveStreams({ name, published: false, ...(appKey && { appKey }) });
  return players.map((p) => ({ sessionId: p.sessionId, nodeId: p.nodeId, appKey: p.appKey }));
}

/** The sessions `target` names now, each once. An ended or unknown session resolves to none. */
export async function resolveTarget(target: SendTarget): Promise<Recipient[]> {
  let found: Recipient[] = [];
  if ('sessionId' in target) {
    const session = await getSession(target.sessionId);
    if (session && !session.ended)
      found = [{ sessionId: session.sessionId, nodeId: session.nodeId, appKey: session.appKey }];
  } else if ('userId' in target) {
    for (const app of await appKeysOr(target.appKey))
      found.push(...(await listOpenSessions(app, target.userId)));
  } else if ('streamName' in target) {
    found = await playersOf(target.streamName, target.appKey);
  } else {
    found = await listOpenSessions(target.appKey);
  }
  const unique = new Map(found.map((r) => [r.sessionId, r]));
  return [...unique.values()];
}
