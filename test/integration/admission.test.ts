/**
 * Admission through real HTTP against DynamoDB Local: who may connect, publish, play and send data,
 * per app policy, with tokens; and that WCS is told to make the decisions stick.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RestMethodConfig } from '../../shared/admission/rest-client-config.ts';
import { revokeUser } from '../../shared/admission/revocation.ts';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { expectOnlyRefused, getItem } from '../support/tables.ts';
import { HS256_SECRET, type JwksServer, startJwksServer } from '../support/tokens.ts';

let server: RunningHookServer;
let jwks: JwksServer;

beforeAll(async () => {
  server = await startHookServer();
  jwks = await startJwksServer();
});
afterAll(async () => {
  await server.close();
  await jwks.close();
});

/** A fresh app with `policy`, and a fake WCS node serving it. */
async function appWith(policy: Record<string, unknown>) {
  const appKey = `app-${randomUUID().slice(0, 8)}`;
  await putAppPolicy(appKey, policy);
  return { appKey, wcs: new FakeWcs({ appUrl: server.appUrl, appKey }) };
}

const tokenApp = { admission: 'token', hs256Secret: HS256_SECRET };

function token(appKey: string, sub: string, grants: Record<string, unknown> = {}, ttlSeconds = 300) {
  return issueClientToken(HS256_SECRET, { sub, aud: appKey, ...grants }, ttlSeconds);
}

/** What a connect answers: the mirror with its restClientConfig, or a refusal. */
interface ConnectAnswer {
  restClientConfig: Record<string, RestMethodConfig>;
  custom: { token?: string };
  message?: string;
}

async function connectWith(
  wcs: FakeWcs,
  tokenValue?: string,
): Promise<{ session: WcsSession; status: number; json: ConnectAnswer }> {
  const session = wcs.newSession();
  const reply = await wcs.send(
    'connect',
    wcs.connectBody(session, tokenValue ? { custom: { token: tokenValue, room: 'r1' } } : {}),
  );
  return { session, status: reply.status, json: reply.json as unknown as ConnectAnswer };
}

describe('connect to a token app', () => {
  it('admits a valid token, records its user, and tells WCS to enforce the later decisions', async () => {
    const { appKey, wcs } = await appWith(tokenApp);

    const { session, status, json } = await connectWith(
      wcs,
      await token(appKey, 'alice', { publish: ['cam-*'], data: true }),
    );

    expect(status).toBe(200);
    expect(json.custom.token).toEqual(expect.any(String)); // every received field mirrored
    for (const method of ['publishStream', 'playStream', 'OnDataEvent', 'StreamKeepAliveEvent']) {
      expect(json.restClientConfig[method]).toMatchObject({ restOnError: 'FAIL' });
    }
    expect(json.restClientConfig.publishStream?.restExclude).toBe('sdp');
    const item = await getItem('sessions', { sessionId: session.sessionId });
    expect(item).toMatchObject({
      userId: 'alice',
      grantsPublish: ['cam-*'],
      grantsData: true,
      openKey: `alice#${session.sessionId}`,
    });
    expect(item?.custom).toBe('{"room":"r1"}');
  });

  it.each([
    ['no token', async (_app: string) => undefined, /token required/],
    ['an expired token', (app: string) => token(app, 'bob', {}, -60), /token expired/],
    [
      'a token signed with another secret',
      (app: string) => issueClientToken('x'.repeat(40), { sub: 'bob', aud: app }, 300),
      /signature invalid/,
    ],
    ['a token for another app', (_app: string) => token('some-other-app', 'bob'), /not for this app/],
    ['a token that is not a JWT', async (_app: string) => 'not-a-jwt', /malformed/],
  ])('refuses %s with 403 and the reason, and records only the refusal', async (_case, makeToken, reason) => {
    const { appKey, wcs } = await appWith(tokenApp);

    const { session, status, json } = await connectWith(wcs, await makeToken(appKey));

    expect(status).toBe(403);
    expect(json).toMatchObject({ error: 'Forbidden', message: expect.stringMatching(reason) });
    await expectOnlyRefused('sessions', { sessionId: session.sessionId }, reason);
  });

  it('admits an ES256 token verified against the app’s JWKS URL', async () => {
    const { appKey, wcs } = await appWith({ admission: 'token', jwksUrl: jwks.url });

    const good = await connectWith(wcs, await jwks.sign({ play: ['*'] }, { sub: 'carol', aud: appKey }));
    const forged = await connectWith(wcs, await token(appKey, 'carol'));

    expect(good.status).toBe(200);
    expect(forged.status).toBe(403);
    expect(forged.json.message).toMatch(/algorithm not accepted/);
  });
});

