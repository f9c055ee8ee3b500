/**
 * What a WCS node's finders answered, read strictly (reference §4): only a verified answer may
 * change state. An answer is one of:
 *
 * - a list, every entry checked against the shape WCS gives its stream and connection objects
 *   (§3.4, §3.5): one entry that is not a stream (or a connection) makes the whole answer unusable,
 *   since a list that is partly garbage says nothing reliable about what is missing from it;
 * - `notFound`: the finder's own "nothing found" (`404 Streams not found`), which means "none" only
 *   from a node confirmed to be a WCS REST API (the caller decides, `wcs-client.ts#isConfirmed`);
 * - unusable (it answered: 5xx, credentials refused, not JSON, not a list, too large), or
 *   unreachable (no answer at all), with the reason, which is what tells a node alive from lost.
 */
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { isFinderNotFound, type NodeAnswer } from '../sender/wcs-client.ts';

const id = z.string().check(z.minLength(1), z.maxLength(1024));
const text = z.nullish(z.string().check(z.maxLength(4096)));

/** A stream object as `stream/find_all` and `stream/find` list it; other fields are let through unread. */
const wcsStreamShape = z.looseObject({
  mediaSessionId: id,
  sessionId: z.nullish(id),
  appKey: z.nullish(id),
  nodeId: text,
  name: text,
  published: z.nullish(z.boolean()),
  status: text,
  createDate: z.nullish(z.number()),
  metrics: z.nullish(z.record(z.string(), z.unknown())),
});

/** A connection object as `connection/find_all` lists it. */
const wcsConnectionShape = z.looseObject({
  sessionId: id,
  appKey: z.nullish(id),
  nodeId: text,
});

export type WcsStreamEntry = z.infer<typeof wcsStreamShape>;
export type WcsConnectionEntry = z.infer<typeof wcsConnectionShape>;

/** One finder's answer, read. */
export type FinderRead<Entry> =
  | { readonly kind: 'list'; readonly entries: Entry[]; readonly base: string }
  | { readonly kind: 'notFound'; readonly base: string }
  | { readonly kind: 'unusable'; readonly reason: string; readonly status?: number }
  | { readonly kind: 'unreachable'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string };

const SHAPES = { stream: wcsStreamShape, connection: wcsConnectionShape } as const;

/**
 * Reads `answer` to `path` as a list of `kind` objects. Never throws: what cannot be used says why,
 * in words an operator can act on (shown as the node's `stateReason`).
 */
export function readFinder<Kind extends keyof typeof SHAPES>(
  kind: Kind,
  path: string,
  answer: NodeAnswer,
): FinderRead<z.infer<(typeof SHAPES)[Kind]>> {
  if (!answer.answered) {
    if (answer.refused) return { kind: 'refused', reason: answer.reason };
    return answer.tooLarge
      ? { kind: 'unusable', reason: answer.reason }
      : { kind: 'unreachable', reason: answer.reason };
  }
  const { status, text: body, base } = answer;
  if (isFinderNotFound(answer)) return { kind: 'notFound', base };
  if (status === 401 || status === 403)
    return { kind: 'unusable', reason: `${path} answered ${status}: the WCS REST credentials were refused` };
  const said = body.trim() ? `: ${body.trim().slice(0, 120)}` : '';
  if (status === 404)
    return {
      kind: 'unusable',
      reason: `${path} answered 404${said}, not a WCS finder's "not found": is ${base} a WCS REST API (nodes put)?`,
    };
  if (status !== 200) return { kind: 'unusable', reason: `${path} answered ${status}${said}`, status };
  let list: unknown;
  try {
    list = JSON.parse(body);
  } catch {
    return { kind: 'unusable', reason: `${path} answered 200 with a body that is not JSON` };
  }
  if (!Array.isArray(list))
    return { kind: 'unusable', reason: `${path} answered 200 with JSON that is not a list of ${kind}s` };
  const shape = SHAPES[kind];
  const entries: z.infer<(typeof SHAPES)[Kind]>[] = [];
  for (const [index, entry] of list.entries()) {
    const parsed = shape.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
      return {
        kind: 'unusable',
        reason: `${path} listed entry ${index} that is not a ${kind} (${where}${issue?.message ?? 'invalid'}): the whole answer is set aside`,
      };
    }
    entries.push(parsed.data as z.infer<(typeof SHAPES)[Kind]>);
  }
  return { kind: 'list', entries, base };
}
