/**
 * The traffic simulator: a small WCS cluster's hooks over several simulated days, sent to a running
 * local runtime (`npm start` with `SIMULATED_CLOCK=allow`) through its real hook endpoints, each
 * stamped with its simulated time (`infra/local/simulated-clock.ts`), so that per-day usage can be
 * tried locally. What it sends follows `shared/reference/wcs-hooks.md` (bodies from `wcs-hooks.ts`):
 *
 * - a few nodes (`nodeId` `<32 chars>@203.0.113.x`: a documentation network, outside
 *   `WCS_ALLOWED_NETWORKS`, so the poller never asks them and never declares them lost);
 * - three apps: `<prefix>-live` (one publisher per name, keep-alives on: a stream whose end hook is
 *   lost is ended by the keep-alive sweep at its last keep-alive), `<prefix>-class` (at most
 *   `CLASS_MAX_PLAYERS` players per name, data messages) and `<prefix>-token` (token admission:
 *   some tokens expired, some without the data grant; users from a small pool);
 * - publishers (connect, ESTABLISHED, publishStream, PUBLISHING, unPublishStream, UNPUBLISHED,
 *   DISCONNECTED), viewers that play one to three of the app's live streams in turn, data messages
 *   (OnDataEvent, DataStatusEvent), refusals as the backend answers them (WCS then reports FAILED),
 *   and a share of end hooks lost (`LOST_END_SHARE`), as a node restart or a timeout loses them.
 *
 * The plan is a function of the options alone (`seed`); the answers decide the rest (a refused
 * publish is followed by FAILED, not PUBLISHING). Hooks are sent in time order, a session's in
 * sequence and `concurrency` at a time, generated an hour at a time (a heap holds only what is
 * under way), with no line per hook: it scales to the analytics benchmark's day (issue 27, item 7).
 * The summary says what was sent, by day and app, in the terms of `usageOfApp`
 * (`shared/state/usage.ts`), so the usage it made can be checked against it.
 */
import { issueClientToken } from '#shared/admission/tokens.ts';
import { SIMULATED_TIME_HEADER } from '../local/simulated-clock.ts';
import {
  connectBody,
  connectionStatusBody,
  dataBody,
  type HookReply,
  sendHook,
  streamBody,
  type WcsSession,
  type WcsStream,
} from './wcs-hooks.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** At most this many players per stream name in the class app: some plays are refused. */
export const CLASS_MAX_PLAYERS = 3;
/** Share of stream and session end hooks that never arrive. */
export const LOST_END_SHARE = 0.04;
/** Share of the token app's connects that carry an expired token. */
const EXPIRED_TOKEN_SHARE = 0.08;
/** Share of the token app's users whose token has no data grant. */
const NO_DATA_GRANT_SHARE = 0.25;
/**
 * Keep-alive period of the live app's streams: at least `KEEP_ALIVE_WRITE_INTERVAL_S` (each is
 * written) and under `STREAM_KEEP_ALIVE_TIMEOUT_S` (WCS's own is 10 s; fewer hooks here).
 */
export const KEEP_ALIVE_EVERY_MS = 4 * MINUTE;
/** Users of the token app. */
const TOKEN_USERS = 40;
/** Stream names per app a publisher picks from: in the live app, two may want the same. */
const NAMES_PER_APP = 12;
/** Share of the traffic per hour of the UTC day (an evening peak). */
const HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 7, 7, 8, 9, 10, 11, 11, 10, 7, 4];
/** What a hook's first item time may be, at latest, in its day: its follow-ups (seconds later) stay in that day. */
const LATEST_START_IN_DAY = DAY - 2 * MINUTE;

export interface SimulationOptions {
  /** The app REST URL of the runtime, e.g. `http://127.0.0.1:3000/hooks`. */
  readonly appUrl: string;
  /** The first simulated UTC day, `YYYY-MM-DD`. */
  readonly from: string;
  readonly days: number;
  /** Publishes per day, over all apps. */
  readonly streams: number;
  /** Viewer sessions per day, over all apps. */
  readonly viewers: number;
  readonly seed: number;
  /** WCS nodes. Default 3. */
  readonly nodes?: number;
  /** Hooks in flight at once (a session's hooks always in sequence). Default 16. */
  readonly concurrency?: number;
  /** WCS's `rest_hook_secret_key`, when the runtime checks signatures (`WCS_HOOK_SECRET`). */
  readonly secret?: string;
  /** The apps are `<prefix>-live`, `<prefix>-class`, `<prefix>-token`. Default `sim`. */
  readonly prefix?: string;
  /** Called about once a second, and at the end. */
  readonly onProgress?: (progress: SimulationProgress) => void;
}

