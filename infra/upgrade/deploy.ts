/**
 * `npm run deploy [-- <cdk deploy options>]`: `cdk deploy`, one global index per table at most. It
 * reads the deployed stack's template (CloudFormation GetTemplate with the caller's credentials, or
 * `--deployed-template <file>`), passes its tables' indexes as context `deployedIndexes`, so the
 * stack makes one index change per table (`./indexes.ts`), and after the deploy says which changes
 * are left: run it again until it says none. A stack not deployed yet is deployed whole.
 * docs/deploy.md, "Upgrading".
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import type { Template } from './compare.ts';
import { INDEX_CHANGES_LEFT, indexesOfTemplate } from './indexes.ts';

/** The value of option `names` (`-c`, `--context`: `key=value`) for `key`, the last given. */
function contextValue(args: readonly string[], key: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    const pair = arg === '-c' || arg === '--context' ? args[i + 1] : arg.match(/^--context=(.*)$/)?.[1];
    if (pair?.startsWith(`${key}=`)) value = pair.slice(key.length + 1);
  });
  return value;
}

/** The value of option `-o`/`--output` or `--deployed-template` style options, if given. */
function optionValue(args: readonly string[], names: readonly string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (names.includes(arg)) return args[i + 1];
    const inline = names
      .map((name) => arg.startsWith(`${name}=`) && arg.slice(name.length + 1))
      .find(Boolean);
    if (inline) return inline;
  }
  return undefined;
}

/** `args` without option `name` and its value. */
function without(args: readonly string[], name: string): string[] {
  return args.filter((arg, i) => arg !== name && args[i - 1] !== name && !arg.startsWith(`${name}=`));
}

/** The project's `cdk.json`, for the defaults the CLI would take from it. */
function cdkJson(dir: string): { context?: Record<string, unknown>; output?: string } {
  return JSON.parse(readFileSync(join(dir, 'cdk.json'), 'utf8'));
}

/** The stack `cdk deploy` deploys with `args`: `wcs-hooks-<stage>`, the stage from `-c` or `cdk.json`. */
export function stackNameOf(args: readonly string[], dir = process.cwd()): string {
  return `wcs-hooks-${contextValue(args, 'stage') ?? cdkJson(dir).context?.stage ?? 'dev'}`;
}

/**
 * The deployed template of `stackName` (as it was submitted), or undefined when there is no such
 * stack: its first deploy. Any other failure (credentials, network) is thrown: deploying without
 * knowing the deployed indexes could ask for several at once.
 */
export async function readDeployedTemplate(
  stackName: string,
  client = new CloudFormationClient({}),
): Promise<Template | undefined> {
  try {
    const answer = await client.send(
      new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }),
    );
    return JSON.parse(answer.TemplateBody ?? '{}') as Template;
  } catch (error) {
    const { name, message } = error as Error;
    if (name === 'ValidationError' && /does not exist/.test(message)) return undefined;
    if (name === 'AccessDenied' || /not authorized/.test(message))
      throw new Error(
        `npm run deploy reads ${stackName}'s deployed template: allow these credentials cloudformation:GetTemplate on the stack, or save it with credentials that may (aws cloudformation get-template --stack-name ${stackName} --query TemplateBody --output json > deployed.json) and pass --deployed-template deployed.json (${message})`,
        { cause: error },
      );
    throw error;
  }
}

/**
 * The template saved in `file`: the template itself, or the whole answer of
 * `aws cloudformation get-template` (`{"TemplateBody": ...}`, the body an object or JSON text).
 */
export function templateInFile(file: string): Template {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Template & { TemplateBody?: unknown };
  if (saved.TemplateBody === undefined) return saved;
  return (
    typeof saved.TemplateBody === 'string' ? JSON.parse(saved.TemplateBody) : saved.TemplateBody
  ) as Template;
}

/** The arguments of `cdk deploy`: the caller's, with the deployed tables' indexes as context. */
export function cdkDeployArguments(args: readonly string[], deployed: Template | undefined): string[] {
  const own = without(args, '--deployed-template');
  if (!deployed) return ['deploy', ...own];
  return ['deploy', ...own, '--context', `deployedIndexes=${JSON.stringify(indexesOfTemplate(deployed))}`];
}

/** The index changes the synthesized template leaves for later deploys (its tables' metadata). */
export function indexChangesLeft(template: Template): string[] {
  return Object.values(template.Resources ?? {}).flatMap(
    (resource) => (resource.Metadata?.[INDEX_CHANGES_LEFT] as string[] | undefined) ?? [],
  );
}

/** Runs `cdk` with `args`, its output the caller's; resolves with its exit code. */
function runCdk(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('cdk', args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export interface DeployOptions {
  readonly dir?: string;
  readonly readDeployed?: (stackName: string) => Promise<Template | undefined>;
  readonly cdk?: (args: readonly string[]) => Promise<number>;
  readonly say?: (line: string) => void;
}

/** One `npm run deploy`: resolves with the exit code, after saying what is left. */
export async function deploy(args: readonly string[], options: DeployOptions = {}): Promise<number> {
  const dir = options.dir ?? process.cwd();
  const say = options.say ?? ((line: string) => console.log(line));
  const stackName = stackNameOf(args, dir);
  const file = optionValue(args, ['--deployed-template']);
  const deployed = file
    ? templateInFile(file)
    : await (options.readDeployed ?? readDeployedTemplate)(stackName);
  say(
    deployed
      ? `${stackName}: deployed; this deploy changes one global index per table at most`
      : `${stackName}: not deployed yet; this deploy creates it whole`,
  );
  const code = await (options.cdk ?? runCdk)(cdkDeployArguments(args, deployed));
  if (code !== 0) return code;
  const out = resolve(dir, optionValue(args, ['-o', '--output']) ?? cdkJson(dir).output ?? 'cdk.out');
  const synthesized = join(out, `${stackName}.template.json`);
  if (!existsSync(synthesized)) return code;
  const left = indexChangesLeft(JSON.parse(readFileSync(synthesized, 'utf8')));
  say(
    left.length === 0
      ? `${stackName}: every table has its indexes; nothing left to deploy`
      : `${stackName}: ${left.length} index change(s) left (${left.join(', ')}): run \`npm run deploy\` again (with the same options) until none is left`,
  );
  return code;
}

if (import.meta.main) process.exitCode = await deploy(process.argv.slice(2));
