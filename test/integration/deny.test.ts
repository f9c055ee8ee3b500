/**
 * A ban that holds: `deny` refuses a user or a token at `connect`, at every decision and at its
 * keep-alive, per app or everywhere, until a time or for good; `revoke` only cuts the sessions open
 * now. Through real hooks against DynamoDB Local, the CLI run as a user runs it, the operator API
 * over REST. `DENIAL_CACHE_SECONDS=0`: every decision reads the denials (the default, 10 s, bounds
 * how late a new denial applies; docs/policy.md).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cli } from '../support/cli.ts';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem } from '../support/tables.ts';
import { HS256_SECRET } from '../support/tokens.ts';

const API_TOKEN = 'deny-test-operator-token';
/** Apps without a stored policy follow this one: tokens, with the test secret. */
const DEFAULT_SECRET = 'the-default-policy-secret-0123456789abcdef';

let server: RunningHookServer;
// Loaded once the server has set the environment: the settings are read at load.
let putAppPolicy: typeof import('../../shared/state/apps.ts').putAppPolicy;
let putConfig: typeof import('../../shared/state/config-store.ts').putConfig;
let issueClientToken: typeof import('../../shared/admission/tokens.ts').issueClientToken;
beforeAll(async () => {
  server = await startHookServer({
    API_TOKEN,
    DENIAL_CACHE_SECONDS: '0',
    DEFAULT_APP_POLICY: JSON.stringify({ admission: 'token', hs256Secret: DEFAULT_SECRET }),
  });
  ({ putAppPolicy } = await import('../../shared/state/apps.ts'));
  ({ putConfig } = await import('../../shared/state/config-store.ts'));
  ({ issueClientToken } = await import('../../shared/admission/tokens.ts'));
});
afterAll(() => server.close());

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A fresh token app with a stored policy, and a fake WCS node serving it. */
async function tokenApp(extra: Record<string, unknown> = {}) {
  const appKey = unique('deny');
  await putAppPolicy(appKey, { admission: 'token', hs256Secret: HS256_SECRET, ...extra });
  return { appKey, wcs: new FakeWcs({ appUrl: server.appUrl, appKey }) };
}

const grants = { publish: ['*'], play: ['*'], data: true };

function tokenFor(appKey: string, sub: string, secret = HS256_SECRET) {
  return issueClientToken(secret, { sub, aud: appKey, ...grants }, 600);
}

/** The `jti` of a token (issueClientToken gives each its own). */
function jtiOf(token: string): string {
  const [, claims] = token.split('.');
  return String(JSON.parse(Buffer.from(String(claims), 'base64url').toString()).jti);
}

async function connect(wcs: FakeWcs, token: string) {
  const session = wcs.newSession();
  const reply = await wcs.send('connect', wcs.connectBody(session, { custom: { token } }));
  return { session, status: reply.status, message: reply.json?.message };
}

