/**
 * What `npm run preflight` concludes from what it read of the account: pure, so each rule is tested
 * without AWS. A finding says what it saw, why it matters to this stack, and how to fix it, naming
 * the context key or the Service Quotas quota to change. Only a finding that will make the deploy
 * fail is `fails`; one that may (nothing readable says for sure) is `may fail`; one the deploy
 * survives but traffic will not is `throttled`; a check that could not be made is `not checked`.
 */
import type { StageConfig } from '../config.ts';
import { SENDER_MAX_CONCURRENCY } from '../constructs/sender-service.ts';
import { SPILL_REPLAY } from '../constructs/spill-replayer.ts';

/** A value read from the account, or why it could not be read (access denied, no credentials). */
export type Reading<T> = { readonly value: T } | { readonly notChecked: string };

export interface AccountReadings {
  /** The Region every reading is of. */
  readonly region: string;
  /** Lambda `GetAccountSettings`: the account's concurrency in the Region, and what no function reserves of it. */
  readonly lambda: Reading<{
    readonly concurrentExecutions: number;
    readonly unreservedConcurrentExecutions: number;
  }>;
  /** API Gateway `GetAccount`: the account's throttle in the Region and its CloudWatch Logs role. */
  readonly apiGatewayAccount: Reading<{
    readonly rateLimit?: number;
    readonly burstLimit?: number;
    readonly cloudwatchRoleArn?: string;
  }>;
  /** Service Quotas `GetServiceQuota`: API Gateway's applied "Throttle rate" quota in the Region. */
  readonly apiGatewayRateQuota: Reading<number>;
  /** CloudFront `ListDistributions`: whether the account has a distribution, or CloudFront's refusal of it. */
  readonly cloudFront: Reading<{ readonly hasDistributions: boolean; readonly refusal?: string }>;
  /** SSM `GetParameter` of the bootstrap version parameter: its value, undefined when there is none. */
  readonly bootstrapVersion: Reading<number | undefined>;
  /**
   * CloudFormation `ListTypes` (hooks registered or activated in the account and Region) and
   * `BatchDescribeTypeConfigurations`: each hook's configuration. Optional: readings made without it
   * leave the check out.
   */
  readonly hooks?: Reading<readonly AccountHook[]>;
}

/** A CloudFormation Hook of the account, as its configuration (`CloudFormationConfiguration.HookConfiguration`) says. */
export interface AccountHook {
  readonly typeName: string;
  /** Its HookConfiguration, or undefined when it has none (a hook without one is not invoked). */
  readonly configuration?: {
    readonly HookInvocationStatus?: string;
    readonly FailureMode?: string;
    readonly TargetStacks?: string;
    readonly StackFilters?: {
      readonly FilteringCriteria?: string;
      readonly StackNames?: { readonly Include?: readonly string[]; readonly Exclude?: readonly string[] };
      readonly StackRoles?: { readonly Include?: readonly string[]; readonly Exclude?: readonly string[] };
    };
  };
}

export type Outcome = 'fails' | 'may fail' | 'throttled' | 'ok' | 'not checked';

export interface Finding {
  /** What was checked: `CDK bootstrap`, `Lambda concurrency`, ... */
  readonly check: string;
  readonly outcome: Outcome;
  /** What was read, against what the stack needs. */
  readonly what: string;
  /** Why it matters. */
  readonly why?: string;
  /** How to fix it: a command, a context key, or a quota by its name and code. */
  readonly fix?: string;
}

/** Service Quotas codes of the quotas the findings name. */
export const QUOTA_CODES = {
  /** Lambda "Concurrent executions". */
  lambdaConcurrency: 'L-B99A9384',
  /** API Gateway "Throttle rate" (account, per Region; the burst follows it). */
  apiGatewayThrottleRate: 'L-8A5B8E43',
} as const;

