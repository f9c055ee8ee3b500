/**
 * Denials: a user (`sub`) or one token (its `jti`) refused in one app or in every app, until a time
 * or for good (`npm run cli -- deny|undeny|denials list`, the `denial/*` realms). Kept in the
 * configuration store (`config-store.ts`, kind `denial`), the entry's DynamoDB TTL set to its end;
 * TTL deletes late, so a denial past its end is ignored here, whatever the table still holds.
 *
 * Decisions read every denial at once (one Query of the `denial` partition), cached in each
 * function for `DENIAL_CACHE_SECONDS`: a new denial applies to new decisions within that time. A
 * denial also revokes the open sessions it names at once (`sessions.ts`), so their streams end at
 * their next keep-alive whatever a function has cached. `docs/policy.md` says what deny and revoke do.
 */
import * as z from 'zod/mini';
import { setting } from '../kernel/config.ts';
import { appKeysOr } from './apps.ts';
import { deleteConfig, getConfig, listConfig, putConfig } from './config-store.ts';
import { listOpenSessions, revokeSession, sessionItems } from './sessions.ts';

const cacheMs = setting('DENIAL_CACHE_SECONDS') * 1000;

/** What a denial names: a user (the token's `sub`) or one token (its `jti`). */
export type DenialSubject = 'user' | 'token';

const denialSchema = z.object({
  subject: z.enum(['user', 'token']),
  name: z.string(),
  appKey: z.optional(z.string()),
  until: z.optional(z.string()),
  reason: z.optional(z.string()),
  deniedAt: z.string(),
});

/** A stored denial; without `appKey` it applies in every app, without `until` for good. */
export type Denial = z.infer<typeof denialSchema>;

/** A denial that cannot be stored as given; the message says why, in the operator's words. */
export class InvalidDenialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDenialError';
  }
}

/** The longest user id or token id a denial names (as a token's `sub` and `jti` are bounded). */
const MAX_NAME_BYTES = 256;
const MAX_REASON_CHARS = 500;
const EVERY_APP = '*';

/** The entry's id: `<subject>#<appKey or *>#<name>`, unique as app keys hold neither `#` nor are `*`. */
const idOf = (subject: DenialSubject, name: string, appKey: string | undefined) =>
  `${subject}#${appKey ?? EVERY_APP}#${name}`;

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * When a denial ends: `until` (an ISO date) or `forDuration` after `now` (`90s`, `30m`, `2h`,
 * `7d`, `2w`); neither, `undefined` (for good). Throws `InvalidDenialError` for both, for a date or
 * duration that is not one, and for an end not after `now`.
 */
export function denialEnd(
  until: string | undefined,
  forDuration: string | undefined,
  now: Date,
): Date | undefined {
  if (until !== undefined && forDuration !== undefined)
    throw new InvalidDenialError('give until or for, not both');
  let end: Date | undefined;
  if (until !== undefined) {
    const ms = /^\d{4}-\d{2}-\d{2}/.test(until) ? Date.parse(until) : Number.NaN;
    if (!Number.isFinite(ms))
      throw new InvalidDenialError(`until must be an ISO date (2026-12-31T00:00:00Z), got "${until}"`);
    end = new Date(ms);
  } else if (forDuration !== undefined) {
    const match = /^(\d{1,9})([smhdw])$/.exec(forDuration);
    const count = Number(match?.[1]);
    const unit = UNIT_MS[match?.[2] ?? ''];
    if (!match || unit === undefined || count <= 0)
      throw new InvalidDenialError(`for must be a duration like 30m, 2h or 7d, got "${forDuration}"`);
    end = new Date(now.getTime() + count * unit);
  }
  if (end && end.getTime() <= now.getTime())
    throw new InvalidDenialError(`the end ${end.toISOString()} is not in the future`);
  return end;
}

/** What `deny` is given. */
export interface DenialRequest {
  readonly subject: DenialSubject;
  readonly name: string;
  /** The app it applies in; every app when absent. */
  readonly appKey?: string;
  /** When it ends; for good when absent. */
  readonly until?: Date;
  readonly reason?: string;
}

