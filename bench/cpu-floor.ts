/**
 * The same-request floor of `cpu.ts`, bundled as a function is: a bare DocumentClient (the
 * project's marshalling options) that sends one hook call's recorded DynamoDB requests, in order,
 * and nothing else. A request the recording saw fail (a condition) fails here the same way.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';

const COMMANDS: Record<string, new (input: never) => unknown> = {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
};

const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient(process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {}),
  { marshallOptions: { removeUndefinedValues: true } },
);

/** Sends `requests` in order; how many failed on a condition (as some of the recorded ones may have). */
export async function handler(requests: { name: string; input: unknown }[]): Promise<number> {
  let failed = 0;
  for (const { name, input } of requests) {
    const Command = COMMANDS[name];
    if (!Command) throw new Error(`no ${name} in the floor`);
    try {
      await dynamo.send(new Command(input as never) as never);
    } catch (error) {
      const kind = (error as { name?: string }).name ?? '';
      if (!/ConditionalCheckFailed|TransactionCanceled/.test(kind)) throw error;
      failed++;
    }
  }
  return failed;
}
