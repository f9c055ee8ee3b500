/**
 * A custom resource (the CDK's Provider framework calls it): the account's API Gateway CloudWatch
 * Logs role, which a WebSocket stage with access logging needs ("CloudWatch Logs role ARN must be
 * set in account settings to enable logging"). It is one setting per account and region, shared by
 * every API there, so this sets it only when it is missing, or names a role that no longer exists
 * (a stack deleted with its role): an account whose setting works keeps it. Deleting the stack
 * changes nothing: the role is retained, so the setting stays valid for whatever else relies on it.
 */
import { APIGatewayClient, GetAccountCommand, UpdateAccountCommand } from '@aws-sdk/client-api-gateway';
import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

const apiGateway = new APIGatewayClient({});
const iam = new IAMClient({});

/** What to do with the account setting, given what it is now. Pure: the rule, tested without AWS. */
export function roleToSet(current: { arn?: string; exists: boolean }, ours: string): string | undefined {
  if (!current.arn) return ours;
  return current.exists ? undefined : ours;
}

async function roleExists(arn: string): Promise<boolean> {
  const name = arn.split('/').pop();
  if (!name) return false;
  try {
    await iam.send(new GetRoleCommand({ RoleName: name }));
    return true;
  } catch (error) {
    if (error instanceof NoSuchEntityException || (error as Error).name === 'NoSuchEntityException')
      return false;
    throw error;
  }
}

/**
 * API Gateway's refusal of a role IAM has not yet propagated (a role made in the same deployment):
 * "The role ARN does not have required permissions set to API Gateway", a BadRequest (or, at times,
 * an AccessDenied). It passes within minutes; any other error is final.
 */
function notYetPropagated(error: unknown): boolean {
  const { name, message } = error as Error;
  return (
    (name === 'BadRequestException' || name === 'AccessDeniedException') &&
    /role ARN does not have required permissions/i.test(message ?? '')
  );
}

/** Waits between tries: 2 s doubling to 30 s, about 4 minutes in all (CDK's own provider waits as long). */
const PROPAGATION_WAITS_MS = [2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30].map((s) => s * 1000);

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sets the account's CloudWatch Logs role to `roleArn`, trying again while IAM propagates it, for
 * at most the sum of `PROPAGATION_WAITS_MS`; then fails with API Gateway's last answer.
 */
export async function setAccountRole(
  client: Pick<APIGatewayClient, 'send'>,
  roleArn: string,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const sleep = options.sleep ?? sleepMs;
  const update = () =>
    client.send(
      new UpdateAccountCommand({
        patchOperations: [{ op: 'replace', path: '/cloudwatchRoleArn', value: roleArn }],
      }),
    );
  for (const waitMs of PROPAGATION_WAITS_MS) {
    try {
      await update();
      return;
    } catch (error) {
      if (!notYetPropagated(error)) throw error;
      await sleep(waitMs);
    }
  }
  await update();
}

const PHYSICAL_ID = 'api-gateway-account-cloudwatch-role';

export async function handler(event: CloudFormationCustomResourceEvent) {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const ours = String(event.ResourceProperties.RoleArn);
  const { cloudwatchRoleArn } = await apiGateway.send(new GetAccountCommand({}));
  const current = {
    arn: cloudwatchRoleArn,
    exists: cloudwatchRoleArn ? await roleExists(cloudwatchRoleArn) : false,
  };
  const toSet = roleToSet(current, ours);
  if (toSet) await setAccountRole(apiGateway, toSet);
  return {
    PhysicalResourceId: PHYSICAL_ID,
    Data: { CloudWatchRoleArn: toSet ?? cloudwatchRoleArn, SetByThisStack: String(Boolean(toSet)) },
  };
}
