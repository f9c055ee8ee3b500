/**
 * `npm run preflight` against recorded AWS answers, served on loopback (`test/support/recorded-aws.ts`)
 * with the SDK pointed there by `AWS_ENDPOINT_URL`: a healthy account, a fresh one, one whose every
 * read is denied, and a Region of API Gateway's lower default that is not bootstrapped. Then `npm run
 * deploy`'s script, run as npm runs it, with a stand-in `cdk`: it deploys only past a preflight that
 * found nothing that will fail, with the same arguments.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type AccountHook,
  type AccountReadings,
  acknowledgedControls,
  assess,
  exitCodeOf,
  type Finding,
  stackNeeds,
} from '../../infra/preflight/findings.ts';
import { readAccount } from '../../infra/preflight/read-account.ts';
import { type Recording, recording, serveRecording } from '../support/recorded-aws.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PARAMETER = '/cdk-bootstrap/hnb659fds/version';
/** What the stack needs with the default context, and the bootstrap this aws-cdk-lib requires. */
const DEFAULTS = {
  throttleRateLimit: 6000,
  throttleBurstLimit: 5000,
  eventBudgetMs: 100,
  decisionBudgetMs: 300,
  endpointsEdge: true,
  stage: 'preflight',
  logRetentionDays: 30,
};
const NEEDS = stackNeeds(DEFAULTS, { required: 6, lookupRole: 8, parameter: PARAMETER });