async function publish(wcs: FakeWcs, session: WcsSession, name: string) {
  const stream = wcs.newStream(session, name, true);
  return { stream, status: (await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'))).status };
}

const keepAlive = async (wcs: FakeWcs, stream: WcsStream) =>
  (await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'))).status;

/** A REST realm of the operator API, as `POST /api/<realm>` with the operator token. */
async function realm(name: string, payload: unknown) {
  const response = await fetch(`${server.baseUrl}/api/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return (await response.json()) as { status: number; reason: string; payload?: unknown };
}

describe('revoke', () => {
  it('cuts the sessions open now, and the user reconnects and publishes at once with the same token', async () => {
    const { appKey, wcs } = await tokenApp();
    const user = unique('alice');
    const token = await tokenFor(appKey, user);
    const first = await connect(wcs, token);
    const live = await publish(wcs, first.session, 'cam-1');

    expect((await cli(['revoke', '--user', user, '--app', appKey])).json).toEqual({
      revoked: [first.session.sessionId],
    });

    expect(await keepAlive(wcs, live.stream)).toBe(403);
    const again = await connect(wcs, token);
    expect(again.status).toBe(200);
    expect((await publish(wcs, again.session, 'cam-1')).status).toBe(200);
  });
});

describe('deny --user', () => {
  it('refuses the user at connect with the same token, cuts its open session, and holds until undeny', async () => {
    const { appKey, wcs } = await tokenApp();
    const other = await tokenApp();
    const user = unique('alice');
    const token = await tokenFor(appKey, user);
    const open = await connect(wcs, token);
    const live = await publish(wcs, open.session, 'cam-1');

    const denied = await cli(['deny', '--user', user, '--app', appKey, '--reason', 'abuse']);

    expect(denied.status).toBe(0);
    expect(denied.json).toMatchObject({
      denial: { subject: 'user', name: user, appKey, reason: 'abuse' },
      revoked: [open.session.sessionId],
    });
    expect(denied.json.denial.until).toBeUndefined();
    expect(await keepAlive(wcs, live.stream)).toBe(403);
    const again = await connect(wcs, token);
    expect(again).toMatchObject({ status: 403, message: `user ${user} is denied` });
    // Per app: the same user is admitted in another app.
    expect((await connect(other.wcs, await tokenFor(other.appKey, user))).status).toBe(200);
    expect((await cli(['denials', 'list', '--app', appKey])).json).toContainEqual(
      expect.objectContaining({ subject: 'user', name: user, appKey }),
    );

    expect((await cli(['undeny', '--user', user, '--app', appKey])).status).toBe(0);
    expect((await connect(wcs, token)).status).toBe(200);
  });

  it('refuses every decision and keep-alive of an open session in every app, a default-policy app too', async () => {
    const appKey = unique('default');
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey });
    const user = unique('bob');
    const { session } = await connect(wcs, await tokenFor(appKey, user, DEFAULT_SECRET));
    const live = await publish(wcs, session, 'cam-1');
    expect(live.status).toBe(200);

    const denied = await cli(['deny', '--user', user, '--for', '2h']);

    // The app has no stored policy: its sessions are not revoked, the denial refuses them.
    expect(denied.json).toMatchObject({ denial: { subject: 'user', name: user }, revoked: [] });
    expect(denied.json.denial.appKey).toBeUndefined();
    const hoursAhead = (Date.parse(denied.json.denial.until) - Date.now()) / 3_600_000;
    expect(hoursAhead).toBeGreaterThan(1.9);
    expect(hoursAhead).toBeLessThanOrEqual(2);
    const play = wcs.newStream(session, 'cam-1', false);
    expect((await publish(wcs, session, 'cam-2')).status).toBe(403);
    expect((await wcs.send('playStream', wcs.streamBody(play, 'PENDING'))).status).toBe(403);
    expect((await wcs.send('OnDataEvent', wcs.dataBody(session, { text: 'hi' }))).status).toBe(403);
    expect(await keepAlive(wcs, live.stream)).toBe(403);
  });

  it('no longer applies once its time has passed, though the entry is still stored (TTL deletes late)', async () => {
    const { appKey, wcs } = await tokenApp();
    const user = unique('dave');
    const past = new Date(Date.now() - 60_000);
    await putConfig(
      'denial',
      `user#${appKey}#${user}`,
      { subject: 'user', name: user, appKey, until: past.toISOString(), deniedAt: past.toISOString() },
      past,
    );

    expect((await connect(wcs, await tokenFor(appKey, user))).status).toBe(200);
    const listed = (await cli(['denials', 'list', '--app', appKey])).json as { name: string }[];
    expect(listed.filter((d) => d.name === user)).toEqual([]);
  });

  it('stores its end as the entry’s DynamoDB TTL', async () => {
    const { appKey } = await tokenApp();
    const user = unique('erin');
    const until = '2099-01-02T03:04:05.000Z';

    expect((await cli(['deny', '--user', user, '--app', appKey, '--until', until])).status).toBe(0);

    const item = await getItem('config', { kind: 'denial', id: `user#${appKey}#${user}` });
    expect(item).toMatchObject({ expiresAt: Date.parse(until) / 1000, value: { until } });
  });
});

describe('deny --token', () => {
  it('refuses that token and the session it opened, not the user’s other tokens', async () => {
    const { appKey, wcs } = await tokenApp();
    const user = unique('carol');
    const [denied, kept] = [await tokenFor(appKey, user), await tokenFor(appKey, user)];
    const open = await connect(wcs, denied);
    const live = await publish(wcs, open.session, 'cam-1');

    const result = await cli(['deny', '--token', jtiOf(denied), '--app', appKey]);

    expect(result.json).toMatchObject({ revoked: [open.session.sessionId] });
    expect(await keepAlive(wcs, live.stream)).toBe(403);
    expect(await connect(wcs, denied)).toMatchObject({
      status: 403,
      message: `token ${jtiOf(denied)} is denied`,
    });
    expect((await connect(wcs, kept)).status).toBe(200);
  });
});