export interface SimulationProgress {
  readonly day: string;
  readonly hooks: number;
  /** 403 answers, and of those, by a decision's fail mode (`refusedByFailMode`). */
  readonly refused: number;
  readonly refusedByFailMode: number;
  readonly elapsedMs: number;
}

/** What the simulator sent to one app on one UTC day, in the terms of `usageOfApp`. */
export interface AppDaySent {
  /**
   * Admitted connects (a refused one, reported FAILED, is a refusal, not a session), and those
   * refused by the fail mode (no policy's refusal: usage counts them as sessions that failed).
   */
  sessions: number;
  /** Admitted sessions with no token user: every one but the token app's. */
  anonymousSessions: number;
  /** Distinct users of the token app's admitted sessions that began that day. */
  uniqueUsers: number;
  /** Admitted publishStream and playStream hooks, and those refused by the fail mode (as `sessions`). */
  publishes: number;
  plays: number;
  /** From PUBLISHING or PLAYING to the end the backend learnt (its end hook, or the last keep-alive). */
  publishMinutes: number;
  viewerMinutes: number;
  /** 403 answers, and by hook method. */
  refusals: number;
  refusalsByMethod: Record<string, number>;
  /**
   * 403 answers of a decision that fell back to its fail mode (the runtime too slow: a loaded
   * machine), which usage does not count as refusals (but as attempts that failed); should be none.
   */
  refusedByFailMode: number;
  /** OnDataEvent hooks (a refused one counts too: it came in). */
  dataIn: number;
  /** End hooks not sent: of streams (ended by the keep-alive sweep where keep-alives were sent) and of sessions. */
  lostStreamEnds: number;
  lostSessionEnds: number;
  /** Of the lost stream ends, those the keep-alive sweep ends (at the stream's last keep-alive). */
  endedByKeepAliveSweep: number;
  /** Internal: ms from live to end, rounded into minutes at the end; users seen. */
  publishMs?: number;
  viewerMs?: number;
  users?: Set<string>;
}

export interface SimulationSummary {
  readonly from: string;
  readonly days: number;
  readonly seed: number;
  readonly apps: readonly string[];
  readonly nodes: readonly string[];
  readonly hooks: number;
  readonly elapsedS: number;
  readonly hooksPerSecond: number;
  /** Answers that were neither 200 nor a refusal (403): should be none. */
  readonly unexpectedAnswers: number;
  /** day → app → what was sent. */
  readonly byDay: Record<string, Record<string, AppDaySent>>;
  readonly totals: Record<string, AppDaySent>;
}

/** The apps' policies the simulation needs (`apps put` each before sending). */
export function simulatedApps(prefix: string, seed: number) {
  return {
    live: { appKey: `${prefix}-live`, policy: { admission: 'open', singlePublisher: true } },
    class: {
      appKey: `${prefix}-class`,
      policy: { admission: 'open', maxPlayersPerStream: CLASS_MAX_PLAYERS },
    },
    token: {
      appKey: `${prefix}-token`,
      policy: {
        admission: 'token',
        hs256Secret: `simulated-secret-${seed}-0123456789abcdefghijklmnopqrstuv`,
      },
    },
  } as const;
}

/** mulberry32: a small seeded generator, the same sequence for the same seed. */
function randomFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A min-heap of steps by time (then by creation, so equal times keep their order). */
class StepHeap {
  private readonly items: Step[] = [];
  get size() {
    return this.items.length;
  }
  peek(): Step | undefined {
    return this.items[0];
  }
  push(step: Step) {
    const items = this.items;
    items.push(step);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i] as Step, items[parent] as Step)) break;
      [items[i], items[parent]] = [items[parent] as Step, items[i] as Step];
      i = parent;
    }
  }
  pop(): Step | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l] as Step, items[m] as Step)) m = l;
        if (r < items.length && before(items[r] as Step, items[m] as Step)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as Step, items[i] as Step];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Step, b: Step) => a.at < b.at || (a.at === b.at && a.order < b.order);

