import { describe, expect, it } from '@jest/globals';
import { keyAttributesOf, TABLES, toCreateTableInput } from '../../shared/store/tables.ts';

describe('toCreateTableInput', () => {
  it('creates an on-demand table with streams and every key attribute defined once', () => {
    const input = toCreateTableInput(TABLES.streams, 'streams-table');

    expect(input).toMatchObject({
      TableName: 'streams-table',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'sessionId', KeyType: 'HASH' },
        { AttributeName: 'mediaSessionId', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    const names = input.AttributeDefinitions?.map((a) => a.AttributeName);
    expect(new Set(names).size).toBe(names?.length);
    expect(names).toEqual(
      expect.arrayContaining(['mediaSessionId', 'name', 'firstStatusAt', 'liveShard', 'endedAt']),
    );
  });

  it('projects the listed attributes of an INCLUDE index', () => {
    const input = toCreateTableInput(TABLES.sessions, 'sessions-table');
    expect(input.GlobalSecondaryIndexes?.[0]).toMatchObject({
      IndexName: 'openByApp',
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['nodeId', 'userId'] },
    });
  });

  it('defines local indexes on the table’s own partition key', () => {
    for (const table of Object.values(TABLES)) {
      for (const index of table.localIndexes) expect(index.partitionKey.name).toBe(table.partitionKey.name);
      expect(keyAttributesOf(table)[0]).toEqual(table.partitionKey);
    }
  });
});
