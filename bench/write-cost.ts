import { randomUUID } from 'node:crypto';
import { configureInProcess, connectBody, ctx, post, streamBody, table } from './support.ts';

export async function writeCost(endpoint: string) {
  configureInProcess(endpoint);
  const { dynamo } = await import('../shared/store/dynamo.ts');
  // Ask every write for its consumed capacity, and add it up. A failed conditional write reports
  // none, but DynamoDB charges it 1 WCU (for items under 1 KB): counted as such.
  let units = 0;
  let failedConditions = 0;
  const byIndex = new Map<string, number>();
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const writes = /^(Put|Update|TransactWrite|Delete|BatchWrite)(Item|Items)?Command$/;
      if (!writes.test(String(context.commandName))) return next(args);
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        for (const c of [consumed].flat() as {
          CapacityUnits?: number;
          GlobalSecondaryIndexes?: Record<string, { CapacityUnits: number }>;
          LocalSecondaryIndexes?: Record<string, { CapacityUnits: number }>;
        }[]) {
          if (!c) continue;
          units += c.CapacityUnits ?? 0;
          for (const [name, v] of Object.entries({
            ...c.GlobalSecondaryIndexes,
            ...c.LocalSecondaryIndexes,
          })) {
            byIndex.set(name, (byIndex.get(name) ?? 0) + v.CapacityUnits);
          }
        }
        return result;
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'ConditionalCheckFailedException') failedConditions++;
        if (name === 'TransactionCanceledException') failedConditions += 2;
        throw error;
      }
    },
    { step: 'initialize', name: 'consumedCapacity' },
  );

  const { createHookServer, loadHookHandlers } = await import('../infra/local/hook-server.ts');
  const server = createHookServer(await loadHookHandlers());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  // Refusals: a closed app refuses every connect; a second publisher of a name is refused in an app
  // with one publisher per name (the first one set up here, before the rows are measured).
  const { putAppPolicy } = await import('../shared/state/apps.ts');
  await putAppPolicy('bench-closed', { admission: 'closed' });
  await putAppPolicy('bench-single', { admission: 'open', singlePublisher: true });
  const refusedConnect = { ...connectBody(), appKey: 'bench-closed' };
  const [first, second] = [connectBody(), connectBody()].map((b) => ({ ...b, appKey: 'bench-single' }));
  const held = { ...streamBody(String(first?.sessionId), 'PENDING'), appKey: 'bench-single' };
  for (const [method, body] of [
    ['connect', first],
    ['connect', second],
    ['publishStream', held],
  ] as const)
    await post(base, method, body);
  const refusedPublish = {
    ...streamBody(String(second?.sessionId), 'PENDING'),
    appKey: 'bench-single',
    name: held.name,
  };

  const session = connectBody();
  const publisher = streamBody(session.sessionId, 'PENDING');
  const live = streamBody(session.sessionId, 'PUBLISHING');
  const data = { ...ctx(session.sessionId), operationId: randomUUID(), payload: { text: 'hello' } };
  const steps: [string, string, unknown][] = [
    // The first hook from a node also notes the node (`monitoring`, once a minute): 1 unit more.
    ['connect (and the first note of its node in monitoring)', 'connect', session],
    ['ConnectionStatusEvent ESTABLISHED', 'ConnectionStatusEvent', { ...session, status: 'ESTABLISHED' }],
    ['publishStream', 'publishStream', publisher],
    ['StreamStatusEvent PUBLISHING', 'StreamStatusEvent', { ...publisher, status: 'PUBLISHING' }],
    ['StreamStatusEvent PUBLISHING (repeat)', 'StreamStatusEvent', { ...publisher, status: 'PUBLISHING' }],
    ['StreamKeepAliveEvent', 'StreamKeepAliveEvent', { ...publisher, status: 'PUBLISHING' }],
    [
      'StreamKeepAliveEvent (the next, within KEEP_ALIVE_WRITE_INTERVAL_S)',
      'StreamKeepAliveEvent',
      { ...publisher, status: 'PUBLISHING' },
    ],
    ['OnDataEvent', 'OnDataEvent', data],
    [
      'DataStatusEvent',
      'DataStatusEvent',
      { ...ctx(session.sessionId), operationId: data.operationId, status: 'ACCEPTED' },
    ],
    ['unPublishStream', 'unPublishStream', { ...publisher, status: 'PUBLISHING' }],
    [
      'StreamStatusEvent UNPUBLISHED',
      'StreamStatusEvent',
      { ...publisher, status: 'UNPUBLISHED', info: 'Stopped by publisher stop' },
    ],
    ['StreamStatusEvent PUBLISHING (late)', 'StreamStatusEvent', { ...publisher, status: 'PUBLISHING' }],
    ['StreamStatusEvent PUBLISHING (first hook seen)', 'StreamStatusEvent', live],
    [
      'StreamStatusEvent FAILED of a live stream',
      'StreamStatusEvent',
      { ...live, status: 'FAILED', info: 'Failed by ICE error' },
    ],
    [
      'CallStatusEvent (catch-all)',
      'CallStatusEvent',
      { ...ctx(session.sessionId), callId: 'c1', status: 'RING' },
    ],
    ['ErrorEvent', 'ErrorEvent', { ...ctx(session.sessionId), info: 'Failed by error' }],
    [
      'ConnectionStatusEvent DISCONNECTED',
      'ConnectionStatusEvent',
      { ...ctx(session.sessionId), status: 'DISCONNECTED' },
    ],
    // A refusal: its count, its record, and the mark on its session or stream; then WCS's FAILED.
    ['connect refused', 'connect', refusedConnect],
    ['ConnectionStatusEvent FAILED of it', 'ConnectionStatusEvent', failedOf(refusedConnect)],
    ['publishStream refused (name in use)', 'publishStream', refusedPublish],
    ['StreamStatusEvent FAILED of it', 'StreamStatusEvent', failedOf(refusedPublish)],
    ['connect with a 1.5 KB custom', 'connect', { ...connectBody(), custom: LARGE_CUSTOM }],
    [
      `connect with a 1.5 KB custom, MAX_STORED_CUSTOM_BYTES=${CUSTOM_CAP}`,
      'connect',
      { ...connectBody(), custom: LARGE_CUSTOM },
    ],
  ];
  const rows: (string | number)[][] = [];
  for (const [label, method, body] of steps) {
    // The setting is read at each call: the last step runs with it.
    if (label.includes('MAX_STORED_CUSTOM_BYTES')) process.env.MAX_STORED_CUSTOM_BYTES = String(CUSTOM_CAP);
    units = 0;
    failedConditions = 0;
    byIndex.clear();
    const status = await post(base, method, body);
    const indexes = [...byIndex.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
    rows.push([label, status, units, failedConditions, units + failedConditions, indexes || '-']);
  }
  table(
    'Write cost per hook (ReturnConsumedCapacity)',
    ['hook', 'answer', 'WCU reported', 'failed conditional writes', 'WCU total', 'of which indexes'],
    rows,
    [
      'Items under 1 KB but for the last two rows (docs/data-model.md, "What a large `custom` costs"). "WCU reported" is what DynamoDB returned (table and indexes); a failed conditional write reports nothing but costs 1 WCU, and is added in "WCU total". docs/data-model.md explains each.',
    ],
  );

  delete process.env.MAX_STORED_CUSTOM_BYTES;
  server.closeAllConnections();
  server.close();
}

/** What WCS reports of a refused connect, publish or play (reference §1.2, §1.3). */
const failedOf = (body: object) => ({ ...body, status: 'FAILED', info: 'Rejected' });

/** A client `custom` of ~1.5 KB, and the bound that keeps a session item within 1 KB without it. */
const LARGE_CUSTOM = { profile: 'x'.repeat(1500) };
const CUSTOM_CAP = 600;