describe('the operator API: denial/create, denial/list, denial/delete', () => {
  it('denies, lists and lifts a denial as the CLI does', async () => {
    const { appKey, wcs } = await tokenApp();
    const user = unique('frank');
    const token = await tokenFor(appKey, user);

    const created = await realm('denial/create', { user, app: appKey, for: '1d', reason: 'spam' });

    expect(created).toMatchObject({
      status: 200,
      payload: { denial: { name: user, appKey, reason: 'spam' } },
    });
    expect((await connect(wcs, token)).status).toBe(403);
    expect((await realm('denial/list', { app: appKey })).payload).toContainEqual(
      expect.objectContaining({ subject: 'user', name: user, appKey }),
    );
    expect(await realm('denial/delete', { user, app: appKey })).toMatchObject({ status: 200 });
    expect((await connect(wcs, token)).status).toBe(200);
    expect(await realm('denial/delete', { user, app: appKey })).toMatchObject({ status: 400 });
  });

  it.each([
    [{ user: 'u', token: 't' }, /give user or token/],
    [{ app: 'x' }, /give user or token/],
    [{ user: 'u', for: '2 hours' }, /for must be a duration/],
    [{ user: 'u', until: '2001-01-01T00:00:00Z' }, /not in the future/],
  ])('refuses %j with 400 and the reason', async (payload, reason) => {
    const reply = await realm('denial/create', payload);
    expect(reply.status).toBe(400);
    expect(reply.reason).toMatch(reason);
  });
});

describe('apps delete', () => {
  it('refuses while the app has open sessions; with --force deletes its policy and denials and says so', async () => {
    const { appKey, wcs } = await tokenApp();
    const { session } = await connect(wcs, await tokenFor(appKey, unique('gina')));
    await cli(['deny', '--user', 'someone', '--app', appKey]);

    const refused = await cli(['apps', 'delete', appKey]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      `npm run cli: app ${appKey} has 1 open session(s): revoke or deny them first, or delete with --force\n`,
    );
    expect((await cli(['apps', 'get', appKey])).status).toBe(0);

    const forced = await cli(['apps', 'delete', appKey, '--force']);
    expect(forced.json).toEqual({
      deleted: { appKey, policy: true, denials: [`user#${appKey}#someone`] },
      openSessionsLeft: [session.sessionId],
    });
    expect((await cli(['apps', 'get', appKey])).status).not.toBe(0);
  });

  it('deletes an app without sessions at once', async () => {
    const { appKey } = await tokenApp();
    expect((await cli(['apps', 'delete', appKey])).json).toEqual({
      deleted: { appKey, policy: true, denials: [] },
    });
    expect((await cli(['apps', 'delete', appKey])).status).toBe(1);
  });
});

describe('argument errors of deny, undeny, denials and apps delete', () => {
  it.each([
    [['deny'], 'deny needs --user U or --token JTI, one of them'],
    [['deny', '--user', 'u', '--token', 't'], 'deny needs --user U or --token JTI, one of them'],
    [['deny', '--user', 'u', '--for', '2x'], 'deny: for must be a duration like 30m, 2h or 7d, got "2x"'],
    [
      ['deny', '--user', 'u', '--until', 'tomorrow'],
      'deny: until must be an ISO date (2026-12-31T00:00:00Z), got "tomorrow"',
    ],
    [
      ['deny', '--user', 'u', '--until', '2001-01-01T00:00:00Z', '--for', '1h'],
      'deny: give until or for, not both',
    ],
    [
      ['undeny', '--user', 'u', '--for', '1h'],
      'undeny takes --user or --token, and --app; not --until, --for or --reason',
    ],
    [['denials', 'show'], 'unknown denials command "show" (denials list [--app A])'],
    [['apps', 'delete'], 'apps delete needs an app key'],
  ])('refuses %j in one line, with exit code 2', async (args, line) => {
    const result = await cli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`npm run cli: ${line} (npm run cli -- --help lists the commands)\n`);
  });
});