/**
 * Regions where API Gateway's default account throttle is 2,500 requests/s with a burst of 1,250
 * (Amazon API Gateway quotas, "API Gateway account-level quotas, per Region"); elsewhere 10,000 and
 * 5,000. Service Quotas may show 10,000 there all the same: `GetAccount` says what applies.
 */
export const LOW_THROTTLE_REGIONS: Readonly<Record<string, string>> = {
  'af-south-1': 'Africa (Cape Town)',
  'eu-south-1': 'Europe (Milan)',
  'ap-southeast-3': 'Asia Pacific (Jakarta)',
  'me-central-1': 'Middle East (UAE)',
  'ap-south-2': 'Asia Pacific (Hyderabad)',
  'ap-southeast-4': 'Asia Pacific (Melbourne)',
  'eu-south-2': 'Europe (Spain)',
  'eu-central-2': 'Europe (Zurich)',
  'il-central-1': 'Israel (Tel Aviv)',
  'ca-west-1': 'Canada West (Calgary)',
  'ap-southeast-5': 'Asia Pacific (Malaysia)',
  'ap-southeast-7': 'Asia Pacific (Thailand)',
  'mx-central-1': 'Mexico (Central)',
};

/** API Gateway's default account throttle in `region`. */
export function defaultApiGatewayThrottle(region: string): { rateLimit: number; burstLimit: number } {
  return region in LOW_THROTTLE_REGIONS
    ? { rateLimit: 2_500, burstLimit: 1_250 }
    : { rateLimit: 10_000, burstLimit: 5_000 };
}

/** Milliseconds a hook keeps an execution busy when DynamoDB answers (one or two requests; docs/deploy.md, "Sizing"). */
export const HOOK_MS = 20;
/** Hooks in a hundred that are events (the rest are decisions), as docs/deploy.md sizes an outage. */
const EVENT_PERCENT = 80;
/** Lambda concurrency an account has once AWS no longer treats it as new. */
const USUAL_ACCOUNT_CONCURRENCY = 1_000;

/** What the stack configured by `config` needs of the account. */
export interface StackNeeds {
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Executions the hooks take at the hook API's rate limit while DynamoDB answers. */
  readonly concurrencyAtRate: number;
  /** ...and at the onset of a DynamoDB outage, every hook waiting its budget once. */
  readonly concurrencyInOutage: number;
  /** Executions the queue consumers take at most (spill replayer, sender). */
  readonly queueConsumers: number;
  readonly endpointsEdge: boolean;
  /** The bootstrap version `cdk deploy` requires, and the one `cdk diff`'s lookup role requires. */
  readonly bootstrap: { readonly required: number; readonly lookupRole?: number; readonly parameter: string };
  /** The stack's name, `wcs-hooks-<stage>`, as a hook's stack filters name it. */
  readonly stackName?: string;
  /** The Control Tower proactive controls (rule names) the stack acknowledges rather than meets. */
  readonly acknowledgedControls?: readonly string[];
}

/**
 * The Control Tower proactive controls (their rule names) that a stack of `config` acknowledges, by
 * design, rather than meets: what `controlTower('<rule>')` acknowledges in infra/ (a test keeps the
 * two the same). Where such a control is enforced as a CloudFormation Hook, the acknowledgement does
 * not bind it.
 */
export function acknowledgedControls(
  config: Pick<StageConfig, 'logRetentionDays' | 'endpointsEdge'>,
): string[] {
  return [
    // Always: the hook path runs outside any VPC whatever the context (a VPC moves only the functions that call WCS nodes).
    'lambda_inside_vpc_check',
    'api_gw_v2_authorization_type_configured_check',
    'lambda_function_public_access_prohibited_check',
    'cloudwatch_log_group_encrypted_check',
    ...(config.logRetentionDays < 365 ? ['cloudwatch_log_group_retention_period_check'] : []),
    ...(config.endpointsEdge
      ? [
          'cloudfront_access_logs_enabled_check',
          'cloudfront_custom_ssl_certificate_check',
          'cloudfront_sni_enabled_check',
          'cloudfront_security_policy_check',
          'cloudfront_default_root_object_configured_check',
          'cloudfront_origin_failover_enabled_check',
        ]
      : []),
  ];
}

