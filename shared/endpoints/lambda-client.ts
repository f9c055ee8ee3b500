/**
 * The part of the Lambda client that Lambda logic uses, loaded through `import()` (`logic.ts`): a
 * dynamic import takes a module's whole namespace, so importing the package itself would bundle
 * every Lambda command into the chunk.
 */
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
