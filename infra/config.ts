/**
 * Deployment configuration: every setting from CDK context (`cdk.json` or `-c key=value`), each with
 * a documented default. A production stage differs from a development one only by these values.
 */
import type { Node } from 'constructs';
import { parseFailModes } from '#shared/http/fail-modes.ts';
import { MAX_SPILLABLE_BODY_BYTES, SETTINGS, type Setting, type SettingName } from '#shared/kernel/config.ts';
import { parseAllowedOrigins } from '#shared/kernel/origins.ts';
import { parseDefaultPolicy } from '#shared/state/app-policy.ts';
import { MAX_CLIENT_TEXT_BYTES } from '#shared/state/client-json.ts';
import type { NodeNetworkProps } from './constructs/node-network.ts';
import type { DeployedIndexes } from './upgrade/indexes.ts';

function warmThroughput(value: unknown): Pick<StageConfig, 'tableWarmThroughput'> {
  if (value === undefined) return {};
  const ok = (n: unknown) => n === undefined || (typeof n === 'number' && Number.isInteger(n) && n > 0);
  const v = value as { writeUnitsPerSecond?: unknown; readUnitsPerSecond?: unknown } | null;
  const keys = v && typeof v === 'object' ? Object.keys(v) : [];
  if (
    !v ||
    keys.length === 0 ||
    keys.some((k) => k !== 'writeUnitsPerSecond' && k !== 'readUnitsPerSecond') ||
    !ok(v.writeUnitsPerSecond) ||
    !ok(v.readUnitsPerSecond)
  )
    throw new Error(
      'context "tableWarmThroughput" must be {"writeUnitsPerSecond": <positive integer>, "readUnitsPerSecond": <positive integer>}',
    );
  return { tableWarmThroughput: v as StageConfig['tableWarmThroughput'] & object };
}

/** `value` of context `key`, refused past `most` (`why`: what the bound keeps possible). */
function atMost(key: string, value: number, most: number, why = ''): number {
  if (value > most) throw new Error(`context "${key}" is ${value}; at most ${most}${why && `, ${why}`}`);
  return value;
}

/**
 * Every context key the stack reads, as docs/deploy.md ("Settings") lists them. A key of this app's
 * form (camelCase, no namespace: CDK's own have `@`, `:` or `-`) that is none of them fails
 * synthesis, naming them all: a misspelt or retired setting would otherwise be ignored, and the
 * stack deployed with its default.
 */