/** What a stack of `config` needs, with the bootstrap requirement of this aws-cdk-lib. */
export function stackNeeds(
  config: Pick<
    StageConfig,
    'throttleRateLimit' | 'throttleBurstLimit' | 'eventBudgetMs' | 'decisionBudgetMs' | 'endpointsEdge'
  > &
    Partial<Pick<StageConfig, 'stage' | 'logRetentionDays'>>,
  bootstrap: StackNeeds['bootstrap'],
): StackNeeds {
  const rate = config.throttleRateLimit;
  // Executions = hooks/s × seconds each; integers until the last division, so 840 is not 840.0000001.
  const waitMsTimes100 =
    EVENT_PERCENT * config.eventBudgetMs + (100 - EVENT_PERCENT) * config.decisionBudgetMs;
  const concurrencyAtRate = Math.ceil((rate * HOOK_MS) / 1000);
  return {
    throttleRateLimit: rate,
    throttleBurstLimit: config.throttleBurstLimit,
    concurrencyAtRate,
    concurrencyInOutage: Math.ceil((rate * waitMsTimes100) / 100_000) + concurrencyAtRate,
    queueConsumers: SPILL_REPLAY.maxConcurrency + SENDER_MAX_CONCURRENCY,
    endpointsEdge: config.endpointsEdge,
    bootstrap,
    ...(config.stage !== undefined && { stackName: `wcs-hooks-${config.stage}` }),
    ...(config.logRetentionDays !== undefined && {
      acknowledgedControls: acknowledgedControls({
        logRetentionDays: config.logRetentionDays,
        endpointsEdge: config.endpointsEdge,
      }),
    }),
  };
}

const n = (value: number) => value.toLocaleString('en-US');

function bootstrapFinding(readings: AccountReadings, needs: StackNeeds): Finding {
  const check = 'CDK bootstrap';
  const { required, lookupRole, parameter } = needs.bootstrap;
  const fix = `npx cdk bootstrap aws://<account>/${readings.region} (with the deploying credentials; it upgrades an older bootstrap in place)`;
  const reading = readings.bootstrapVersion;
  if ('notChecked' in reading)
    return { check, outcome: 'not checked', what: `SSM parameter ${parameter}: ${reading.notChecked}` };
  const version = reading.value;
  if (version === undefined)
    return {
      check,
      outcome: 'fails',
      what: `${readings.region} is not bootstrapped for the CDK: no SSM parameter ${parameter}`,
      why: 'cdk deploy uploads the functions to the bootstrap bucket and deploys through the bootstrap roles',
      fix,
    };
  if (version < required)
    return {
      check,
      outcome: 'fails',
      what: `bootstrap version ${version} in ${readings.region}; this CDK deploys with ${required} at least`,
      why: `cdk deploy stops with "requires bootstrap stack version '${required}'"`,
      fix,
    };
  if (lookupRole !== undefined && version < lookupRole)
    return {
      check,
      outcome: 'ok',
      what: `bootstrap version ${version} (deploy needs ${required}); below ${lookupRole}, cdk diff cannot use the lookup role`,
      fix,
    };
  return { check, outcome: 'ok', what: `bootstrap version ${version} (deploy needs ${required})` };
}