/** The readings of `region` that the recording `name` (or `answers`) answers, and the requests it got. */
async function readRecorded(name: string | Recording, region = 'eu-west-1') {
  const server = await serveRecording(typeof name === 'string' ? recording(name) : name);
  const endpoint = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = server.url;
  try {
    return { readings: await readAccount(region, PARAMETER), requests: server.requests };
  } finally {
    if (endpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = endpoint;
    await server.close();
  }
}

const byCheck = (findings: readonly Finding[], check: string) => findings.filter((f) => f.check === check);
const outcomes = (findings: readonly Finding[]) => findings.map((f) => [f.check, f.outcome]);

describe('preflight, on a healthy account', () => {
  let readings: AccountReadings;
  let requests: Awaited<ReturnType<typeof readRecorded>>['requests'];
  beforeAll(async () => {
    ({ readings, requests } = await readRecorded('healthy'));
  });

  it('reads each fact once, with the bootstrap parameter and the API Gateway throttle quota by their names', () => {
    expect(requests.map((r) => r.operation).sort()).toEqual([
      'apigateway:GetAccount',
      'cloudformation:ListTypes',
      'cloudfront:ListDistributions',
      'lambda:GetAccountSettings',
      'servicequotas:GetServiceQuota',
      'ssm:GetParameter',
    ]);
    expect(requests.find((r) => r.operation === 'ssm:GetParameter')?.input).toEqual({ Name: PARAMETER });
    expect(requests.find((r) => r.operation === 'servicequotas:GetServiceQuota')?.input).toEqual({
      ServiceCode: 'apigateway',
      QuotaCode: 'L-8A5B8E43',
    });
  });

  it('finds nothing in the way: bootstrapped, CloudFront in use, concurrency and throttle above what the stack needs', () => {
    const findings = assess(readings, NEEDS);

    expect(outcomes(findings)).toEqual([
      ['CDK bootstrap', 'ok'],
      ['CloudFront', 'ok'],
      ['Lambda concurrency', 'ok'],
      ['API Gateway account throttle', 'ok'],
      ['API Gateway CloudWatch Logs role', 'ok'],
      ['CloudFormation Hooks', 'ok'],
    ]);
    expect(requests.find((r) => r.operation === 'cloudformation:ListTypes')?.input).toMatchObject({
      Type: 'HOOK',
      Visibility: 'PRIVATE',
    });
    expect(byCheck(findings, 'CloudFormation Hooks')[0]?.what).toBe('no hooks in eu-west-1');
    expect(byCheck(findings, 'API Gateway account throttle')[0]?.what).toMatch(
      /10,000 requests\/s, burst 5,000.*leaving 4,000\/s for the WebSocket APIs and their @connections posts/,
    );
    expect(byCheck(findings, 'API Gateway CloudWatch Logs role')[0]?.what).toMatch(
      /apigateway-cloudwatch-logs: kept/,
    );
    expect(exitCodeOf(findings)).toBe(0);
  });
});

describe('preflight, on a fresh account (concurrency 10, no distribution, no logs role, bootstrap 5)', () => {
  let readings: AccountReadings;
  beforeAll(async () => {
    ({ readings } = await readRecorded('fresh-account'));
  });

  it('says the old bootstrap fails the deploy, and how to upgrade it', () => {
    const [bootstrap] = byCheck(assess(readings, NEEDS), 'CDK bootstrap');

    expect(bootstrap).toMatchObject({
      outcome: 'fails',
      what: expect.stringMatching(/version 5 .*6 at least/),
    });
    expect(bootstrap?.fix).toMatch(/npx cdk bootstrap aws:\/\/<account>\/eu-west-1/);
    expect(exitCodeOf(assess(readings, NEEDS))).toBe(1);
  });

  it('says CloudFront may refuse the distribution, and names the context key that skips it', () => {
    const [cloudFront] = byCheck(assess(readings, NEEDS), 'CloudFront');

    expect(cloudFront).toMatchObject({
      outcome: 'may fail',
      what: expect.stringMatching(/no CloudFront distribution.*looks new \(Lambda concurrency 10\)/),
      why: expect.stringMatching(/must be verified before you can add new CloudFront resources/),
      fix: expect.stringMatching(/-c endpointsEdge=false/),
    });
  });

  it('says the deploy fails when CloudFront refuses the account outright, with the refusal', async () => {
    const refusal =
      'Your account must be verified before you can add new CloudFront resources. To verify your account, please contact AWS Support and include this error message.';
    const { readings: refused } = await readRecorded({
      ...recording('fresh-account'),
      'cloudfront:ListDistributions': {
        status: 403,
        body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${refusal}</Message></Error><RequestId>recorded</RequestId></ErrorResponse>`,
      },
    });

    expect(byCheck(assess(refused, NEEDS), 'CloudFront')[0]).toMatchObject({
      outcome: 'fails',
      what: expect.stringContaining(`AccessDenied: ${refusal}`),
      fix: expect.stringMatching(/-c endpointsEdge=false/),
    });
  });

  it('leaves CloudFront out when the stack does not use it (endpointsEdge=false)', () => {
    const withoutEdge = stackNeeds({ ...DEFAULTS, endpointsEdge: false }, NEEDS.bootstrap);

    expect(byCheck(assess(readings, withoutEdge), 'CloudFront')[0]?.outcome).toBe('ok');
  });

  it('says the hooks will be throttled at concurrency 10, with the quota to raise', () => {
    const [lambda] = byCheck(assess(readings, NEEDS), 'Lambda concurrency');

    expect(lambda).toMatchObject({
      outcome: 'throttled',
      what: expect.stringMatching(/10 executions unreserved .*need ~120, the queue consumers up to 20/),
    });
    expect(lambda?.fix).toMatch(/"Concurrent executions" \(Service Quotas, L-B99A9384\) to 980 at least/);
    expect(lambda?.fix).toMatch(/the queue consumers alone may take all of 10$/);
  });

  it('says the stack will set the missing API Gateway logs role itself', () => {
    expect(byCheck(assess(readings, NEEDS), 'API Gateway CloudWatch Logs role')[0]).toMatchObject({
      outcome: 'ok',
      what: expect.stringMatching(/^none in eu-west-1: the stack sets its own/),
    });
  });
});

describe('preflight, where Control Tower controls are enforced as CloudFormation Hooks', () => {
  const HOOK = 'Private::Guard::ControlTowerProactive';
  let readings: AccountReadings;
  let requests: Awaited<ReturnType<typeof readRecorded>>['requests'];
  beforeAll(async () => {
    ({ readings, requests } = await readRecorded('control-tower-hooks'));
  });

  it('says a hook at FAIL on every stack may fail the deploy, naming the acknowledged controls and the fixes', () => {
    const findings = assess(readings, NEEDS);
    const [hooks] = byCheck(findings, 'CloudFormation Hooks');

    expect(hooks).toMatchObject({
      outcome: 'may fail',
      what: `${HOOK} at FailureMode FAIL on every stack, wcs-hooks-preflight included`,
    });
    expect(hooks?.why).toMatch(/CDK acknowledgements bind only synthesis, not hooks/);
    for (const control of [
      'lambda_inside_vpc_check',
      'api_gw_v2_authorization_type_configured_check',
      'cloudwatch_log_group_retention_period_check',
      'cloudfront_sni_enabled_check',
    ])
      expect(hooks?.why).toContain(control);
    expect(hooks?.fix).toMatch(
      /exclude wcs-hooks-preflight in the hook's StackFilters \(StackNames.Exclude\)/,
    );
    expect(hooks?.fix).toMatch(/FailureMode WARN/);
    // The hook at WARN is not named: it cannot fail the deploy.
    expect(hooks?.what).not.toMatch(/TagPolicy/);
    expect(exitCodeOf(findings)).toBe(0);
  });

  it('reads the configuration of every hook listed, in one call', () => {
    const described = requests.filter(
      (r) => r.operation === 'cloudformation:BatchDescribeTypeConfigurations',
    );

    expect(described).toHaveLength(1);
    expect(described[0]?.input).toMatchObject({
      'TypeConfigurationIdentifiers.member.1.TypeArn':
        'arn:aws:cloudformation:eu-west-1:111122223333:type/hook/Private-Guard-ControlTowerProactive',
      'TypeConfigurationIdentifiers.member.2.TypeArn':
        'arn:aws:cloudformation:eu-west-1:111122223333:type/hook/Private-Lambda-TagPolicy',
    });
  });

  const withHook = (configuration: AccountHook['configuration']): AccountReadings => ({
    ...readings,
    hooks: { value: [{ typeName: HOOK, ...(configuration && { configuration }) }] },
  });
  const hookOutcome = (configuration: AccountHook['configuration']) =>
    byCheck(assess(withHook(configuration), NEEDS), 'CloudFormation Hooks')[0]?.outcome;
  const atFail = { HookInvocationStatus: 'ENABLED', FailureMode: 'FAIL' };

  it('finds nothing when the hook leaves the stack out, runs at WARN, is disabled or not configured', () => {
    expect(hookOutcome(atFail)).toBe('may fail');
    expect(hookOutcome({ ...atFail, StackFilters: { StackNames: { Exclude: ['wcs-hooks-*'] } } })).toBe('ok');
    expect(
      hookOutcome({ ...atFail, StackFilters: { StackNames: { Exclude: ['wcs-hooks-preflight'] } } }),
    ).toBe('ok');
    expect(hookOutcome({ ...atFail, StackFilters: { StackNames: { Include: ['payments-*'] } } })).toBe('ok');
    expect(hookOutcome({ ...atFail, StackFilters: { StackNames: { Exclude: ['wcs-hooks-prod'] } } })).toBe(
      'may fail',
    );
    expect(hookOutcome({ ...atFail, FailureMode: 'WARN' })).toBe('ok');
    expect(hookOutcome({ ...atFail, HookInvocationStatus: 'DISABLED' })).toBe('ok');
    expect(hookOutcome({ ...atFail, TargetStacks: 'NONE' })).toBe('ok');
    expect(hookOutcome(undefined)).toBe('ok');
  });

  it('names every control the stack acknowledges in infra/, and no other', () => {
    const infra = join(ROOT, 'infra');
    const acknowledged = new Set<string>();
    for (const file of readdirSync(infra, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    ))
      for (const [, rule] of readFileSync(join(infra, file), 'utf8').matchAll(
        /controlTower\('([a-z0-9_]+)'\)/g,
      ))
        acknowledged.add(rule as string);
    acknowledged.delete('sqs_dlq_check'); // the doc comment's example

    expect(new Set(acknowledgedControls({ logRetentionDays: 30, endpointsEdge: true }))).toEqual(
      acknowledged,
    );
    expect(acknowledgedControls({ logRetentionDays: 365, endpointsEdge: false })).toEqual([
      'lambda_inside_vpc_check',
      'api_gw_v2_authorization_type_configured_check',
      'lambda_function_public_access_prohibited_check',
      'cloudwatch_log_group_encrypted_check',
    ]);
  });
});

describe('preflight, where every read is denied', () => {
  it('reports each check as not checked, with AWS reason, and does not fail the deploy for it', async () => {
    const { readings } = await readRecorded('access-denied');
    const findings = assess(readings, NEEDS);

    expect(new Set(findings.map((f) => f.outcome))).toEqual(new Set(['not checked']));
    for (const finding of findings) expect(finding.what).toMatch(/AccessDenied/);
    expect(byCheck(findings, 'CloudFront')[0]?.what).toMatch(
      /not authorized to perform: cloudfront:ListDistributions/,
    );
    expect(byCheck(findings, 'API Gateway account throttle')[0]?.why).toMatch(
      /default in eu-west-1 is 10,000 requests\/s, burst 5,000/,
    );
    expect(exitCodeOf(findings)).toBe(0);
  });
});

describe('preflight, in a Region of the lower API Gateway default, not bootstrapped', () => {
  it('says the hook API is set past the account throttle of 2,500/s, burst 1,250, and that the Region needs bootstrapping', async () => {
    const { readings } = await readRecorded('newer-region-unbootstrapped', 'ap-southeast-3');
    const findings = assess(readings, NEEDS);

    expect(byCheck(findings, 'CDK bootstrap')[0]).toMatchObject({
      outcome: 'fails',
      what: `ap-southeast-3 is not bootstrapped for the CDK: no SSM parameter ${PARAMETER}`,
    });
    const throttle = byCheck(findings, 'API Gateway account throttle');
    expect(throttle.map((f) => f.outcome)).toEqual(['throttled', 'throttled']);
    expect(throttle[0]?.what).toMatch(
      /2,500 requests\/s, burst 1,250.*Service Quotas shows 10,000.*throttleRateLimit 6,000/,
    );
    expect(throttle[0]?.why).toMatch(/realtime and endpoints WebSocket APIs, and their @connections posts/);
    expect(throttle[0]?.fix).toMatch(/"Throttle rate" \(Service Quotas, L-8A5B8E43\)/);
    expect(throttle[1]?.fix).toMatch(/throttleBurstLimit at most 1,250/);
  });
});

describe('preflight, on Lambda concurrency between none and enough', () => {
  const withConcurrency = (executions: number): AccountReadings => ({
    region: 'eu-west-1',
    lambda: { value: { concurrentExecutions: executions, unreservedConcurrentExecutions: executions } },
    apiGatewayAccount: { notChecked: 'not asked' },
    apiGatewayRateQuota: { notChecked: 'not asked' },
    cloudFront: { notChecked: 'not asked' },
    bootstrapVersion: { notChecked: 'not asked' },
    hooks: { notChecked: 'not asked' },
  });
  const lambdaOf = (executions: number) =>
    byCheck(assess(withConcurrency(executions), NEEDS), 'Lambda concurrency')[0];

  it('gives a rate limit that fits until the quota is raised', () => {
    expect(lambdaOf(100)).toMatchObject({
      outcome: 'throttled',
      fix: expect.stringMatching(/meanwhile set throttleRateLimit at most 4,000/),
    });
  });

  it('says what is enough at full rate but not at the onset of a DynamoDB outage, when every hook waits its budget', () => {
    expect(lambdaOf(500)).toMatchObject({
      outcome: 'throttled',
      what: expect.stringMatching(
        /enough at full rate \(~140\), not at the onset of a DynamoDB outage \(~980/,
      ),
      fix: expect.stringMatching(/eventBudgetMs, decisionBudgetMs or throttleRateLimit/),
    });
    expect(lambdaOf(980)?.outcome).toBe('ok');
  });
});

describe('npm run deploy', () => {
  let bin: string;
  let cdkCalls: string;
  beforeAll(() => {
    // A stand-in for the CDK CLI: records its arguments, deploys nothing.
    bin = mkdtempSync(join(tmpdir(), 'wcs-hooks-preflight-bin-'));
    cdkCalls = join(bin, 'calls');
    writeFileSync(join(bin, 'cdk'), `#!/bin/sh\necho "$@" >> '${cdkCalls}'\n`);
    chmodSync(join(bin, 'cdk'), 0o755);
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  /** The deploy script with `args`, run as npm runs it (`sh -c`, arguments appended), against `name`. */
  async function deploy(name: string, args: string) {
    const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.deploy as string;
    const server = await serveRecording(recording(name));
    try {
      return await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'sh',
          ['-c', `${script} ${args}`],
          {
            cwd: ROOT,
            env: {
              ...process.env,
              PATH: `${bin}:${process.env.PATH}`,
              AWS_ENDPOINT_URL: server.url,
              AWS_REGION: 'eu-west-1',
            },
            timeout: 120_000,
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    } finally {
      await server.close();
    }
  }
  const calls = () => {
    try {
      return readFileSync(cdkCalls, 'utf8');
    } catch {
      return '';
    }
  };

  it('stops before cdk deploy when a finding will fail it, saying which and how to fix it', async () => {
    const { code, stdout } = await deploy('fresh-account', '-c stage=preflight');

    expect(code).toBe(1);
    expect(stdout).toMatch(/^wcs-hooks preflight: wcs-hooks-preflight in eu-west-1/);
    expect(stdout).toMatch(/FAILS\s+CDK bootstrap: bootstrap version 5/);
    expect(stdout).toMatch(/fix: npx cdk bootstrap/);
    expect(stdout).toMatch(/MAY FAIL\s+CloudFront/);
    expect(calls()).toBe('');
  }, 150_000);

  it('deploys, with the same arguments, past a preflight that found nothing that will fail', async () => {
    const { code, stdout } = await deploy('healthy', '-c stage=preflight --require-approval never');

    expect(stdout).toMatch(/Nothing found that will make the deploy fail/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/wcs-hooks-preflight: not deployed yet; this deploy creates it whole/);
    expect(calls()).toBe('deploy -c stage=preflight --require-approval never\n');
  }, 150_000);
});