export const CONTEXT_KEYS = [
  'stage',
  'retainData',
  'logRetentionDays',
  'dataRetentionDays',
  'logLevel',
  'logEachHook',
  'throttleRateLimit',
  'throttleBurstLimit',
  'hookBodyLimitBytes',
  'requireSignedHooks',
  'alarmEmail',
  'clientErrorRatePercent',
  'defaultAppPolicy',
  'decisionBudgetMs',
  'decisionFailModes',
  'eventBudgetMs',
  'spillBreakerMs',
  'maxStoredCustomBytes',
  'tableWarmThroughput',
  'sendMaxReceiveCount',
  'refusalAlarmPerMinute',
  'nodePollIntervalMinutes',
  'metricsRetentionHours',
  'reconcileGraceSeconds',
  'nodeLostAfterSeconds',
  'nodeDiscovery',
  'nodePollMaxNodes',
  'reconcileMaxChanges',
  'reconcileStaleAfterSeconds',
  'reconcileMassEndPercent',
  'nodeLossBrakePercent',
  'streamKeepAliveTimeoutSeconds',
  'vpcSubnetIds',
  'vpcSecurityGroupIds',
  'vpcEgress',
  'vpcId',
  'vpcRouteTableIds',
  'allowedOrigins',
  'stompMaxTimeoutMs',
  'endpointLogicFunctions',
  'endpointsEdge',
  'deployedIndexes',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Keys no longer read, each with what took its place. */
const RETIRED_CONTEXT_KEYS: Readonly<Record<string, string>> = {
  // An environment variable holds 4 KB at most: a 50-node map did not deploy. The map is data now.
  wcsRestUrls:
    'node REST URLs live in the configuration store; set each with `npm run cli -- --stack <stack> nodes put <nodeId|ip> <url>`',
};

/** A key of this app's form: camelCase, no namespace. */
const OWN_KEY_FORM = /^[a-z][A-Za-z0-9]*$/;

/** Fails on a retired key, or on a key of this app's form that the stack does not read. */
function refuseUnknownContext(node: Node): void {
  const known: readonly string[] = CONTEXT_KEYS;
  for (const key of Object.keys(node.getAllContext())) {
    const retired = RETIRED_CONTEXT_KEYS[key];
    if (retired !== undefined) throw new Error(`context "${key}" is no longer read: ${retired}`);
    if (OWN_KEY_FORM.test(key) && !known.includes(key))
      throw new Error(
        `context "${key}" is not a setting of wcs-hooks (docs/deploy.md, "Settings"); the settings are: ${CONTEXT_KEYS.join(', ')}`,
      );
  }
}

/** The values of `NODE_DISCOVERY`, as its setting in `shared/kernel/config.ts` allows them: which nodes may be sent requests. */
export const NODE_DISCOVERY_MODES = SETTINGS.NODE_DISCOVERY.choices;

/**
 * The shortest `streamKeepAliveTimeoutSeconds` other than 0: three keep-alive write intervals. A live
 * stream's `lastKeepAliveAt` is written at most once an interval (`KEEP_ALIVE_WRITE_INTERVAL_S`,
 * which the stack leaves at its default), so a shorter timeout would end streams whose keep-alives
 * arrive.
 */
export const MIN_STREAM_KEEP_ALIVE_TIMEOUT_S = 3 * SETTINGS.KEEP_ALIVE_WRITE_INTERVAL_S.fallback;

export interface StageConfig {
  /** Name of the stage, part of the stack name. Default `dev`. */
  readonly stage: string;
  /** Keep tables (deletion protection, `RETAIN`) when the stack is deleted. Default: true for stage `prod`. */
  readonly retainData: boolean;
  /** CloudWatch Logs retention of function and access logs, in days. Default 30 (`prod`: 365). */
  readonly logRetentionDays: number;
  /** How long items stay in the tables (DynamoDB TTL), in days. Default 30. */
  readonly dataRetentionDays: number;
  /** Powertools log level of the functions. Default `INFO`. */
  readonly logLevel: string;
  /** Steady-state hook requests per second the API accepts. Default 6000: a 50-node cluster at 5,000 hooks/s, with room (docs/deploy.md, "Sizing"). */
  readonly throttleRateLimit: number;
  /**
   * Burst of hook requests the API accepts. Default 5000: the account's API Gateway burst in most
   * Regions (1,250 in the newer ones; docs/deploy.md, "Sizing"), which every API of the account shares.
   */
  readonly throttleBurstLimit: number;
  /** Largest hook body accepted, in bytes. Default 245 760 (240 KiB); at most 256 000, so any event fits the spill queue. */
  readonly hookBodyLimitBytes: number;
  /** Verify `Authorization: WCS <hmac>` on every hook (`rest_hook_send_hash=true` on WCS). Default true. */
  readonly requireSignedHooks: boolean;
  /** Where alarms are e-mailed; unset, alarms go to the SNS topic only. */
  readonly alarmEmail?: string;
  /** Policy of apps without one (`open`, `closed`, or a policy as JSON). Default `open`, as EchoApp. */
  readonly defaultAppPolicy: string;
  /** Time every decision hook has to decide, in ms. Default 300 (DynamoDB answers in milliseconds; docs/deploy.md, "Sizing"). */
  readonly decisionBudgetMs: number;
  /** Time an event hook has to be written before it is spilled, in ms. Default 100 (docs/deploy.md, "Sizing"). */
  readonly eventBudgetMs: number;
  /** How long, after DynamoDB failed, hooks spill or answer by fail mode without trying it, in ms. Default 2000. */
  readonly spillBreakerMs: number;
  /** Log each answered hook at INFO (`LOG_EACH_HOOK`). Default false: API Gateway's access log has every request. */
  readonly logEachHook: boolean;
  /** Largest client `custom` kept on a session or stream item, in bytes. Default 102 400 (100 KiB), the most. */
  readonly maxStoredCustomBytes: number;
  /**
   * Throughput each table and each of its global secondary indexes can take at once from its
   * creation (DynamoDB warm throughput), for a launch-day surge: `{"writeUnitsPerSecond": N,
   * "readUnitsPerSecond": N}`. Default: none (on-demand tables and indexes start warm for 4,000
   * writes/s and scale from there).
   */
  readonly tableWarmThroughput?: {
    readonly writeUnitsPerSecond?: number;
    readonly readUnitsPerSecond?: number;
  };
  /** Fail mode per decision hook, overriding the defaults in `shared/http/fail-modes.ts`. Default `{}`. */
  readonly decisionFailModes: Readonly<Record<string, 'open' | 'closed'>>;
  /** Deliveries of a queued send before it moves to the dead-letter queue. Default 5. */
  readonly sendMaxReceiveCount: number;
  /** Refusals of one app in one minute that raise a realtime `/alarm`. Default 20. */
  readonly refusalAlarmPerMinute: number;
  /** Percentage of hook requests answered 4xx over five minutes that raises a CloudWatch alarm. Default 10. */
  readonly clientErrorRatePercent: number;
  /** Minutes between runs of the node poller (EventBridge Scheduler: a minute at least). Default 1. */
  readonly nodePollIntervalMinutes: number;
  /** Hours metric samples are kept. Default 24. */
  readonly metricsRetentionHours: number;
  /** Browser origins allowed on the REST realms (CORS) and the realtime WebSocket; `*` for any. Default none. */
  readonly allowedOrigins: readonly string[];
  /** Milliseconds a realtime WebSocket has to send STOMP CONNECT. Default 10000. */
  readonly stompMaxTimeoutMs: number;
  /** Seconds reconciliation leaves a session or stream alone after its last hook. Default 60. */
  readonly reconcileGraceSeconds: number;
  /** Seconds without any answer or hook after which a WCS node is lost and what it held is ended. Default 180. */
  readonly nodeLostAfterSeconds: number;
  /** Which WCS nodes the poller and the senders may send requests (and the credentials) to (`NODE_DISCOVERY`). Default `signed`. */
  readonly nodeDiscovery: (typeof NODE_DISCOVERY_MODES)[number];
  /** WCS nodes the poller asks in one run at most (`NODE_POLL_MAX_NODES`). Default 500. */
  readonly nodePollMaxNodes: number;
  /** Sessions and streams one reconciliation of one node ends or records at most (`RECONCILE_MAX_CHANGES`). Default 500. */
  readonly reconcileMaxChanges: number;
  /** Seconds without a reconciliation after which a node raises `WcsNodeNotReconciled` (`RECONCILE_STALE_AFTER_S`). Default 300. */
  readonly reconcileStaleAfterSeconds: number;
  /** Share of what a node held, in percent, whose end in one run raises `ReconcileMassEnd` (`RECONCILE_MASS_END_PERCENT`). Default 50; at most 100. */
  readonly reconcileMassEndPercent: number;
  /** Share of the nodes asked, in percent, that would be lost at once and so are not (`NODE_LOSS_BRAKE_PERCENT`). Default 50; 0 turns the brake off; at most 100. */
  readonly nodeLossBrakePercent: number;
  /** Seconds without keep-alives after which a live stream that sent them is ended (`STREAM_KEEP_ALIVE_TIMEOUT_S`). Default 300; 0 never; otherwise at least `MIN_STREAM_KEEP_ALIVE_TIMEOUT_S`. */
  readonly streamKeepAliveTimeoutSeconds: number;
  /**
   * The team's VPC, where the functions that call WCS nodes run (`vpcSubnetIds`,
   * `vpcSecurityGroupIds`, `vpcEgress`, `vpcId`, `vpcRouteTableIds`). Default: none: every
   * function runs outside any VPC, and WCS nodes at private addresses are unreachable.
   */
  readonly vpc?: NodeNetworkProps;
  /**
   * Lambda functions (ARN templates, `*` any characters) a WebSocket endpoint may name as its logic;
   * the endpoint functions may invoke these. Default: `wcs-endpoint-*` in the stack's account and region.
   */
  readonly endpointLogicFunctions: readonly string[];
  /**
   * A CloudFront distribution in front of the WebSocket endpoints (`/ws/<code>` URLs). Default true;
   * false for an account where CloudFront is not yet allowed: user agents use the direct URLs.
   */
  readonly endpointsEdge: boolean;
  /**
   * The deployed tables' global indexes by logical id, set by `npm run deploy` from the deployed
   * stack: each table then changes one index at most per deploy. Default: none known (all indexes).
   */
  readonly deployedIndexes?: DeployedIndexes;
}

/** Context `deployedIndexes`: `{"<table logical id>": [<index>, ...]}` as `indexesOfTemplate` makes it. */
function deployedIndexes(value: unknown): Pick<StageConfig, 'deployedIndexes'> {
  if (value === undefined) return {};
  const valid =
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every(
      (indexes) =>
        Array.isArray(indexes) &&
        indexes.every((i) => typeof i?.indexName === 'string' && typeof i?.partitionKey?.name === 'string'),
    );
  if (!valid)
    throw new Error(
      'context "deployedIndexes" must be {"<table logical id>": [{"indexName": ..., "partitionKey": {...}, ...}]}, as `npm run deploy` sets it',
    );
  return { deployedIndexes: value as DeployedIndexes };
}

/** `value` as a list: a list, or comma-separated text; unset, empty. */
function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : String(value).split(','))
    .map((v) => String(v).trim())
    .filter(Boolean);
}