function lambdaFinding(readings: AccountReadings, needs: StackNeeds): Finding {
  const check = 'Lambda concurrency';
  const reading = readings.lambda;
  if ('notChecked' in reading)
    return { check, outcome: 'not checked', what: `GetAccountSettings: ${reading.notChecked}` };
  const { concurrentExecutions: total, unreservedConcurrentExecutions: pool } = reading.value;
  const atRate = needs.concurrencyAtRate + needs.queueConsumers;
  const inOutage = needs.concurrencyInOutage + needs.queueConsumers;
  const read = `${n(pool)} executions unreserved of the account's ${n(total)} in ${readings.region}`;
  const quota = `raise Lambda "Concurrent executions" (Service Quotas, ${QUOTA_CODES.lambdaConcurrency}) to ${n(inOutage)} at least`;
  const isNew = total < USUAL_ACCOUNT_CONCURRENCY ? ` (${n(total)}: a new account's reduced quota)` : '';
  const rateThatFits = Math.floor((Math.max(0, pool - needs.queueConsumers) * 1000) / HOOK_MS);
  if (pool < atRate)
    return {
      check,
      outcome: 'throttled',
      what: `${read}${isNew}; at throttleRateLimit ${n(needs.throttleRateLimit)} hooks/s the hook functions need ~${n(needs.concurrencyAtRate)}, the queue consumers up to ${n(needs.queueConsumers)}`,
      why: 'the stack reserves no concurrency, so it deploys; but past the account concurrency Lambda refuses invocations, hooks are answered with errors, and WCS does not resend an event',
      fix:
        rateThatFits > 0
          ? `${quota}; meanwhile set throttleRateLimit at most ${n(rateThatFits)}, so the API refuses (429, alarmed) before Lambda does`
          : `${quota}: the queue consumers alone may take all of ${n(pool)}`,
    };
  if (pool < inOutage)
    return {
      check,
      outcome: 'throttled',
      what: `${read}${isNew}; enough at full rate (~${n(atRate)}), not at the onset of a DynamoDB outage (~${n(inOutage)}: every hook waits its budget once)`,
      why: 'hooks past the concurrency are refused while DynamoDB is failing, rather than spilled or answered by their fail mode',
      fix: `${quota}, or lower eventBudgetMs, decisionBudgetMs or throttleRateLimit (docs/deploy.md, "Sizing")`,
    };
  return {
    check,
    outcome: 'ok',
    what: `${read}; the stack needs ~${n(atRate)} at full rate, ~${n(inOutage)} at the onset of a DynamoDB outage`,
  };
}

/** The account's throttle: what `GetAccount` says applies, else the quota, else the Region's default. */
function accountThrottle(readings: AccountReadings) {
  const account = readings.apiGatewayAccount;
  const quota = readings.apiGatewayRateQuota;
  const regional = defaultApiGatewayThrottle(readings.region);
  if ('value' in account && account.value.rateLimit !== undefined)
    return {
      rateLimit: account.value.rateLimit,
      burstLimit: account.value.burstLimit ?? regional.burstLimit,
      source: 'API Gateway GetAccount',
    };
  if ('value' in quota) {
    // In the Regions of the lower default, Service Quotas has shown 10,000 while 2,500 applied.
    const rateLimit = quota.value === 10_000 ? regional.rateLimit : quota.value;
    return { rateLimit, burstLimit: Math.floor(rateLimit / 2), source: 'Service Quotas' };
  }
  return undefined;
}