describe('an open app, and an app without a policy', () => {
  it('admits a client without a token, as EchoApp does', async () => {
    const { wcs } = await appWith({ admission: 'open' });
    expect((await connectWith(wcs)).status).toBe(200);
  });
});

describe('publishStream and playStream', () => {
  it('admit a stream name the token grants, and refuse one it does not', async () => {
    const { appKey, wcs } = await appWith(tokenApp);
    const { session } = await connectWith(
      wcs,
      await token(appKey, 'dave', { publish: ['cam-*'], play: ['lobby'] }),
    );

    const allowed = await wcs.send(
      'publishStream',
      wcs.streamBody(wcs.newStream(session, 'cam-1', true), 'PENDING'),
    );
    const otherName = wcs.newStream(session, 'studio', true);
    const refused = await wcs.send('publishStream', wcs.streamBody(otherName, 'PENDING'));
    const play = await wcs.send(
      'playStream',
      wcs.streamBody(wcs.newStream(session, 'lobby', false), 'PENDING'),
    );
    const playRefused = await wcs.send(
      'playStream',
      wcs.streamBody(wcs.newStream(session, 'cam-1', false), 'PENDING'),
    );

    expect(allowed.status).toBe(200);
    expect(refused.status).toBe(403);
    expect(refused.json?.message).toBe('not allowed to publish "studio"');
    expect(play.status).toBe(200);
    expect(playRefused.status).toBe(403);
    await expectOnlyRefused('streams', streamKey(otherName), 'not allowed to publish "studio"');
  });

  it('refuse a session that has ended', async () => {
    const { wcs } = await appWith({ admission: 'open' });
    const { session } = await connectWith(wcs);
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED'));
    const ended = await wcs.send(
      'publishStream',
      wcs.streamBody(wcs.newStream(session, 'x', true), 'PENDING'),
    );

    expect(ended.status).toBe(403);
    expect(ended.json?.message).toMatch(/session disconnected/);
  });

  it('overwrite record when the app forces recording', async () => {
    const { wcs } = await appWith({ admission: 'open', forceRecord: true });
    const { session, json } = await connectWith(wcs);
    const stream = wcs.newStream(session, 'recorded', true);

    const reply = await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING', { record: false }));

    expect(json.restClientConfig.publishStream).toMatchObject({
      restPolicy: 'OVERWRITE',
      restOverwrite: 'record',
    });
    expect(reply.json?.record).toBe(true);
    expect(await getItem('streams', streamKey(stream))).toMatchObject({ record: true });
  });
});

