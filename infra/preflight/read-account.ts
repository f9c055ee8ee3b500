/**
 * What `npm run preflight` reads of the account, with the caller's credentials, through the AWS SDK:
 * reads only, nothing created or changed. Each read that fails (access denied, no credentials, no
 * network) becomes a `notChecked` reading with AWS's reason, never an exception: the checks that can
 * be made are still made. The endpoints are the SDK's own, so `AWS_ENDPOINT_URL` (or
 * `AWS_ENDPOINT_URL_<SERVICE>`) points them elsewhere: the tests serve recorded answers that way.
 */
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import {
  BatchDescribeTypeConfigurationsCommand,
  CloudFormationClient,
  ListTypesCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudFrontClient, ListDistributionsCommand } from '@aws-sdk/client-cloudfront';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type AccountHook, type AccountReadings, QUOTA_CODES, type Reading } from './findings.ts';

/** A failed read's reason: AWS's error code and message, on one line. */
function reasonOf(error: unknown): string {
  const { name, message } = error as Error;
  const text = String(message ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  if (name === 'CredentialsProviderError') return `no credentials (${text})`;
  return `${name}${text && text !== name ? `: ${text.slice(0, 300)}` : ''}`;
}

/** `read()`'s value, or why it could not be read. */
async function reading<T>(read: () => Promise<T>): Promise<Reading<T>> {
  try {
    return { value: await read() };
  } catch (error) {
    return { notChecked: reasonOf(error) };
  }
}

/**
 * The CloudFormation Hooks of the account in the client's Region: `ListTypes` with visibility PRIVATE
 * lists those registered here (Guard and Lambda hooks among them) and the public ones activated here
 * (Control Tower's proactive controls as hooks); `BatchDescribeTypeConfigurations` their configuration.
 */
async function readHooks(cloudFormation: CloudFormationClient): Promise<AccountHook[]> {
  const types: { arn: string; name: string }[] = [];
  let next: string | undefined;
  do {
    const page = await cloudFormation.send(
      new ListTypesCommand({ Type: 'HOOK', Visibility: 'PRIVATE', ...(next && { NextToken: next }) }),
    );
    for (const summary of page.TypeSummaries ?? [])
      if (summary.TypeArn && !types.some((type) => type.arn === summary.TypeArn))
        types.push({ arn: summary.TypeArn, name: summary.TypeName ?? summary.TypeArn });
    next = page.NextToken;
  } while (next);
  const hooks: AccountHook[] = [];
  // At most 100 identifiers a call.
  for (let at = 0; at < types.length; at += 100) {
    const batch = types.slice(at, at + 100);
    const { TypeConfigurations: configurations = [], Errors: errors = [] } = await cloudFormation.send(
      new BatchDescribeTypeConfigurationsCommand({
        TypeConfigurationIdentifiers: batch.map((type) => ({ TypeArn: type.arn, Type: 'HOOK' })),
      }),
    );
    const [error] = errors;
    if (error) throw Object.assign(new Error(error.ErrorMessage ?? ''), { name: error.ErrorCode ?? 'Error' });
    for (const type of batch) {
      // The configuration a hook runs with is its default one.
      const found = configurations.find(
        (configuration) =>
          configuration.TypeArn === type.arn && configuration.IsDefaultConfiguration !== false,
      );
      const parsed = found?.Configuration
        ? (JSON.parse(found.Configuration) as {
            CloudFormationConfiguration?: { HookConfiguration?: AccountHook['configuration'] };
          })
        : undefined;
      const configuration = parsed?.CloudFormationConfiguration?.HookConfiguration;
      hooks.push({ typeName: type.name, ...(configuration && { configuration }) });
    }
  }
  return hooks;
}

/** The Region the SDK resolves from the environment or the profile, or why there is none. */
export async function resolveRegion(): Promise<Reading<string>> {
  return reading(async () => {
    const region = await new LambdaClient({}).config.region();
    if (!region) throw new Error('no Region: set AWS_REGION, or a region in the profile');
    return region;
  });
}

/** Every reading of the account in `region`; the bootstrap version from SSM parameter `parameter`. */
export async function readAccount(region: string, bootstrapParameter: string): Promise<AccountReadings> {
  // Two tries: a check that cannot be made is reported, not waited for.
  const options = { region, maxAttempts: 2 };
  const lambda = new LambdaClient(options);
  const apiGateway = new APIGatewayClient(options);
  const quotas = new ServiceQuotasClient(options);
  const ssm = new SSMClient(options);
  // CloudFront is global: its API is in us-east-1 whatever the stack's Region.
  const cloudFront = new CloudFrontClient({ ...options, region: 'us-east-1' });
  const cloudFormation = new CloudFormationClient(options);

  const [lambdaSettings, apiGatewayAccount, apiGatewayRateQuota, cloudFrontList, bootstrapVersion, hooks] =
    await Promise.all([
      reading(async () => {
        const { AccountLimit: limit } = await lambda.send(new GetAccountSettingsCommand({}));
        if (limit?.ConcurrentExecutions === undefined) throw new Error('no AccountLimit in the answer');
        return {
          concurrentExecutions: limit.ConcurrentExecutions,
          unreservedConcurrentExecutions: limit.UnreservedConcurrentExecutions ?? limit.ConcurrentExecutions,
        };
      }),
      reading(async () => {
        const account = await apiGateway.send(new GetAccountCommand({}));
        return {
          ...(account.throttleSettings?.rateLimit !== undefined && {
            rateLimit: account.throttleSettings.rateLimit,
          }),
          ...(account.throttleSettings?.burstLimit !== undefined && {
            burstLimit: account.throttleSettings.burstLimit,
          }),
          ...(account.cloudwatchRoleArn && { cloudwatchRoleArn: account.cloudwatchRoleArn }),
        };
      }),
      reading(async () => {
        const { Quota: quota } = await quotas.send(
          new GetServiceQuotaCommand({
            ServiceCode: 'apigateway',
            QuotaCode: QUOTA_CODES.apiGatewayThrottleRate,
          }),
        );
        if (quota?.Value === undefined) throw new Error('no Value in the answer');
        return quota.Value;
      }),
      (async (): Promise<AccountReadings['cloudFront']> => {
        try {
          const { DistributionList: list } = await cloudFront.send(
            new ListDistributionsCommand({ MaxItems: 1 }),
          );
          return { value: { hasDistributions: (list?.Quantity ?? 0) > 0 } };
        } catch (error) {
          // The refusal a deploy would meet, should CloudFront give it to a read as well.
          if (/must be verified/i.test((error as Error).message ?? ''))
            return { value: { hasDistributions: false, refusal: reasonOf(error) } };
          return { notChecked: reasonOf(error) };
        }
      })(),
      (async (): Promise<AccountReadings['bootstrapVersion']> => {
        try {
          const { Parameter: parameter } = await ssm.send(
            new GetParameterCommand({ Name: bootstrapParameter }),
          );
          const version = Number(parameter?.Value);
          if (!Number.isInteger(version))
            return { notChecked: `${bootstrapParameter} is ${parameter?.Value}` };
          return { value: version };
        } catch (error) {
          if ((error as Error).name === 'ParameterNotFound') return { value: undefined };
          return { notChecked: reasonOf(error) };
        }
      })(),
      reading(() => readHooks(cloudFormation)),
    ]);
  for (const client of [lambda, apiGateway, quotas, ssm, cloudFront, cloudFormation]) client.destroy();
  return {
    region,
    lambda: lambdaSettings,
    apiGatewayAccount,
    apiGatewayRateQuota,
    cloudFront: cloudFrontList,
    bootstrapVersion,
    hooks,
  };
}
