/**
 * The cold-start reference: a function that only creates a DynamoDB DocumentClient and issues one
 * Put. Bundled with the same esbuild settings as the deployed functions; every function's import
 * time and size is compared with this.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async () => {
  await client.send(new PutCommand({ TableName: process.env.TABLE, Item: { id: String(Date.now()) } }));
  return { statusCode: 200, body: '{}' };
};