/** `endpointLogicFunctions`: a list, or comma-separated text, of Lambda function ARN templates. */
function logicFunctions(value: unknown): readonly string[] {
  const arns = list(value);
  for (const arn of arns) {
    if (!/^arn:[a-z*-]+:lambda:[a-z0-9*-]+:[0-9*]+:function:[A-Za-z0-9_*:$-]+$/.test(arn))
      throw new Error(`context "endpointLogicFunctions": ${arn} is not a Lambda function ARN (template)`);
  }
  return arns;
}

function parse(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function wholeMinutes(minutes: number): number {
  if (!Number.isInteger(minutes))
    throw new Error(
      `context "nodePollIntervalMinutes" must be whole minutes (EventBridge Scheduler), got ${minutes}`,
    );
  return minutes;
}

/** `allowedOrigins`: a list, or comma-separated text, of origins (`https://ops.example.com`) or `*`. */
function origins(value: unknown): readonly string[] {
  if (value === undefined) return [];
  const spec = Array.isArray(value) ? value.join(',') : value;
  if (typeof spec !== 'string') throw new Error('context "allowedOrigins" must be a list of origins, or *');
  try {
    return parseAllowedOrigins(spec);
  } catch (error) {
    throw new Error(`context "allowedOrigins": ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The ids of context `key` (a list, or comma-separated text), each of the AWS form `<prefix>-` and 8
 * or 17 hexadecimal digits, none twice, at most `most`; unset, empty.
 */
function resourceIds(key: string, value: unknown, prefix: string, most: number): string[] {
  const ids = list(value);
  const form = new RegExp(`^${prefix}-(?:[0-9a-f]{8}|[0-9a-f]{17})$`);
  for (const id of ids)
    if (!form.test(id))
      throw new Error(
        `context "${key}": ${JSON.stringify(id)} is not an id of the form ${prefix}-0123456789abcdef0`,
      );
  if (new Set(ids).size !== ids.length) throw new Error(`context "${key}" names an id twice`);
  atMost(key, ids.length, most, 'as AWS allows');
  return ids;
}

/**
 * The VPC keys: the team's subnets and security groups (both, or neither), how they reach AWS
 * (`vpcEgress`), and what only the `endpoints` egress reads. Nothing is looked up: synthesis needs
 * no credentials.
 */
function vpcFrom(read: (key: ContextKey) => unknown): Pick<StageConfig, 'vpc'> {
  const subnetIds = resourceIds('vpcSubnetIds', read('vpcSubnetIds'), 'subnet', 16);
  const securityGroupIds = resourceIds('vpcSecurityGroupIds', read('vpcSecurityGroupIds'), 'sg', 5);
  const endpointsOnly = { vpcId: read('vpcId'), vpcRouteTableIds: read('vpcRouteTableIds') };
  const firstGiven = (keys: Record<string, unknown>) =>
    Object.entries(keys).find(([, value]) => value !== undefined)?.[0];
  if (subnetIds.length === 0 && securityGroupIds.length === 0) {
    const orphan = firstGiven({ vpcEgress: read('vpcEgress'), ...endpointsOnly });
    if (orphan)
      throw new Error(`context "${orphan}" needs a VPC: give vpcSubnetIds and vpcSecurityGroupIds too`);
    return {};
  }
  if (subnetIds.length === 0 || securityGroupIds.length === 0)
    throw new Error(
      'context "vpcSubnetIds" and "vpcSecurityGroupIds" go together: the functions that call WCS nodes run in those subnets with those security groups',
    );
  const egress = read('vpcEgress') ?? 'nat';
  if (egress === 'nat') {
    const orphan = firstGiven(endpointsOnly);
    if (orphan)
      throw new Error(
        `context "${orphan}" is read only with vpcEgress=endpoints (the VPC endpoints are made there)`,
      );
    return { vpc: { subnetIds, securityGroupIds, egress } };
  }
  if (egress !== 'endpoints')
    throw new Error(`context "vpcEgress" must be "nat" or "endpoints", got ${JSON.stringify(egress)}`);
  const [vpcId] = resourceIds('vpcId', endpointsOnly.vpcId, 'vpc', 1);
  if (!vpcId)
    throw new Error(
      'context "vpcId" is needed with vpcEgress=endpoints: the VPC of the subnets, where the endpoints are made',
    );
  const routeTableIds = resourceIds('vpcRouteTableIds', endpointsOnly.vpcRouteTableIds, 'rtb', 50);
  return { vpc: { subnetIds, securityGroupIds, egress, vpcId, routeTableIds } };
}

/** The configuration from `node`'s context, defaults applied; a malformed value fails synthesis with its name. */
export function stageConfigFrom(node: Node): StageConfig {
  refuseUnknownContext(node);
  const read = (key: ContextKey) => parse(node.tryGetContext(key));
  const stage = String(read('stage') ?? 'dev');
  const isProd = stage === 'prod';
  const number = (key: ContextKey, fallback: number) => {
    const value = read(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`context "${key}" must be a positive number, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  // A setting the functions read as an integer (`SETTINGS[name]`): its default, and whether 0 is
  // allowed, come from the catalogue, so synthesis refuses what the functions would refuse at start.
  const integer = (key: ContextKey, name: SettingName) => {
    const definition: Setting = SETTINGS[name];
    if (definition.kind !== 'integer') throw new Error(`${name} is not an integer setting`);
    const value = read(key) ?? definition.fallback;
    const zeroAllowed = definition.zeroAllowed === true;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (value === 0 && !zeroAllowed))
      throw new Error(
        `context "${key}" must be a ${zeroAllowed ? 'whole number (0 or more)' : 'positive integer'}, got ${JSON.stringify(value)}`,
      );
    return value;
  };
  const percent = (key: ContextKey, name: SettingName) =>
    atMost(key, integer(key, name), 100, 'a share of what is counted');
  const boolean = (key: ContextKey, fallback: boolean) => {
    const value = read(key) ?? fallback;
    if (typeof value !== 'boolean')
      throw new Error(`context "${key}" must be true or false, got ${JSON.stringify(value)}`);
    return value;
  };
  const alarmEmail = read('alarmEmail');
  const defaultAppPolicy = read('defaultAppPolicy') ?? 'open';
  const decisionFailModes = read('decisionFailModes') ?? {};
  // The functions would refuse to start with these: synthesis refuses first, with the same words.
  const contextError = (key: string) => (error: Error) =>
    new Error(`context "${key}": ${error.message}`, { cause: error });
  try {
    parseDefaultPolicy(
      typeof defaultAppPolicy === 'string' ? defaultAppPolicy : JSON.stringify(defaultAppPolicy),
    );
  } catch (error) {
    throw contextError('defaultAppPolicy')(error as Error);
  }
  try {
    parseFailModes(JSON.stringify(decisionFailModes));
  } catch (error) {
    throw contextError('decisionFailModes')(error as Error);
  }
  const nodeDiscovery = read('nodeDiscovery') ?? SETTINGS.NODE_DISCOVERY.fallback;
  if (!NODE_DISCOVERY_MODES.includes(nodeDiscovery as StageConfig['nodeDiscovery']))
    throw new Error(
      `context "nodeDiscovery" must be ${NODE_DISCOVERY_MODES.map((m) => `"${m}"`).join(', ')}, got ${JSON.stringify(nodeDiscovery)}`,
    );
  const keepAliveTimeout = integer('streamKeepAliveTimeoutSeconds', 'STREAM_KEEP_ALIVE_TIMEOUT_S');
  if (keepAliveTimeout !== 0 && keepAliveTimeout < MIN_STREAM_KEEP_ALIVE_TIMEOUT_S)
    throw new Error(
      `context "streamKeepAliveTimeoutSeconds" is ${keepAliveTimeout}; 0 (never) or at least ${MIN_STREAM_KEEP_ALIVE_TIMEOUT_S}: three keep-alive write intervals (a live stream's lastKeepAliveAt is written once in ${SETTINGS.KEEP_ALIVE_WRITE_INTERVAL_S.fallback} s at most), or streams whose keep-alives arrive would be ended`,
    );
  return {
    stage,
    retainData: boolean('retainData', isProd),
    logRetentionDays: number('logRetentionDays', isProd ? 365 : 30),
    dataRetentionDays: number('dataRetentionDays', 30),
    logLevel: String(read('logLevel') ?? 'INFO'),
    logEachHook: boolean('logEachHook', false),
    throttleRateLimit: number('throttleRateLimit', 6000),
    throttleBurstLimit: number('throttleBurstLimit', 5_000),
    hookBodyLimitBytes: atMost(
      'hookBodyLimitBytes',
      number('hookBodyLimitBytes', SETTINGS.HOOK_BODY_LIMIT_BYTES.fallback),
      MAX_SPILLABLE_BODY_BYTES,
      'so that an event that must be spilled fits an SQS message (256 KiB)',
    ),
    requireSignedHooks: boolean('requireSignedHooks', true),
    ...(typeof alarmEmail === 'string' && alarmEmail !== '' && { alarmEmail }),
    defaultAppPolicy:
      typeof defaultAppPolicy === 'string' ? defaultAppPolicy : JSON.stringify(defaultAppPolicy),
    decisionBudgetMs: number('decisionBudgetMs', 300),
    eventBudgetMs: number('eventBudgetMs', 100),
    spillBreakerMs: number('spillBreakerMs', 2000),
    maxStoredCustomBytes: atMost(
      'maxStoredCustomBytes',
      number('maxStoredCustomBytes', SETTINGS.MAX_STORED_CUSTOM_BYTES.fallback),
      MAX_CLIENT_TEXT_BYTES,
    ),
    ...warmThroughput(read('tableWarmThroughput')),
    decisionFailModes: decisionFailModes as Record<string, 'open' | 'closed'>,
    sendMaxReceiveCount: number('sendMaxReceiveCount', 5),
    refusalAlarmPerMinute: number('refusalAlarmPerMinute', 20),
    clientErrorRatePercent: number('clientErrorRatePercent', 10),
    nodePollIntervalMinutes: wholeMinutes(number('nodePollIntervalMinutes', 1)),
    metricsRetentionHours: number('metricsRetentionHours', 24),
    allowedOrigins: origins(read('allowedOrigins')),
    stompMaxTimeoutMs: number('stompMaxTimeoutMs', SETTINGS.STOMP_MAX_TIMEOUT_MS.fallback),
    reconcileGraceSeconds: number('reconcileGraceSeconds', SETTINGS.RECONCILE_GRACE_S.fallback),
    nodeLostAfterSeconds: number('nodeLostAfterSeconds', SETTINGS.NODE_LOST_AFTER_S.fallback),
    endpointLogicFunctions: logicFunctions(read('endpointLogicFunctions')),
    endpointsEdge: boolean('endpointsEdge', true),
    ...deployedIndexes(read('deployedIndexes')),
    nodeDiscovery: nodeDiscovery as StageConfig['nodeDiscovery'],
    nodePollMaxNodes: integer('nodePollMaxNodes', 'NODE_POLL_MAX_NODES'),
    reconcileMaxChanges: integer('reconcileMaxChanges', 'RECONCILE_MAX_CHANGES'),
    reconcileStaleAfterSeconds: integer('reconcileStaleAfterSeconds', 'RECONCILE_STALE_AFTER_S'),
    reconcileMassEndPercent: percent('reconcileMassEndPercent', 'RECONCILE_MASS_END_PERCENT'),
    nodeLossBrakePercent: percent('nodeLossBrakePercent', 'NODE_LOSS_BRAKE_PERCENT'),
    streamKeepAliveTimeoutSeconds: keepAliveTimeout,
    ...vpcFrom(read),
  };
}
