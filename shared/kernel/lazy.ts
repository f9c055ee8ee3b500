/**
 * What a function needs only off its common path (jose for token apps, the spill queue's SQS client,
 * the Lambda client of Lambda logic), loaded on first use: the deployed bundles are split
 * (`bundleOptions` in `infra/constructs/bundle.ts`), so what is reached only through `import()`
 * stays in a chunk of its own that a cold start never reads unless it is needed.
 */

/** `make`, run once, on the first call: the same promise afterwards (made again if it failed). */
export function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    return made;
  };
}

/**
 * The process's one SQS client and the commands the spill and the send queue send with, on first use
 * (`sqs.ts`, a chunk of its own): a hook spills only when DynamoDB fails it, and only AWS has the queues.
 */
export const sqsClient = onFirstUse(async () => {
  const { SQSClient, SendMessageCommand, SendMessageBatchCommand } = await import('./sqs.ts');
  return { client: new SQSClient({}), SendMessageCommand, SendMessageBatchCommand };
});
