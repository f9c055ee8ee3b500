/**
 * What a function may do with DynamoDB, as the local runtime enforces it (`shared/store/access.ts`):
 * exactly what its registry entry declares, as IAM grants it in AWS. Every declared action on every
 * declared table is allowed; any other table, and any undeclared action, is AccessDeniedException.
 */
import { describe, expect, it } from '@jest/globals';
import { FUNCTIONS, type TableAccess, type TableName } from '../../shared/kernel/registry.ts';
import {
  AccessDeniedException,
  actionsOf,
  checkAccess,
  grantsOf,
  runAsFunction,
  TABLE_ACTIONS,
} from '../../shared/store/access.ts';
import { TABLES } from '../../shared/store/tables.ts';

const tableOf = (table: TableName) => process.env[TABLES[table].envVar] as string;
const COMMAND: Record<string, string> = {
  'dynamodb:GetItem': 'GetItemCommand',
  'dynamodb:Query': 'QueryCommand',
  'dynamodb:BatchGetItem': 'BatchGetItemCommand',
  'dynamodb:PutItem': 'PutItemCommand',
  'dynamodb:UpdateItem': 'UpdateItemCommand',
  'dynamodb:DeleteItem': 'DeleteItemCommand',
  'dynamodb:BatchWriteItem': 'BatchWriteItemCommand',
};
const inputFor = (command: string, tableName: string) =>
  command === 'BatchGetItemCommand' || command === 'BatchWriteItemCommand'
    ? { RequestItems: { [tableName]: command === 'BatchGetItemCommand' ? { Keys: [] } : [] } }
    : { TableName: tableName };

describe.each(Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])('the %s function', (name) => {
  const declared = FUNCTIONS[name].tables as Partial<Record<TableName, TableAccess>>;
  const grants = grantsOf(FUNCTIONS[name]);
  const asIt = (work: () => void) => runAsFunction(name, grants, work);

  it('may take every action it declares, on each table it declares', () => {
    for (const [table, access] of Object.entries(declared) as [TableName, TableAccess][]) {
      for (const action of TABLE_ACTIONS[access]) {
        const command = COMMAND[action] as string;
        expect(() => asIt(() => checkAccess(command, inputFor(command, tableOf(table))))).not.toThrow();
      }
    }
  });

  it('may take no action on a table it does not declare, nor an action it does not declare', () => {
    for (const table of Object.keys(TABLES) as TableName[]) {
      const access = declared[table];
      for (const action of Object.keys(COMMAND)) {
        if (access && TABLE_ACTIONS[access].includes(action)) continue;
        const command = COMMAND[action] as string;
        expect(() => asIt(() => checkAccess(command, inputFor(command, tableOf(table))))).toThrow(
          AccessDeniedException,
        );
      }
    }
  });
});

describe('checkAccess', () => {
  it('checks each item of a transaction for its own action, as IAM does', () => {
    const sessions = tableOf('sessions');
    const streams = tableOf('streams');
    expect(
      actionsOf('TransactWriteItemsCommand', {
        TransactItems: [
          { Update: { TableName: sessions } },
          { ConditionCheck: { TableName: streams } },
          { Delete: { TableName: streams } },
        ],
      }),
    ).toEqual([
      ['dynamodb:UpdateItem', sessions],
      ['dynamodb:ConditionCheckItem', streams],
      ['dynamodb:DeleteItem', streams],
    ]);
  });

  it('answers as AWS does, naming the function, the action and the table', () => {
    const grants = grantsOf({ tables: { sessions: 'read' } });
    expect(() =>
      runAsFunction('echo', grants, () => checkAccess('PutItemCommand', { TableName: tableOf('sessions') })),
    ).toThrow(
      /assumed-role\/echo\/echo is not authorized to perform: dynamodb:PutItem on resource: .*table\//,
    );
  });

  it('checks nothing outside a function (the local runtime itself, a test preparing data)', () => {
    expect(() => checkAccess('DeleteTableCommand', { TableName: tableOf('sessions') })).not.toThrow();
  });
});
