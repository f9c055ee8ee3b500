/**
 * Runs before each test file: the environment a deployed function gets (table names, Region,
 * credentials), pointed at the run's DynamoDB Local. Logs are silenced; set TEST_LOG_LEVEL to see them.
 *
 * Import nothing here that creates a DynamoDB client (`shared/store/dynamo.ts`): it would be
 * created before a test file can point it elsewhere (the deadline test's unresponsive DynamoDB).
 */
import { exportTableNames } from '../../infra/local/tables.ts';
import { TEST_TABLE_PREFIX } from './constants.ts';

process.env.AWS_REGION = 'local';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.POWERTOOLS_LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'SILENT';
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Decisions and event writes under a loaded test machine must not fall back, or spill, by accident
// (and trip the breaker for the writes after them); the deadline and outage tests set their own.
process.env.DECISION_BUDGET_MS = '10000';
process.env.EVENT_BUDGET_MS = '10000';
// Nor may one DynamoDB request that a busy DynamoDB Local answers late count as a failure (it trips the
// breaker, and decisions answer by their fail mode for a while).
process.env.DYNAMODB_REQUEST_TIMEOUT_MS = '10000';
exportTableNames(TEST_TABLE_PREFIX);
// Jest copies the runner's own globals into each test file's: the runner's `awslambda`, which holds
// the InvokeStore its global setup's AWS SDK requests made (for one invocation at a time), would be
// every file's. Each file gets its own, as each process has (`infra/local/invocations.ts`).
Object.defineProperty(globalThis, 'awslambda', {
  value: {},
  writable: true,
  configurable: true,
  enumerable: true,
});
