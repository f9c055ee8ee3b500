/**
 * `npm run cli -- migrate apps-to-config`, run as an operator runs it after upgrading from a stack
 * that kept app policies in its own `apps` table: each policy, as the older code wrote it, is copied
 * into the configuration store where the code now reads it; once, whatever the number of runs; never
 * over a policy set since; and a dry run writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cli } from '../support/cli.ts';
import { TEST_TABLE_PREFIX } from '../support/constants.ts';

const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
const documents = DynamoDBDocumentClient.from(client);

/** A table shaped as the older stack's `apps` table: one partition (`kind` = `app`), by `appKey`. */
async function createOldAppsTable(): Promise<string> {
  const tableName = `${TEST_TABLE_PREFIX}-apps-${randomUUID().slice(0, 8)}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'kind', AttributeType: 'S' },
        { AttributeName: 'appKey', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'kind', KeyType: 'HASH' },
        { AttributeName: 'appKey', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return tableName;
}

/** An item as the older `shared/apps.ts` put it: `{kind, appKey, policy, updatedAt}`. */
const putOldPolicy = (tableName: string, appKey: string, policy: Record<string, unknown>) =>
  documents.send(
    new PutCommand({
      TableName: tableName,
      Item: { kind: 'app', appKey, policy, updatedAt: '2026-11-25T10:00:00.000Z' },
    }),
  );

/** A policy as the older code stored it: every default filled in by its schema. */
const stored = (fields: Record<string, unknown>) => ({
  admission: 'open',
  tokenPath: 'custom.token',
  publishRequiresGrant: true,
  playRequiresGrant: true,
  singlePublisher: false,
  forceRecord: false,
  dataMaxBytes: 65_536,
  allowRelay: false,
  ...fields,
});

const run = randomUUID().slice(0, 8);
const tokenApp = `studio-${run}`;
const closedApp = `closed-${run}`;
const brokenApp = `broken-${run}`;
const changedApp = `changed-${run}`;
const SECRET = 'a'.repeat(32);
let oldTable: string;

beforeAll(async () => {
  oldTable = await createOldAppsTable();
  await putOldPolicy(
    oldTable,
    tokenApp,
    stored({ admission: 'token', hs256Secret: SECRET, singlePublisher: true }),
  );
  await putOldPolicy(oldTable, closedApp, stored({ admission: 'closed' }));
  // Token admission without a secret or key set: the schema refuses it.
  await putOldPolicy(oldTable, brokenApp, stored({ admission: 'token' }));
  await putOldPolicy(oldTable, changedApp, stored({ admission: 'closed' }));
});

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: oldTable }));
  client.destroy();
});

describe('npm run cli -- migrate apps-to-config', () => {
  it('with --dry-run, says what it would copy and writes nothing', async () => {
    const dry = await cli(['migrate', 'apps-to-config', '--from', oldTable, '--dry-run']);

    expect(dry.status).toBe(0);
    expect(dry.json).toEqual({
      from: oldTable,
      dryRun: true,
      copied: expect.arrayContaining([tokenApp, closedApp, changedApp]),
      skipped: [{ appKey: brokenApp, reason: expect.stringContaining('token admission needs hs256Secret') }],
    });
    expect((await cli(['apps', 'get', tokenApp])).status).toBe(1);
  });

  it('copies each policy where the code reads it, once, and keeps a policy set since', async () => {
    const put = await cli(['apps', 'put', changedApp, '--admission', 'open']);
    expect(put.status).toBe(0);

    const first = await cli(['migrate', 'apps-to-config'], { APPS_TABLE: oldTable });

    expect(first.status).toBe(0);
    expect(first.json.copied.sort()).toEqual([closedApp, tokenApp].sort());
    expect(first.json.skipped).toEqual(
      expect.arrayContaining([
        { appKey: brokenApp, reason: expect.stringContaining('not a valid policy') },
        { appKey: changedApp, reason: expect.stringContaining('another policy') },
      ]),
    );
    expect((await cli(['apps', 'get', tokenApp])).json).toMatchObject({
      appKey: tokenApp,
      admission: 'token',
      hs256Secret: '(set)',
      singlePublisher: true,
    });
    expect((await cli(['apps', 'get', closedApp])).json).toMatchObject({ admission: 'closed' });
    expect((await cli(['apps', 'get', changedApp])).json).toMatchObject({ admission: 'open' });
    const token = await cli(['token', '--app', tokenApp, '--sub', 'alice']);
    expect(token.status).toBe(0);

    const again = await cli(['migrate', 'apps-to-config', '--from', oldTable]);

    expect(again.json.copied).toEqual([]);
    expect(again.json.skipped).toEqual(
      expect.arrayContaining([
        { appKey: tokenApp, reason: 'already in config' },
        { appKey: closedApp, reason: 'already in config' },
      ]),
    );
  });

  it('refuses an unknown migration, naming it, as an argument error (exit 2)', async () => {
    const unknown = await cli(['migrate', 'apps-to-everything', '--from', oldTable]);

    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown migration "apps-to-everything"');
  });
});