function apiGatewayFindings(readings: AccountReadings, needs: StackNeeds): Finding[] {
  const check = 'API Gateway account throttle';
  const throttle = accountThrottle(readings);
  if (!throttle) {
    const regional = defaultApiGatewayThrottle(readings.region);
    const why = (r: Reading<unknown>) => ('notChecked' in r ? r.notChecked : '');
    return [
      {
        check,
        outcome: 'not checked',
        what: `API Gateway GetAccount: ${why(readings.apiGatewayAccount)}; Service Quotas: ${why(readings.apiGatewayRateQuota)}`,
        why: `the default in ${readings.region} is ${n(regional.rateLimit)} requests/s, burst ${n(regional.burstLimit)}; the hook API is set to ${n(needs.throttleRateLimit)}/s, burst ${n(needs.throttleBurstLimit)}`,
      },
    ];
  }
  const { rateLimit, burstLimit, source } = throttle;
  const read = `${n(rateLimit)} requests/s, burst ${n(burstLimit)}, in ${readings.region} (${source})`;
  const shared =
    'the account throttle is shared by every API of the account in the Region: the hook API, the realtime and endpoints WebSocket APIs, and their @connections posts (the realtime fan-out, endpoint pushes)';
  const quotaNote =
    'value' in readings.apiGatewayRateQuota && readings.apiGatewayRateQuota.value !== rateLimit
      ? ` (Service Quotas shows ${n(readings.apiGatewayRateQuota.value)}; what GetAccount says is what applies)`
      : '';
  const findings: Finding[] = [];
  if (rateLimit < needs.throttleRateLimit)
    findings.push({
      check,
      outcome: 'throttled',
      what: `${read}${quotaNote}; the hook API alone is set to throttleRateLimit ${n(needs.throttleRateLimit)}/s`,
      why: `${shared}; past it API Gateway answers 429 (ApiThrottled alarms), and WCS does not resend an event`,
      fix: `raise API Gateway "Throttle rate" (Service Quotas, ${QUOTA_CODES.apiGatewayThrottleRate}), or set throttleRateLimit below ${n(rateLimit)}, leaving room for the WebSocket traffic (docs/deploy.md, "Sizing")`,
    });
  if (burstLimit < needs.throttleBurstLimit)
    findings.push({
      check,
      outcome: 'throttled',
      what: `${read}; the hook API's throttleBurstLimit is ${n(needs.throttleBurstLimit)}`,
      why: `${shared}; a burst past the account's is answered 429 whatever the stage allows`,
      fix: `set throttleBurstLimit at most ${n(burstLimit)}: the account burst is set by AWS from the rate quota (${QUOTA_CODES.apiGatewayThrottleRate}), not requested on its own`,
    });
  if (findings.length === 0)
    findings.push({
      check,
      outcome: 'ok',
      what: `${read}${quotaNote}; the hook API takes up to ${n(needs.throttleRateLimit)}/s, leaving ${n(rateLimit - needs.throttleRateLimit)}/s for the WebSocket APIs and their @connections posts`,
    });
  return findings;
}

function cloudFrontFinding(readings: AccountReadings, needs: StackNeeds): Finding {
  const check = 'CloudFront';
  if (!needs.endpointsEdge)
    return {
      check,
      outcome: 'ok',
      what: 'not used (endpointsEdge=false): user agents use EndpointsDirectUrl',
    };
  const fix =
    'deploy with -c endpointsEdge=false (no EndpointsUrl: user agents use EndpointsDirectUrl) until AWS Support has verified the account, then without it';
  const reading = readings.cloudFront;
  if ('notChecked' in reading)
    return { check, outcome: 'not checked', what: `ListDistributions: ${reading.notChecked}` };
  if (reading.value.refusal)
    return {
      check,
      outcome: 'fails',
      what: `CloudFront refuses this account: ${reading.value.refusal}`,
      why: 'the endpoints distribution would be refused, and the whole stack rolled back',
      fix,
    };
  if (reading.value.hasDistributions)
    return { check, outcome: 'ok', what: 'the account has distributions: CloudFront is allowed' };
  const lambda = readings.lambda;
  const looksNew =
    'value' in lambda && lambda.value.concurrentExecutions < USUAL_ACCOUNT_CONCURRENCY
      ? `; the account looks new (Lambda concurrency ${n(lambda.value.concurrentExecutions)})`
      : '';
  return {
    check,
    outcome: 'may fail',
    what: `the account has no CloudFront distribution yet${looksNew}`,
    why: 'CloudFront may refuse a new account its first distribution ("Your account must be verified before you can add new CloudFront resources"), rolling back the whole stack; no API tells whether the account is verified',
    fix,
  };
}

function logsRoleFinding(readings: AccountReadings): Finding {
  const check = 'API Gateway CloudWatch Logs role';
  const reading = readings.apiGatewayAccount;
  if ('notChecked' in reading)
    return {
      check,
      outcome: 'not checked',
      what: `API Gateway GetAccount: ${reading.notChecked}`,
      why: 'the stack sets its own role where the account has none or names one that no longer exists',
    };
  const arn = reading.value.cloudwatchRoleArn;
  return arn
    ? {
        check,
        outcome: 'ok',
        what: `${arn}: kept (the stack sets its own only if that role no longer exists)`,
      }
    : {
        check,
        outcome: 'ok',
        what: `none in ${readings.region}: the stack sets its own (the realtime stage's access logs need one), trying for ~4 minutes while IAM propagates it`,
      };
}