/** One hook to send (or not, as earlier answers of its session decide). */
interface Step {
  readonly at: number;
  readonly order: number;
  readonly session: SessionPlan;
  readonly run: () => Promise<void>;
}

interface SessionPlan extends WcsSession {
  refused: boolean;
}

interface StreamPlan {
  readonly stream: WcsStream;
  refused: boolean;
}

interface Publish {
  readonly appKey: string;
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** Runs the simulation; resolves with what was sent once every hook is answered. */
export async function simulate(options: SimulationOptions): Promise<SimulationSummary> {
  const random = randomFrom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const chance = (share: number) => random() < share;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const prefix = options.prefix ?? 'sim';
  const apps = simulatedApps(prefix, options.seed);
  const appKeys = [apps.live.appKey, apps.class.appKey, apps.token.appKey];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const nodes = Array.from(
    { length: options.nodes ?? 3 },
    (_, i) => `${Array.from({ length: 32 }, () => pick([...alphabet])).join('')}@203.0.113.${10 + i}`,
  );
  const concurrency = options.concurrency ?? 16;
  const firstDay = Date.parse(`${options.from}T00:00:00Z`);
  if (Number.isNaN(firstDay)) throw new Error(`--from must be a date (YYYY-MM-DD), got "${options.from}"`);

  // What was sent, by day and app.
  const byDay: Record<string, Record<string, AppDaySent>> = {};
  const sent = (at: number, appKey: string): AppDaySent => {
    const day = new Date(at).toISOString().slice(0, 10);
    const ofDay = byDay[day] ?? {};
    byDay[day] = ofDay;
    const entry = ofDay[appKey] ?? { ...nothingSent(), publishMs: 0, viewerMs: 0, users: new Set<string>() };
    ofDay[appKey] = entry;
    return entry;
  };
  /** Live time [from, to) of a stream, into each day it falls in. */
  const addLive = (appKey: string, published: boolean, from: number, to: number) => {
    for (let day = Math.floor(from / DAY) * DAY; day < to; day += DAY) {
      const part = Math.min(to, day + DAY) - Math.max(from, day);
      const entry = sent(day, appKey);
      if (published) entry.publishMs = (entry.publishMs ?? 0) + part;
      else entry.viewerMs = (entry.viewerMs ?? 0) + part;
    }
  };

  let hooks = 0;
  let refused = 0;
  let failClosed = 0;
  let unexpected = 0;
  const started = Date.now();
  let currentDay = options.from;

  /**
   * Sends one hook at simulated time `at`: `admitted` (200), `refused` (403, counted as a refusal of
   * `appKey`), or `failed closed` (403 by the decision's fail mode).
   */
  const answer = async (
    at: number,
    appKey: string,
    method: string,
    body: Record<string, unknown>,
  ): Promise<'admitted' | 'refused' | 'failed closed'> => {
    let reply: HookReply;
    try {
      reply = await sendHook(options.appUrl, method, JSON.stringify(body), {
        ...(options.secret !== undefined && { secret: options.secret }),
        headers: { [SIMULATED_TIME_HEADER]: new Date(at).toISOString() },
      });
    } catch (error) {
      throw new Error(
        `the runtime at ${options.appUrl} did not answer ${method}: ${(error as Error).message}`,
      );
    }
    hooks++;
    if (reply.headers.get(SIMULATED_TIME_HEADER) !== 'applied')
      throw new Error(
        `the runtime at ${options.appUrl} stamped a hook on arrival, not at its simulated time: start it with SIMULATED_CLOCK=allow`,
      );
    if (reply.status === 403) {
      refused++;
      const entry = sent(at, appKey);
      // The decision could not be made in time and the hook fails closed (docs/policy.md): not a
      // refusal of the policy's, and not counted as one.
      if (/fails closed$/.test(String(reply.json?.message))) {
        entry.refusedByFailMode++;
        failClosed++;
        return 'failed closed';
      }
      entry.refusals++;
      entry.refusalsByMethod[method] = (entry.refusalsByMethod[method] ?? 0) + 1;
      return 'refused';
    }
    if (reply.status !== 200) unexpected++;
    return 'admitted';
  };
  /** `answer`, true when admitted. */
  const send = async (at: number, appKey: string, method: string, body: Record<string, unknown>) =>
    (await answer(at, appKey, method, body)) === 'admitted';
  /**
   * Counts an attempt as usage does: admitted, or refused by the fail mode (no policy's refusal, not
   * marked refused: usage counts it as one that failed, docs/data-model.md "Refused attempts").
   */
  const counts = (answered: Awaited<ReturnType<typeof answer>>) => answered !== 'refused';

  const heap = new StepHeap();
  let order = 0;
  const step = (at: number, session: SessionPlan, run: () => Promise<void>) =>
    heap.push({ at, order: order++, session, run });
  const startInDay = (at: number) => {
    const day = Math.floor(at / DAY) * DAY;
    return Math.min(at, day + LATEST_START_IN_DAY);
  };
  const newSession = (appKey: string): SessionPlan => ({
    nodeId: pick(nodes),
    appKey,
    sessionId: uuid(),
    refused: false,
  });

  // Tokens of the token app, made once per user (and kind): signing is the costly part.
  const tokens = new Map<string, Promise<string>>();
  const tokenOf = (user: number, expired: boolean) => {
    const key = `${user}#${expired}`;
    let token = tokens.get(key);
    if (!token) {
      token = issueClientToken(
        apps.token.policy.hs256Secret,
        {
          sub: `user-${user}`,
          aud: apps.token.appKey,
          publish: ['*'],
          play: ['*'],
          ...(user >= TOKEN_USERS * NO_DATA_GRANT_SHARE && { data: true }),
        },
        expired ? -3600 : 30 * 86_400,
      );
      tokens.set(key, token);
    }
    return token;
  };

  /**
   * One session's opening: connect (with a token in the token app) and ESTABLISHED; a refused
   * connect is reported FAILED and nothing more of the session is sent.
   */
  const openSession = (session: SessionPlan, at: number) => {
    const entry = sent(at, session.appKey);
    const tokenApp = session.appKey === apps.token.appKey;
    const user = Math.floor(random() * TOKEN_USERS);
    const expired = tokenApp && chance(EXPIRED_TOKEN_SHARE);
    step(at, session, async () => {
      const custom = tokenApp ? { token: await tokenOf(user, expired) } : {};
      const answered = await answer(at, session.appKey, 'connect', connectBody(session, { custom }));
      if (counts(answered)) entry.sessions++;
      if (answered !== 'admitted') {
        session.refused = true;
        if (counts(answered)) entry.anonymousSessions++;
        await send(
          at + 200,
          session.appKey,
          'ConnectionStatusEvent',
          connectionStatusBody(session, 'FAILED', 'Rejected by the REST hook backend'),
        );
        return;
      }
      if (tokenApp) {
        entry.users?.add(`user-${user}`);
        entry.uniqueUsers = entry.users?.size ?? 0;
      } else entry.anonymousSessions++;
      await send(
        at + 200,
        session.appKey,
        'ConnectionStatusEvent',
        connectionStatusBody(session, 'ESTABLISHED'),
      );
    });
  };

  const closeSession = (session: SessionPlan, at: number) => {
    if (chance(LOST_END_SHARE)) {
      step(at, session, async () => {
        if (!session.refused) sent(at, session.appKey).lostSessionEnds++;
      });
      return;
    }
    step(at, session, async () => {
      if (session.refused) return;
      await send(
        at,
        session.appKey,
        'ConnectionStatusEvent',
        connectionStatusBody(session, 'DISCONNECTED', 'Normal disconnect'),
      );
    });
  };

  /** One publish or play from `from` to `to`: its hooks, its keep-alives in the live app, its end (or not). */
  const streamOf = (session: SessionPlan, name: string, published: boolean, from: number, to: number) => {
    const plan: StreamPlan = {
      stream: { ...session, mediaSessionId: uuid(), name, published },
      refused: false,
    };
    const { appKey } = session;
    const entry = sent(from, appKey);
    const [ask, live, stop, ended] = published
      ? (['publishStream', 'PUBLISHING', 'unPublishStream', 'UNPUBLISHED'] as const)
      : (['playStream', 'PLAYING', 'stopStream', 'STOPPED'] as const);
    const liveAt = from + SECOND;
    step(from, session, async () => {
      if (session.refused) return;
      const answered = await answer(from, appKey, ask, streamBody(plan.stream, 'PENDING'));
      if (counts(answered)) {
        if (published) entry.publishes++;
        else entry.plays++;
      }
      if (answered !== 'admitted') {
        plan.refused = true;
        await send(
          liveAt,
          appKey,
          'StreamStatusEvent',
          streamBody(plan.stream, 'FAILED', { info: 'Rejected by the REST hook backend' }),
        );
        return;
      }
      await send(liveAt, appKey, 'StreamStatusEvent', streamBody(plan.stream, live));
    });
    const keepAlives: number[] = [];
    if (appKey === apps.live.appKey)
      for (let at = liveAt + 10 * SECOND; at < to; at += KEEP_ALIVE_EVERY_MS) keepAlives.push(at);
    for (const at of keepAlives)
      step(at, session, async () => {
        if (session.refused || plan.refused) return;
        await send(at, appKey, 'StreamKeepAliveEvent', streamBody(plan.stream, live));
      });
    const lost = chance(LOST_END_SHARE);
    step(to, session, async () => {
      if (session.refused || plan.refused) return;
      if (lost) {
        const lostEntry = sent(to, appKey);
        lostEntry.lostStreamEnds++;
        const last = keepAlives.at(-1);
        // The keep-alive sweep ends it at its last keep-alive; without one it stays open.
        if (last !== undefined) {
          lostEntry.endedByKeepAliveSweep++;
          addLive(appKey, published, liveAt, last);
        }
        return;
      }
      await send(to, appKey, stop, streamBody(plan.stream, live));
      await send(to + 200, appKey, 'StreamStatusEvent', streamBody(plan.stream, ended));
      addLive(appKey, published, liveAt, to + 200);
    });
  };

  /** Data messages of a session, at `times`, each followed by its DataStatusEvent. */
  const dataOf = (session: SessionPlan, times: readonly number[]) => {
    for (const at of times) {
      const operationId = uuid();
      step(at, session, async () => {
        if (session.refused) return;
        sent(at, session.appKey).dataIn++;
        const accepted = await send(
          at,
          session.appKey,
          'OnDataEvent',
          dataBody(session, { message: `hello ${operationId.slice(0, 4)}` }, operationId),
        );
        await send(at + 100, session.appKey, 'DataStatusEvent', {
          ...session,
          operationId,
          status: accepted ? 'ACCEPTED' : 'FAILED',
        });
      });
    }
  };

  const weightSum = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);
  /** `total` spread over the 24 hours by weight, whole numbers that add up to `total`. */
  const perHour = (total: number) => {
    const counts = HOUR_WEIGHTS.map((w) => Math.floor((total * w) / weightSum));
    let left = total - counts.reduce((a, b) => a + b, 0);
    for (let h = 0; left > 0; h = (h + 1) % 24, left--) counts[h] = (counts[h] ?? 0) + 1;
    return counts;
  };
  const appShare = () => {
    const r = random();
    return r < 0.5 ? apps.live.appKey : r < 0.8 ? apps.class.appKey : apps.token.appKey;
  };

