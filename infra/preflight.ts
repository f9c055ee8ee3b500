/**
 * `npm run preflight [-- -c key=value ...] [--profile P] [--json]`: what a deploy of this stack will
 * meet in the account, said before CloudFormation starts. It reads, with the caller's credentials,
 * the CDK bootstrap version, whether CloudFront is allowed, the Lambda concurrency and the API
 * Gateway throttle in the Region, the API Gateway CloudWatch Logs role, and the CloudFormation Hooks
 * that would fail this stack; compares them with what
 * the stack, configured by the same context as `cdk deploy`, needs; and prints each finding with
 * why and how to fix it (docs/deploy.md, "What you need"). `npm run deploy` runs it first, with its
 * own arguments.
 *
 * Exit code 1 only when a finding will make the deploy fail (an unbootstrapped Region, a refused
 * CloudFront); what only throttles, may fail, or could not be checked is printed, exit code 0.
 * Exit code 2: arguments or context the stack cannot be built with.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { type StageConfig, stageConfigFrom } from './config.ts';
import {
  type AccountReadings,
  assess,
  exitCodeOf,
  type Finding,
  type StackNeeds,
  stackNeeds,
} from './preflight/findings.ts';
import { readAccount, resolveRegion } from './preflight/read-account.ts';

const ROOT = join(import.meta.dirname, '..');
const QUALIFIER_KEY = '@aws-cdk/core:bootstrapQualifier';

/** An argument or a context the stack cannot be built with: one line on stderr, exit code 2. */
class UsageError extends Error {}

interface Arguments {
  readonly context: Record<string, string>;
  readonly json: boolean;
  readonly profile?: string;
}

/**
 * The arguments `cdk deploy` was given that matter here (`-c`/`--context key=value`, `--profile`),
 * and `--json`; the rest (stack names, `--require-approval`, ...) are `cdk deploy`'s and ignored.
 */
function parseArguments(argv: readonly string[]): Arguments {
  const context: Record<string, string> = {};
  let json = false;
  let profile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (flag === '-c' || flag === '--context') {
      const pair = value();
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`${flag} takes key=value, got ${JSON.stringify(pair)}`);
      context[pair.slice(0, at)] = pair.slice(at + 1);
    } else if (flag === '--profile') profile = value();
    else if (flag === '--json') json = true;
  }
  return { context, json, ...(profile && { profile }) };
}

/** The context `cdk deploy` would synthesize with: `cdk.json`'s, `cdk.context.json`'s, then the command line's. */
function contextOf(commandLine: Record<string, string>): Record<string, unknown> {
  const file = (name: string) => {
    const path = join(ROOT, name);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  };
  return {
    ...((file('cdk.json').context as Record<string, unknown>) ?? {}),
    ...file('cdk.context.json'),
    ...commandLine,
  };
}

/**
 * The bootstrap version this aws-cdk-lib's synthesizer requires, read from the manifest of an empty
 * stack it synthesizes (offline, in a temporary folder): what `cdk deploy` will check.
 */
function bootstrapRequirement(context: Record<string, unknown>): StackNeeds['bootstrap'] {
  const outdir = mkdtempSync(join(tmpdir(), 'wcs-hooks-preflight-'));
  try {
    const qualifier = context[QUALIFIER_KEY];
    const app = new App({ outdir, context: qualifier === undefined ? {} : { [QUALIFIER_KEY]: qualifier } });
    // One resource: CloudFormation's rules (on in cdk.json) refuse a template without any.
    new CfnWaitConditionHandle(new Stack(app, 'BootstrapProbe'), 'Probe');
    const artifact = app.synth().getStackByName('BootstrapProbe');
    return {
      required: artifact.requiresBootstrapStackVersion ?? 6,
      ...(artifact.lookupRole?.requiresBootstrapStackVersion !== undefined && {
        lookupRole: artifact.lookupRole.requiresBootstrapStackVersion,
      }),
      parameter: artifact.bootstrapStackVersionSsmParameter ?? '/cdk-bootstrap/hnb659fds/version',
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const LABELS: Record<Finding['outcome'], string> = {
  fails: 'FAILS',
  'may fail': 'MAY FAIL',
  throttled: 'THROTTLED',
  ok: 'ok',
  'not checked': 'NOT CHECKED',
};

function render(stackName: string, region: string, findings: readonly Finding[]): string {
  const width = Math.max(...Object.values(LABELS).map((label) => label.length)) + 2;
  const indent = ' '.repeat(width + 2);
  const lines = [`wcs-hooks preflight: ${stackName} in ${region}, with the caller's credentials`];
  for (const finding of findings) {
    lines.push(`  ${LABELS[finding.outcome].padEnd(width)}${finding.check}: ${finding.what}`);
    if (finding.why) lines.push(`${indent}why: ${finding.why}`);
    if (finding.fix) lines.push(`${indent}fix: ${finding.fix}`);
  }
  const failing = findings.filter((finding) => finding.outcome === 'fails').length;
  lines.push(
    failing > 0
      ? `${failing} finding(s) will make the deploy fail: fix them before cdk deploy.`
      : 'Nothing found that will make the deploy fail.',
  );
  return `${lines.join('\n')}\n`;
}

/** Readings that are all "not checked", for `reason`. */
function noneChecked(region: string, reason: string): AccountReadings {
  const notChecked = { notChecked: reason };
  return {
    region,
    lambda: notChecked,
    apiGatewayAccount: notChecked,
    apiGatewayRateQuota: notChecked,
    cloudFront: notChecked,
    bootstrapVersion: notChecked,
    hooks: notChecked,
  };
}

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  if (args.profile) process.env.AWS_PROFILE = args.profile;
  const context = contextOf(args.context);
  let config: StageConfig;
  try {
    config = stageConfigFrom(new App({ context }).node);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const needs = stackNeeds(config, bootstrapRequirement(context));
  const region = await resolveRegion();
  const readings =
    'value' in region
      ? await readAccount(region.value, needs.bootstrap.parameter)
      : noneChecked('(no Region)', region.notChecked);
  const findings = assess(readings, needs);
  const stackName = `wcs-hooks-${config.stage}`;
  process.stdout.write(
    args.json
      ? `${JSON.stringify({ stack: stackName, region: readings.region, findings }, null, 2)}\n`
      : render(stackName, readings.region, findings),
  );
  return exitCodeOf(findings);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`preflight: ${(error as Error).message}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