function validated(request: DenialRequest): void {
  const what = request.subject === 'user' ? 'user' : 'token id';
  if (request.name === '' || Buffer.byteLength(request.name) > MAX_NAME_BYTES)
    throw new InvalidDenialError(`the ${what} must be 1 to ${MAX_NAME_BYTES} bytes`);
  if (request.appKey !== undefined && (request.appKey === '' || /[#*]/.test(request.appKey)))
    throw new InvalidDenialError(`"${request.appKey}" is not an app key`);
  if (request.reason !== undefined && request.reason.length > MAX_REASON_CHARS)
    throw new InvalidDenialError(`the reason is longer than ${MAX_REASON_CHARS} characters`);
}

let cache: { denials: Promise<Denial[]>; until: number } | undefined;

/** Every stored denial, ended ones included (TTL removes them late). */
async function storedDenials(): Promise<Denial[]> {
  return (await listConfig('denial')).map((entry) => denialSchema.parse(entry.value));
}

const inForce = (denial: Denial, now: Date) =>
  denial.until === undefined || Date.parse(denial.until) > now.getTime();

/**
 * Denies a user or a token from now on (replacing a denial of the same subject and scope), and
 * revokes the open sessions it names, so that their streams end at their next keep-alive. With no
 * app, the open sessions of every app with a stored policy are revoked; those of an app following
 * the default policy are refused at their next decision or keep-alive once the denial is read
 * (`DENIAL_CACHE_SECONDS`). The denial, and the ids of the sessions revoked.
 */
export async function deny(
  request: DenialRequest,
  now: Date,
): Promise<{ denial: Denial; revoked: string[] }> {
  validated(request);
  const denial: Denial = {
    subject: request.subject,
    name: request.name,
    ...(request.appKey !== undefined && { appKey: request.appKey }),
    ...(request.until && { until: request.until.toISOString() }),
    ...(request.reason !== undefined && { reason: request.reason }),
    deniedAt: now.toISOString(),
  };
  await putConfig('denial', idOf(denial.subject, denial.name, denial.appKey), denial, request.until);
  cache = undefined;
  return { denial, revoked: await revokeNamed(denial, now) };
}

/** Revokes the open sessions `denial` names: by the user's range of the `openByApp` index, or by token. */
async function revokeNamed(denial: Denial, now: Date): Promise<string[]> {
  const revoked: string[] = [];
  for (const app of await appKeysOr(denial.appKey)) {
    let ids: string[];
    if (denial.subject === 'user') {
      ids = (await listOpenSessions(app, denial.name)).map((s) => s.sessionId);
    } else {
      // The index does not hold the token id: the app's open sessions are read (an operator's rare act).
      const open = await listOpenSessions(app);
      const items = await sessionItems(open.map((s) => s.sessionId));
      ids = items.filter((item) => item.tokenId === denial.name).map((item) => String(item.sessionId));
    }
    for (const id of ids) if (await revokeSession(id, now)) revoked.push(id);
  }
  return revoked;
}

/** Lifts the denial of `name` in `appKey` (or the every-app one); false when there was none. */
export async function undeny(
  subject: DenialSubject,
  name: string,
  appKey: string | undefined,
): Promise<boolean> {
  const removed = await deleteConfig('denial', idOf(subject, name, appKey));
  cache = undefined;
  return removed;
}

/** The denials in force at `now`; with `appKey`, those that apply in it (its own and every app's). */
export async function listDenials(now: Date, appKey?: string): Promise<Denial[]> {
  return (await storedDenials()).filter(
    (d) => inForce(d, now) && (appKey === undefined || d.appKey === undefined || d.appKey === appKey),
  );
}

/** The stored denial of `name` in `appKey` (or the every-app one), in force or not. */
export async function findDenial(
  subject: DenialSubject,
  name: string,
  appKey: string | undefined,
): Promise<Denial | undefined> {
  const value = await getConfig('denial', idOf(subject, name, appKey));
  return value === undefined ? undefined : denialSchema.parse(value);
}

/** Removes every denial scoped to `appKey` (when its app is deleted); their ids. */
export async function removeDenialsOf(appKey: string): Promise<string[]> {
  const removed: string[] = [];
  for (const denial of await storedDenials()) {
    if (denial.appKey !== appKey) continue;
    const id = idOf(denial.subject, denial.name, denial.appKey);
    if (await deleteConfig('denial', id)) removed.push(id);
  }
  cache = undefined;
  return removed;
}

/** Who a decision is about: the app, and the user and token of the session or the `connect`. */
export interface Denied {
  readonly appKey: string;
  readonly userId?: string | undefined;
  readonly tokenId?: string | undefined;
}

/**
 * Every stored denial, from the function's cache (`DENIAL_CACHE_SECONDS`). A decision starts this
 * read with its others, so that it adds no wait of its own; a failed read is not kept.
 */
export function currentDenials(): Promise<readonly Denial[]> {
  if (!cache || cache.until <= Date.now()) {
    const denials = storedDenials();
    cache = { denials, until: Date.now() + cacheMs };
    // Handled here, so a decision that never needs the denials leaves no unhandled rejection.
    denials.catch(() => {
      if (cache?.denials === denials) cache = undefined;
    });
  }
  return cache.denials;
}

/**
 * The denial in force at `now` that applies to `who` (its user or its token, in its app or in
 * every app), read from `denials` (`currentDenials`) only when `who` has a user or a token id;
 * `undefined` when none applies.
 */
export async function denialOf(
  who: Denied,
  now: Date,
  denials: Promise<readonly Denial[]> | undefined = undefined,
): Promise<Denial | undefined> {
  if (who.userId === undefined && who.tokenId === undefined) return undefined;
  return (await (denials ?? currentDenials())).find(
    (d) =>
      inForce(d, now) &&
      (d.appKey === undefined || d.appKey === who.appKey) &&
      (d.subject === 'user' ? d.name === who.userId : d.name === who.tokenId),
  );
}