/** Whether `name` matches a stack filter's `pattern` (`*` any characters, `?` one). */
function matchesStackName(pattern: string, name: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/**
 * Whether `hook` fails an operation on stack `stackName`: enabled, at FAIL, on every stack (not the
 * legacy `TargetStacks: NONE`), and its stack names neither exclude the stack nor include only others.
 * A stack-roles filter is not read (the deploy role is the CDK's): the hook may apply all the same.
 */
function failsStack(hook: AccountHook, stackName: string): boolean {
  const configuration = hook.configuration;
  if (!configuration) return false;
  if (configuration.HookInvocationStatus !== 'ENABLED') return false;
  if (configuration.FailureMode !== 'FAIL') return false;
  if (configuration.TargetStacks === 'NONE') return false;
  const names = configuration.StackFilters?.StackNames;
  if (names?.Exclude?.some((pattern) => matchesStackName(pattern, stackName))) return false;
  if (names?.Include?.length && !names.Include.some((pattern) => matchesStackName(pattern, stackName)))
    return false;
  return true;
}

function hooksFinding(readings: AccountReadings, needs: StackNeeds): Finding[] {
  const reading = readings.hooks;
  const stackName = needs.stackName;
  if (!reading || !stackName) return [];
  const check = 'CloudFormation Hooks';
  if ('notChecked' in reading)
    return [
      {
        check,
        outcome: 'not checked',
        what: `ListTypes (HOOK), BatchDescribeTypeConfigurations: ${reading.notChecked}`,
        why: 'a hook at FAIL that enforces a Control Tower control this stack acknowledges fails the deploy: CDK acknowledgements do not bind hooks',
      },
    ];
  const failing = reading.value.filter((hook) => failsStack(hook, stackName));
  if (failing.length === 0)
    return [
      {
        check,
        outcome: 'ok',
        what:
          reading.value.length === 0
            ? `no hooks in ${readings.region}`
            : `${reading.value.length} hook(s) in ${readings.region}, none at FAIL on ${stackName}`,
      },
    ];
  const controls = needs.acknowledgedControls ?? [];
  return [
    {
      check,
      outcome: 'may fail',
      what: `${failing.map((hook) => hook.typeName).join(', ')} at FailureMode FAIL on every stack, ${stackName} included`,
      why: `if a hook enforces a Control Tower proactive control (proactive controls as hooks, a Guard hook with their rules), the deploy fails on those this stack acknowledges rather than meets${controls.length ? ` (${controls.join(', ')})` : ''}: CDK acknowledgements bind only synthesis, not hooks (docs/deploy.md, "What is checked before anything deploys")`,
      fix: `exclude ${stackName} in the hook's StackFilters (StackNames.Exclude), or configure it at FailureMode WARN for this stack; the VPC control (lambda_inside_vpc_check) cannot be met by the vpc context keys alone: the hook functions run outside any VPC by design`,
    },
  ];
}

/** Every finding, in the order a reader fixes them: the deploy's prerequisites first. */
export function assess(readings: AccountReadings, needs: StackNeeds): Finding[] {
  return [
    bootstrapFinding(readings, needs),
    cloudFrontFinding(readings, needs),
    lambdaFinding(readings, needs),
    ...apiGatewayFindings(readings, needs),
    logsRoleFinding(readings),
    ...hooksFinding(readings, needs),
  ];
}

/** 1 when a finding will make the deploy fail, else 0: `npm run deploy` stops only for those. */
export function exitCodeOf(findings: readonly Finding[]): number {
  return findings.some((finding) => finding.outcome === 'fails') ? 1 : 0;
}