  let lastProgress = 0;
  const progress = (force = false) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!force && now - lastProgress < SECOND) return;
    lastProgress = now;
    options.onProgress({
      day: currentDay,
      hooks,
      refused,
      refusedByFailMode: failClosed,
      elapsedMs: now - started,
    });
  };

  // Sending: in time order, a session's steps in sequence (a worker per busy session, with its
  // queue), at most `concurrency` sessions at a time.
  const queues = new Map<string, (() => Promise<void>)[]>();
  const workers = new Set<Promise<void>>();
  let failure: unknown;
  const work = async (queue: (() => Promise<void>)[], key: string) => {
    try {
      for (let run = queue.shift(); run; run = queue.shift()) await run();
    } catch (error) {
      failure ??= error;
    } finally {
      queues.delete(key);
    }
  };
  const dispatchUntil = async (until: number) => {
    for (let next = heap.peek(); next && next.at < until; next = heap.peek()) {
      heap.pop();
      if (failure) throw failure;
      const key = next.session.sessionId;
      const queue = queues.get(key);
      if (queue) {
        queue.push(next.run);
        continue;
      }
      while (workers.size >= concurrency) await Promise.race(workers);
      const fresh = [next.run];
      queues.set(key, fresh);
      const worker = work(fresh, key);
      workers.add(worker);
      void worker.finally(() => workers.delete(worker));
      progress();
    }
  };

  for (let d = 0; d < options.days; d++) {
    const dayStart = firstDay + d * DAY;
    currentDay = new Date(dayStart).toISOString().slice(0, 10);
    // The day's publishes first (viewers pick among them), by app, ordered by start.
    const publishes = new Map<string, Publish[]>(appKeys.map((k) => [k, []]));
    const publishHours = perHour(options.streams);
    for (let h = 0; h < 24; h++)
      for (let i = 0; i < (publishHours[h] ?? 0); i++) {
        const appKey = appShare();
        const start = startInDay(dayStart + h * HOUR + Math.floor((random() * HOUR) / SECOND) * SECOND);
        const minutes = 5 + Math.floor(-Math.log(1 - random()) * 40);
        const name = `${appKey.slice(prefix.length + 1)}-${1 + Math.floor(random() * NAMES_PER_APP)}`;
        publishes.get(appKey)?.push({ appKey, name, start, end: start + minutes * MINUTE });
      }
    // Every day, two moments that refuse for sure: a second publisher of the live app's main
    // stream while it is live (one publisher per name), and a lecture in the class app that two
    // more viewers than it admits join in its first minute.
    const main = {
      appKey: apps.live.appKey,
      name: 'live-main',
      start: dayStart + 9 * HOUR,
      end: dayStart + 11 * HOUR,
    };
    const lecture = {
      appKey: apps.class.appKey,
      name: 'class-lecture',
      start: dayStart + 10 * HOUR,
      end: dayStart + 11 * HOUR,
    };
    publishes.get(main.appKey)?.push(main);
    publishes.get(lecture.appKey)?.push(lecture);
    const rival = newSession(main.appKey);
    openSession(rival, main.start + 30 * MINUTE);
    streamOf(rival, main.name, true, main.start + 30 * MINUTE + 2 * SECOND, main.start + 40 * MINUTE);
    closeSession(rival, main.start + 41 * MINUTE);
    for (let i = 0; i < CLASS_MAX_PLAYERS + 2; i++) {
      const student = newSession(lecture.appKey);
      const at = lecture.start + MINUTE + i * 5 * SECOND;
      openSession(student, at);
      streamOf(student, lecture.name, false, at + 2 * SECOND, at + 20 * MINUTE);
      closeSession(student, at + 21 * MINUTE);
    }
    for (const list of publishes.values()) list.sort((a, b) => a.start - b.start);
    const byHour = Array.from({ length: 24 }, () => [] as Publish[]);
    for (const list of publishes.values())
      for (const publish of list) byHour[Math.floor((publish.start - dayStart) / HOUR)]?.push(publish);
    /** A publish of `appKey` live at `at`, if one is found quickly; else any of its names. */
    const liveName = (appKey: string, at: number) => {
      const list = publishes.get(appKey) ?? [];
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((list[mid]?.start ?? 0) <= at) lo = mid + 1;
        else hi = mid;
      }
      for (let tries = 0; tries < 6 && lo > 0; tries++) {
        const candidate = list[Math.max(0, lo - 1 - Math.floor(random() * Math.min(lo, 30)))];
        if (candidate && candidate.end > at) return candidate.name;
      }
      return `${appKey.slice(prefix.length + 1)}-${1 + Math.floor(random() * NAMES_PER_APP)}`;
    };
    const viewerHours = perHour(options.viewers);
    for (let h = 0; h < 24; h++) {
      for (const publish of byHour[h] ?? []) {
        const session = newSession(publish.appKey);
        openSession(session, publish.start - 2 * SECOND);
        streamOf(session, publish.name, true, publish.start, publish.end);
        closeSession(session, publish.end + SECOND);
      }
      for (let i = 0; i < (viewerHours[h] ?? 0); i++) {
        const appKey = appShare();
        const session = newSession(appKey);
        const start = startInDay(dayStart + h * HOUR + Math.floor((random() * HOUR) / SECOND) * SECOND);
        openSession(session, start);
        let at = start + 2 * SECOND;
        const plays = 1 + Math.floor(random() * 3);
        for (let p = 0; p < plays; p++) {
          const from = startInDay(at);
          if (from !== at) break;
          const minutes = 1 + Math.floor(-Math.log(1 - random()) * 12);
          streamOf(session, liveName(appKey, from), false, from, from + minutes * MINUTE);
          at = from + minutes * MINUTE + 5 * SECOND;
        }
        if (appKey !== apps.live.appKey) {
          const messages = Math.floor(random() * 4);
          dataOf(
            session,
            Array.from(
              { length: messages },
              () => start + 3 * SECOND + Math.floor(random() * (at - start - 3 * SECOND)),
            ),
          );
        }
        closeSession(session, at + SECOND);
      }
      await dispatchUntil(dayStart + (h + 1) * HOUR);
    }
  }
  await dispatchUntil(Number.POSITIVE_INFINITY);
  await Promise.all(workers);
  if (failure) throw failure;
  // The nodes still run, now: one hook each at the real time (a catch-all one, which no usage
  // counts) tells the poller their hooks arrive, so its keep-alive sweep ends the lost streams.
  for (const nodeId of nodes)
    await sendHook(options.appUrl, 'StreamsStatEvent', JSON.stringify({ nodeId, appKey: apps.live.appKey }), {
      ...(options.secret !== undefined && { secret: options.secret }),
    });
  progress(true);

  const totals: Record<string, AppDaySent> = {};
  for (const apps of Object.values(byDay))
    for (const [appKey, entry] of Object.entries(apps)) {
      entry.publishMinutes = minutesOf(entry.publishMs ?? 0);
      entry.viewerMinutes = minutesOf(entry.viewerMs ?? 0);
      delete entry.publishMs;
      delete entry.viewerMs;
      delete entry.users;
      totals[appKey] = addSent(totals[appKey], entry);
    }
  const elapsedMs = Date.now() - started;
  return {
    from: options.from,
    days: options.days,
    seed: options.seed,
    apps: appKeys,
    nodes,
    hooks,
    elapsedS: Math.round(elapsedMs / 100) / 10,
    hooksPerSecond: Math.round((hooks * 1000) / Math.max(1, elapsedMs)),
    unexpectedAnswers: unexpected,
    byDay,
    totals,
  };
}