describe('a session whose connect this backend never saw', () => {
  it.each([
    ['an open app', { admission: 'open' }],
    ['an app without a policy (open by default)', undefined],
  ])(
    'in %s may publish, play and send data, and is recorded as not seen at connect',
    async (_name, policy) => {
      const { wcs } = policy
        ? await appWith(policy)
        : { wcs: new FakeWcs({ appUrl: server.appUrl, appKey: `nopolicy-${randomUUID().slice(0, 8)}` }) };
      const [publisher, player, sender] = [wcs.newSession(), wcs.newSession(), wcs.newSession()];
      const stream = wcs.newStream(publisher, `unseen-${randomUUID().slice(0, 6)}`, true);
      const play = wcs.newStream(player, stream.name, false);
      const data = wcs.dataBody(sender, { hello: 'there' });

      const published = await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'));
      const played = await wcs.send('playStream', wcs.streamBody(play, 'PENDING'));
      const sent = await wcs.send('OnDataEvent', data);

      expect([published.status, played.status, sent.status]).toEqual([200, 200, 200]);
      expect(await getItem('streams', streamKey(stream))).toMatchObject({ status: 'PENDING' });
      expect(await getItem('streams', streamKey(play))).toMatchObject({ status: 'PENDING' });
      expect(
        await getItem('dataMessages', { sessionId: sender.sessionId, operationId: String(data.operationId) }),
      ).toMatchObject({ decision: 'ACCEPTED' });
      for (const [session, method] of [
        [publisher, 'publishStream'],
        [player, 'playStream'],
        [sender, 'OnDataEvent'],
      ] as const) {
        expect(await getItem('sessions', { sessionId: session.sessionId })).toMatchObject({
          status: 'ESTABLISHED',
          connectSeen: false,
          firstSeenBy: method,
          appKey: wcs.appKey,
          openAppKey: wcs.appKey,
        });
      }
    },
  );

  it('is marked seen at connect when its connect arrives late', async () => {
    const { wcs } = await appWith({ admission: 'open' });
    const session = wcs.newSession();
    await wcs.send('OnDataEvent', wcs.dataBody(session, 'first'));

    expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);

    expect(await getItem('sessions', { sessionId: session.sessionId })).toMatchObject({
      status: 'ESTABLISHED',
      connectSeen: true,
    });
  });

  it.each([
    ['a token app', tokenApp],
    ['a closed app', { admission: 'closed' }],
  ])(
    'in %s is refused publish, play and data, and only the refusals are recorded of it',
    async (_name, policy) => {
      const { wcs } = await appWith(policy);
      const stranger = wcs.newSession();
      const stream = wcs.newStream(stranger, 'x', true);
      const play = wcs.newStream(stranger, 'y', false);
      const data = wcs.dataBody(stranger, 'hello');

      const answers = [
        await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING')),
        await wcs.send('playStream', wcs.streamBody(play, 'PENDING')),
        await wcs.send('OnDataEvent', data),
      ];

      for (const answer of answers) {
        expect(answer.status).toBe(403);
        expect(answer.json?.message).toMatch(/session unknown/);
      }
      expect(await getItem('sessions', { sessionId: stranger.sessionId })).toBeUndefined();
      await expectOnlyRefused('streams', streamKey(stream), /session unknown/);
      await expectOnlyRefused('streams', streamKey(play), /session unknown/);
    },
  );
});

