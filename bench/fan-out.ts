import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { configureInProcess, FANOUT_SESSIONS, fmt, progress, table } from './support.ts';

export async function fanOut(endpoint: string) {
  configureInProcess(endpoint);
  const { dynamo } = await import('../shared/store/dynamo.ts');
  const { FakeWcs } = await import('../test/support/fake-wcs.ts');
  const { FakeWcsRest } = await import('../test/support/fake-wcs-rest.ts');
  const { putNodeUrl } = await import('../shared/sender/wcs-nodes.ts');
  const node = new FakeWcs({ appUrl: '', appKey: 'fanout' });
  const rest = await new FakeWcsRest({ node }).start();
  await putNodeUrl(node.nodeId, rest.url);
  // Sender fan-out.
  progress(`fan-out: recording ${FANOUT_SESSIONS} open sessions...`);
  const { recordConnect } = await import('../shared/state/sessions.ts');
  const { mapWithConcurrency, sendNow } = await import('../shared/sender/sender.ts');
  const fanApp = `fanout-${randomUUID().slice(0, 8)}`;
  const sessions = Array.from({ length: FANOUT_SESSIONS }, () => ({ ...node.newSession(), appKey: fanApp }));
  await mapWithConcurrency(sessions, 32, (s) => recordConnect({ ...s }, new Date()));
  progress('fan-out: sending...');
  let t = performance.now();
  const summary = await sendNow({ appKey: fanApp }, { broadcast: true });
  const senderSeconds = (performance.now() - t) / 1000;
  const pool = new Pool(new URL(rest.url).origin, { connections: 16 });
  const postDataSend = async (s: { nodeId: string; sessionId: string }, operationId: string) => {
    const response = await pool.request({
      method: 'POST',
      path: '/rest-api/data/send',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        nodeId: s.nodeId,
        sessionId: s.sessionId,
        operationId,
        payload: { broadcast: true },
      }),
    });
    await response.body.dump();
  };
  t = performance.now();
  await mapWithConcurrency(sessions, 16, (s) => postDataSend(s, randomUUID()));
  const bareSeconds = (performance.now() - t) / 1000;
  // The same loop, with one PutItem per send to record it, as the sender records each.
  const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
  const { tableNameOf } = await import('../shared/store/dynamo.ts');
  t = performance.now();
  await mapWithConcurrency(sessions, 16, async (s) => {
    const operationId = randomUUID();
    await postDataSend(s, operationId);
    await dynamo.send(
      new PutCommand({
        TableName: tableNameOf('dataMessages'),
        Item: { sessionId: s.sessionId, operationId, outcome: 'SENT' },
      }),
    );
  });
  const recordedSeconds = (performance.now() - t) / 1000;
  await pool.close();
  await rest.close();
  const { closeWcsClient } = await import('../shared/sender/wcs-client.ts');
  await closeWcsClient();
  table(
    `Sender fan-out to ${FANOUT_SESSIONS} sessions (fake WCS on loopback)`,
    ['sender', 'messages', 'seconds', 'messages/s', 'ratio'],
    [
      [
        'bare undici loop (16 in flight, no records)',
        FANOUT_SESSIONS,
        fmt(bareSeconds, 2),
        fmt(FANOUT_SESSIONS / bareSeconds),
        '1.00',
      ],
      [
        'bare undici loop + one PutItem per send',
        FANOUT_SESSIONS,
        fmt(recordedSeconds, 2),
        fmt(FANOUT_SESSIONS / recordedSeconds),
        fmt(bareSeconds / recordedSeconds, 2),
      ],
      [
        'wcs-hooks sendNow (resolve by app, send, record each)',
        summary.sent,
        fmt(senderSeconds, 2),
        fmt(summary.sent / senderSeconds),
        fmt(bareSeconds / senderSeconds, 2),
      ],
    ],
    [
      `The sender resolves the targets (one Query, paged) and records every send in DynamoDB (one write each); the bare loop does neither. Against the loop that also writes one record per send, the sender runs at ${fmt(recordedSeconds / senderSeconds, 2)}x: DynamoDB Local's write rate, not the sender, bounds both.`,
    ],
  );
}
