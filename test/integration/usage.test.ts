/**
 * Usage kept as it happens (`functions/usage-streams.ts`), end to end: hooks through the local
 * runtime's HTTP path, DynamoDB Local's streams tailed into the usage consumer as `npm start` does,
 * and the aggregates read back (`shared/state/usage.ts`): sessions, plays, the refusal by its
 * reason, data messages, peaks of sessions and players, and the publish with its players.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { eventually } from '../support/eventually.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { queryBy } from '../support/tables.ts';
import { HS256_SECRET } from '../support/tokens.ts';

let server: RunningHookServer;
let putAppPolicy: typeof import('../../shared/state/apps.ts').putAppPolicy;
let usage: typeof import('../../shared/state/usage.ts');

beforeAll(async () => {
  // Tables of its own: the usage tailer reads their streams from the start, and the shared tables'
  // streams hold every other test file's changes of the run.
  await useOwnTables('usage');
  server = await startHookServer({}, { usage: true });
  ({ putAppPolicy } = await import('../../shared/state/apps.ts'));
  usage = await import('../../shared/state/usage.ts');
}, 60_000);
afterAll(() => server.close());

describe('usage of an app and of a stream', () => {
  it('is kept from the hooks: sessions, plays, refusals by reason, data, peaks and the publish', async () => {
    // Arrange: a publisher, two players within the app's limit, a third refused (a refusal, not a play).
    const app = `usage-${randomUUID().slice(0, 8)}`;
    await putAppPolicy(app, { admission: 'open', maxPlayersPerStream: 2 });
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const name = 'cam';
    const [publisher, ...viewers] = Array.from({ length: 4 }, () => wcs.newSession());
    if (!publisher) throw new Error('no publisher');
    for (const session of [publisher, ...viewers]) {
      expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED'));
    }
    const publish = wcs.newStream(publisher, name, true);
    expect((await wcs.send('publishStream', wcs.streamBody(publish, 'PENDING'))).status).toBe(200);
    await wcs.goLive(publish);
    const plays = viewers.map((viewer) => wcs.newStream(viewer, name, false));
    const answers = [];
    for (const play of plays)
      answers.push((await wcs.send('playStream', wcs.streamBody(play, 'PENDING'))).status);
    expect(answers).toEqual([200, 200, 403]);
    // WCS reports the refused play FAILED, as it does any publish or play refused (reference §1.3).
    const refused = plays[2];
    if (!refused) throw new Error('no third play');
    await wcs.send(
      'StreamStatusEvent',
      wcs.streamBody(refused, 'FAILED', { info: 'Rejected by the REST hook backend' }),
    );
    for (const play of plays.slice(0, 2)) await wcs.goLive(play);
    expect((await wcs.send('OnDataEvent', wcs.dataBody(publisher, { hello: 1 }))).status).toBe(200);

    // Act: everything ends.
    for (const play of plays.slice(0, 2)) await wcs.end(play);
    await wcs.end(publish);
    for (const session of [publisher, ...viewers]) await wcs.disconnect(session);
    const today = new Date().toISOString().slice(0, 10);

    // Assert
    const [day] = await eventually(
      () => usage.usageOfApp(app, today, today),
      ([d]) =>
        d?.sessions === 4 &&
        d.refusals === 1 &&
        d.dataIn === 1 &&
        d.publishMinutes > 0 &&
        d.viewerMinutes > 0,
    );
    expect(day).toMatchObject({
      period: today,
      sessions: 4,
      anonymousSessions: 4,
      uniqueUsers: 0,
      publishes: 1,
      plays: 2,
      refusals: 1,
      dataIn: 1,
      dataOut: 0,
      peakSessions: 4,
    });
    expect(day?.failuresByReason).toEqual({});
    expect(day?.peakPlayers).toBeGreaterThanOrEqual(2);
    expect(Object.keys(day?.refusalsByReason ?? {})).toEqual([expect.stringMatching(/^playStream: /)]);
    const hours = await usage.usageOfApp(app, today, today, 'hour');
    expect(hours.reduce((n, h) => n + h.sessions, 0)).toBe(4);
    const [stream] = await eventually(
      () => usage.usageOfStream(app, name, today, today),
      ([p]) => p?.end !== undefined,
    );
    expect(stream).toMatchObject({
      mediaSessionId: publish.mediaSessionId,
      live: true,
      players: 2,
      peakPlayers: 2,
    });
    expect(stream?.durationMinutes).toBeGreaterThanOrEqual(0);

    // The refusal itself, with its reason, and the minute's count of that reason.
    const [refusal] = await queryBy('counters', 'counter', `refusals#${app}#${today}`);
    expect(refusal).toMatchObject({ appKey: app, method: 'playStream', sessionId: viewers[2]?.sessionId });
    const [minute] = await queryBy('counters', 'counter', `refused#${app}`);
    expect(minute?.[`reason#playStream: ${String(refusal?.reason)}`]).toBe(1);
  }, 90_000);

  it("lists a refused play in the stream history as refused, and leaves it out of its publisher's subscribers", async () => {
    // Arrange: a publisher live, one player within the limit, a second refused, then reported FAILED.
    const app = `usage-history-${randomUUID().slice(0, 8)}`;
    await putAppPolicy(app, { admission: 'open', maxPlayersPerStream: 1 });
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const name = `hist-${app}`;
    const [publisher, watcher, refusedViewer] = Array.from({ length: 3 }, () => wcs.newSession());
    if (!publisher || !watcher || !refusedViewer) throw new Error('no sessions');
    for (const session of [publisher, watcher, refusedViewer])
      expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
    const publish = wcs.newStream(publisher, name, true);
    expect((await wcs.send('publishStream', wcs.streamBody(publish, 'PENDING'))).status).toBe(200);
    await wcs.goLive(publish);
    const play = wcs.newStream(watcher, name, false);
    expect((await wcs.send('playStream', wcs.streamBody(play, 'PENDING'))).status).toBe(200);
    await wcs.goLive(play);
    const refused = wcs.newStream(refusedViewer, name, false);
    expect((await wcs.send('playStream', wcs.streamBody(refused, 'PENDING'))).status).toBe(403);
    await wcs.send('StreamStatusEvent', wcs.streamBody(refused, 'FAILED', { info: 'Rejected' }));

    // Act
    const { handleRealm } = await import('../../shared/realtime/realms.ts');
    const reply = await handleRealm({ requestId: '1', realm: '/api/stream/history', payload: { name } });

    // Assert
    const items = reply.payload as Record<string, unknown>[];
    expect(items.find((i) => i.id === publish.mediaSessionId)).toMatchObject({
      subscribers: [play.mediaSessionId],
      subscriberCount: 1,
    });
    expect(items.find((i) => i.id === refused.mediaSessionId)).toMatchObject({
      status: 'FAILED',
      refused: true,
      refusal: expect.stringContaining('players'),
    });
    expect(items.find((i) => i.id === play.mediaSessionId)).not.toHaveProperty('refused');
  });

  it("counts each token user once a day, and a user's sessions over time are one Query of byUser", async () => {
    // Arrange: a token app; alice connects twice, bob once.
    const app = `usage-users-${randomUUID().slice(0, 8)}`;
    await putAppPolicy(app, { admission: 'token', hs256Secret: HS256_SECRET });
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const [alice, bob] = [`alice-${randomUUID().slice(0, 6)}`, `bob-${randomUUID().slice(0, 6)}`];

    // Act: and a connect without a token, refused, which WCS reports FAILED then DISCONNECTED (§1.2).
    const tokenless = wcs.newSession();
    expect((await wcs.send('connect', wcs.connectBody(tokenless))).status).toBe(403);
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(tokenless, 'FAILED', 'Rejected'));
    await wcs.disconnect(tokenless);
    for (const user of [alice, alice, bob]) {
      const token = await issueClientToken(HS256_SECRET, { sub: user, aud: app }, 300);
      const session = wcs.newSession();
      expect((await wcs.send('connect', wcs.connectBody(session, { custom: { token } }))).status).toBe(200);
      await wcs.disconnect(session);
    }
    const today = new Date().toISOString().slice(0, 10);

    // Assert: the refused connect is a refusal, not a session (nor an anonymous one, nor a failure).
    const [day] = await eventually(
      () => usage.usageOfApp(app, today, today),
      ([d]) => d?.sessions === 3 && d.uniqueUsers === 2 && d.refusals === 1,
    );
    expect(day).toMatchObject({ sessions: 3, uniqueUsers: 2, anonymousSessions: 0, refusals: 1 });
    expect(day?.failuresByReason).toEqual({});
    expect((await usage.usersOfAppDay(app, today)).sort()).toEqual([alice, bob].sort());
    const sessions = await queryBy('sessions', 'userId', alice, 'byUser');
    expect(sessions.map((s) => s.appKey)).toEqual([app, app]);
  }, 90_000);
});
