/**
 * The part of the SQS client the spill and the send queue use, loaded through `import()` by
 * `sqsClient` (`lazy.ts`): a dynamic import takes a module's whole namespace, so importing the package itself
 * would bundle every SQS command into the chunk; this module keeps it to these.
 */
export { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