describe('one publisher per stream name', () => {
  it('lets exactly one of two racing publishers win, every time', async () => {
    const { wcs } = await appWith({ admission: 'open', singlePublisher: true });
    for (let round = 0; round < 15; round++) {
      const [a, b] = await Promise.all([connectWith(wcs), connectWith(wcs)]);
      const name = `race-${round}`;

      const replies = await Promise.all(
        [a.session, b.session].map((s) =>
          wcs.send('publishStream', wcs.streamBody(wcs.newStream(s, name, true), 'PENDING')),
        ),
      );

      expect(replies.map((r) => r.status).sort()).toEqual([200, 403]);
      expect(replies.find((r) => r.status === 403)?.json?.message).toBe('Stream name is already in use');
    }
  });

  it.each([
    ['its stream is UNPUBLISHED', 'UNPUBLISHED'],
    ['its stream FAILED', 'FAILED'],
    ['its session is DISCONNECTED', 'DISCONNECTED'],
  ])('frees the name when %s', async (_case, end) => {
    const { wcs } = await appWith({ admission: 'open', singlePublisher: true });
    const first = await connectWith(wcs);
    const second = await connectWith(wcs);
    const stream = wcs.newStream(first.session, 'shared-name', true);
    expect((await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'))).status).toBe(200);
    expect(
      (
        await wcs.send(
          'publishStream',
          wcs.streamBody(wcs.newStream(second.session, 'shared-name', true), 'PENDING'),
        )
      ).status,
    ).toBe(403);

    if (end === 'DISCONNECTED')
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(first.session, 'DISCONNECTED'));
    else await wcs.send('StreamStatusEvent', wcs.streamBody(stream, end));

    const retry = await wcs.send(
      'publishStream',
      wcs.streamBody(wcs.newStream(second.session, 'shared-name', true), 'PENDING'),
    );
    expect(retry.status).toBe(200);
  });

  it('admits a retried publishStream of the holder itself', async () => {
    const { wcs } = await appWith({ admission: 'open', singlePublisher: true });
    const { session } = await connectWith(wcs);
    const body = wcs.streamBody(wcs.newStream(session, 'retried', true), 'PENDING');
    expect((await wcs.send('publishStream', body)).status).toBe(200);
    expect((await wcs.send('publishStream', body)).status).toBe(200);
  });
});

describe('players per stream', () => {
  const count = async (appKey: string, name: string) =>
    (await getItem('streamNames', { appKey, name }))?.playerCount;

  it.each([1, 2, 3])(
    'refuses no viewer under the limit and admits no more than it when 40 join at once (run %i)',
    async () => {
      const limit = 10;
      const { appKey, wcs } = await appWith({ admission: 'open', maxPlayersPerStream: limit });
      const sessions = await Promise.all(Array.from({ length: 40 }, () => connectWith(wcs)));
      const name = `crowded-${randomUUID().slice(0, 6)}`;

      const replies = await Promise.all(
        sessions.map(({ session }) =>
          wcs.send('playStream', wcs.streamBody(wcs.newStream(session, name, false), 'PENDING')),
        ),
      );

      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(limit);
      expect(statuses.filter((s) => s === 403)).toHaveLength(40 - limit);
      for (const reply of replies.filter((r) => r.status === 403))
        expect(reply.json?.message).toMatch(/has its maximum of 10 players/);
      expect(await count(appKey, name)).toBe(limit);
    },
  );

  it('takes no place for a playStream that arrives after its own STOPPED', async () => {
    const { appKey, wcs } = await appWith({ admission: 'open', maxPlayersPerStream: 1 });
    const [late, next] = await Promise.all([connectWith(wcs), connectWith(wcs)]);
    const stopped = wcs.newStream(late.session, 'one-seat', false);
    // WCS's hooks come from a thread pool: the STOPPED of a short play can arrive before its playStream.
    await wcs.send('StreamStatusEvent', wcs.streamBody(stopped, 'STOPPED'));

    const lateReply = await wcs.send('playStream', wcs.streamBody(stopped, 'PENDING'));
    const nextReply = await wcs.send(
      'playStream',
      wcs.streamBody(wcs.newStream(next.session, 'one-seat', false), 'PENDING'),
    );

    expect(lateReply.status).toBe(200);
    expect(nextReply.status).toBe(200);
    expect(await count(appKey, 'one-seat')).toBe(1);
  });

  it('admits exactly the limit of concurrent players, and the count ends exact and never negative as they leave', async () => {
    const { appKey, wcs } = await appWith({ admission: 'open', maxPlayersPerStream: 3 });
    const sessions = await Promise.all(Array.from({ length: 7 }, () => connectWith(wcs)));
    const players = sessions.map(({ session }) => wcs.newStream(session, 'popular', false));

    const replies = await Promise.all(
      players.map((p) => wcs.send('playStream', wcs.streamBody(p, 'PENDING'))),
    );

    expect(replies.filter((r) => r.status === 200)).toHaveLength(3);
    expect(replies.filter((r) => r.status === 403).map((r) => r.json?.message)).toEqual(
      Array(4).fill('"popular" has its maximum of 3 players'),
    );
    expect(await count(appKey, 'popular')).toBe(3);

    // Every player stops at once, the refused ones too, and each STOPPED arrives twice.
    const stops = players
      .flatMap((p) => [p, p])
      .map((p) => wcs.send('StreamStatusEvent', wcs.streamBody(p, 'STOPPED')));
    await Promise.all(stops);
    expect(await count(appKey, 'popular')).toBe(0);

    const next = await wcs.send(
      'playStream',
      wcs.streamBody(wcs.newStream(sessions[0]?.session as WcsSession, 'popular', false), 'PENDING'),
    );
    expect(next.status).toBe(200);
    expect(await count(appKey, 'popular')).toBe(1);
  });

  it('recomputes a count that drifted (lost end hooks) before refusing a player', async () => {
    const { appKey, wcs } = await appWith({ admission: 'open', maxPlayersPerStream: 2 });
    const { session } = await connectWith(wcs);
    const { dynamo, tableNameOf } = await import('../../shared/store/dynamo.ts');
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await dynamo.send(
      new PutCommand({
        TableName: tableNameOf('streamNames'),
        Item: { appKey, name: 'drifted', playerCount: 2 },
      }),
    );

    const reply = await wcs.send(
      'playStream',
      wcs.streamBody(wcs.newStream(session, 'drifted', false), 'PENDING'),
    );

    expect(reply.status).toBe(200);
    expect(await count(appKey, 'drifted')).toBe(1);
  });
});

describe('OnDataEvent', () => {
  it('is accepted when the token allows data, and refused (and recorded as refused) when it does not', async () => {
    const { appKey, wcs } = await appWith(tokenApp);
    const sender = await connectWith(wcs, await token(appKey, 'erin', { data: true }));
    const mute = await connectWith(wcs, await token(appKey, 'frank'));
    const allowed = wcs.dataBody(sender.session, { hello: 1 });
    const refused = wcs.dataBody(mute.session, { hello: 2 });

    expect((await wcs.send('OnDataEvent', allowed)).status).toBe(200);
    const reply = await wcs.send('OnDataEvent', refused);

    expect(reply.status).toBe(403);
    expect(reply.json?.message).toBe('not allowed to send data');
    expect(
      await getItem('dataMessages', {
        sessionId: mute.session.sessionId,
        operationId: String(refused.operationId),
      }),
    ).toMatchObject({
      decision: 'REFUSED',
    });
  });

  it('is refused over the app’s payload size limit', async () => {
    const { wcs } = await appWith({ admission: 'open', dataMaxBytes: 100 });
    const { session } = await connectWith(wcs);

    const reply = await wcs.send('OnDataEvent', wcs.dataBody(session, { text: 'x'.repeat(200) }));

    expect(reply.status).toBe(403);
    expect(reply.json?.message).toMatch(/the app allows 100/);
  });
});

describe('revocation', () => {
  it('cuts a user off at the next keep-alive of each of their streams, and refuses their new streams', async () => {
    const { appKey, wcs } = await appWith(tokenApp);
    const grants = { publish: ['*'], play: ['*'] };
    const [one, two] = await Promise.all([
      connectWith(wcs, await token(appKey, 'gina', grants)),
      connectWith(wcs, await token(appKey, 'gina', grants)),
    ]);
    const bystander = await connectWith(wcs, await token(appKey, 'hank', grants));
    const streams = [one, two, bystander].map(({ session }, i) => wcs.newStream(session, `s${i}`, true));
    for (const stream of streams) {
      await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'));
      await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));
      expect((await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'))).status).toBe(200);
    }

    const revoked = await revokeUser('gina', appKey, new Date());

    expect(revoked.sort()).toEqual([one.session.sessionId, two.session.sessionId].sort());
    const keepAlives = await Promise.all(
      streams.map((s) => wcs.send('StreamKeepAliveEvent', wcs.streamBody(s, 'PUBLISHING'))),
    );
    expect(keepAlives.map((r) => r.status)).toEqual([403, 403, 200]);
    expect(keepAlives[0]?.json?.message).toBe('session revoked');
    const again = await wcs.send(
      'publishStream',
      wcs.streamBody(wcs.newStream(one.session, 'new', true), 'PENDING'),
    );
    expect(again.status).toBe(403);
  });
});
