/**
 * The throughput baseline: a bare `node:http` server that does one PutItem per request to the same
 * DynamoDB Local, and answers 200 with the body mirrored. What a hook costs at the least.
 */
import { createServer } from 'node:http';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
let n = 0;

createServer(async (request, response) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString('utf8');
  await client.send(
    new PutItemCommand({
      TableName: process.env.TABLE,
      Item: { sessionId: { S: `baseline-${process.pid}` }, eventKey: { S: String(n++) }, body: { S: body } },
    }),
  );
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
