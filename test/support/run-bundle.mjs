// Runs one synthesized Lambda bundle (`cdk.out/asset.*/index.mjs`) as the Lambda runtime would: its
// module loaded once, then one invocation per line of standard input (a JSON event), each answer a
// JSON line on standard output. Plain JavaScript: it runs the bundle, not the project's sources.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [bundle, functionName] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const context = {
    functionName,
    awsRequestId: `req-${Date.now()}`,
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 10_000,
  };
  try {
    const result = await handler(JSON.parse(line), context);
    process.stdout.write(`${JSON.stringify({ result })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
  }
}