/** An app's day before anything is sent. */
function nothingSent(): AppDaySent {
  return {
    sessions: 0,
    anonymousSessions: 0,
    uniqueUsers: 0,
    publishes: 0,
    plays: 0,
    publishMinutes: 0,
    viewerMinutes: 0,
    refusals: 0,
    refusalsByMethod: {},
    refusedByFailMode: 0,
    dataIn: 0,
    lostStreamEnds: 0,
    lostSessionEnds: 0,
    endedByKeepAliveSweep: 0,
  };
}

/** As `usageOfApp` rounds: minutes to two decimals. */
const minutesOf = (ms: number) => Math.round((ms / MINUTE) * 100) / 100;

function addSent(sum: AppDaySent | undefined, entry: AppDaySent): AppDaySent {
  const total = sum ?? nothingSent();
  for (const key of Object.keys(total) as (keyof AppDaySent)[]) {
    const value = entry[key];
    if (typeof value === 'number')
      (total as unknown as Record<string, number>)[key] = ((total[key] as number) ?? 0) + value;
  }
  for (const [method, n] of Object.entries(entry.refusalsByMethod))
    total.refusalsByMethod[method] = (total.refusalsByMethod[method] ?? 0) + n;
  total.publishMinutes = Math.round(total.publishMinutes * 100) / 100;
  total.viewerMinutes = Math.round(total.viewerMinutes * 100) / 100;
  return total;
}
