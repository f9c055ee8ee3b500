/**
 * The account's API Gateway CloudWatch Logs role (`infra/custom-resources/api-gateway-account.ts`):
 * which role the custom resource sets, given the account's setting, and how it waits for IAM to
 * propagate a new role (API Gateway refuses it until then). The calls to API Gateway and IAM
 * themselves only an AWS account can run: here the client's `send` is a stand-in.
 */
import { APIGatewayClient, BadRequestException, UpdateAccountCommand } from '@aws-sdk/client-api-gateway';
import { describe, expect, it } from '@jest/globals';
import { roleToSet, setAccountRole } from '../../infra/custom-resources/api-gateway-account.ts';

const OURS = 'arn:aws:iam::111111111111:role/wcs-hooks-logs';

describe('the account logs role', () => {
  it('is set to ours in an account that has none', () => {
    expect(roleToSet({ exists: false }, OURS)).toBe(OURS);
  });

  it('is left as it is in an account whose role exists: another stack relies on it', () => {
    expect(roleToSet({ arn: 'arn:aws:iam::111111111111:role/theirs', exists: true }, OURS)).toBeUndefined();
  });

  it('is replaced by ours when the role the account names no longer exists', () => {
    expect(roleToSet({ arn: 'arn:aws:iam::111111111111:role/deleted', exists: false }, OURS)).toBe(OURS);
  });
});

/** API Gateway's answer while IAM has not yet propagated the role (or its trust policy). */
const notPropagated = () =>
  new BadRequestException({
    message: 'The role ARN does not have required permissions set to API Gateway',
    $metadata: {},
  });

/** A client whose `send` fails with each of `failures` in turn, then succeeds; and what it was sent. */
function stubClient(failures: readonly Error[]) {
  const client = new APIGatewayClient({ region: 'eu-west-1' });
  const sent: unknown[] = [];
  const queue = [...failures];
  client.send = (async (command: unknown) => {
    sent.push(command);
    const failure = queue.shift();
    if (failure) throw failure;
    return {};
  }) as typeof client.send;
  return { client, sent };
}

describe('setting the account logs role', () => {
  it('tries again while API Gateway says the new role lacks permissions (IAM propagation), then sets it', async () => {
    const { client, sent } = stubClient([notPropagated(), notPropagated(), notPropagated()]);
    const waits: number[] = [];

    await setAccountRole(client, OURS, { sleep: async (ms) => void waits.push(ms) });

    expect(sent).toHaveLength(4);
    for (const command of sent) {
      expect(command).toBeInstanceOf(UpdateAccountCommand);
      expect((command as UpdateAccountCommand).input.patchOperations).toEqual([
        { op: 'replace', path: '/cloudwatchRoleArn', value: OURS },
      ]);
    }
    expect(waits).toHaveLength(3);
    expect(waits[1]).toBeGreaterThan(waits[0] as number);
  });

  it('gives up after a bounded wait of a few minutes, with the last error', async () => {
    const { client, sent } = stubClient(Array.from({ length: 100 }, notPropagated));
    const waits: number[] = [];

    await expect(setAccountRole(client, OURS, { sleep: async (ms) => void waits.push(ms) })).rejects.toThrow(
      /does not have required permissions/,
    );
    const waitedMs = waits.reduce((a, b) => a + b, 0);
    expect(waitedMs).toBeGreaterThanOrEqual(120_000);
    expect(waitedMs).toBeLessThanOrEqual(300_000);
    expect(sent).toHaveLength(waits.length + 1);
  });

  it('does not try again on any other error', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: apigateway:PATCH'), {
      name: 'AccessDeniedException',
    });
    const { client, sent } = stubClient([denied]);

    await expect(setAccountRole(client, OURS, { sleep: async () => undefined })).rejects.toBe(denied);
    expect(sent).toHaveLength(1);
  });
});
