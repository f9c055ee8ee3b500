/**
 * What every bundle run by `run-bundle.mjs` gets before its function's own variables: the Region and
 * credentials of the run's DynamoDB Local, no EMF metrics, and nothing else of this process's
 * environment (no NODE_OPTIONS: as deployed).
 */
export function bundleBaseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT as string,
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}
