/**
 * The GitHub Actions pipeline teams copy (`.github/workflows`): each workflow is valid against
 * GitHub's workflow schema (action-validator), runs only npm scripts that exist, calls workflows
 * that exist, grants every workflow it calls the permissions that workflow asks for (GitHub refuses
 * the whole run otherwise, before any job starts), and reads only the settings docs/deploy.md tells
 * teams to create.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import actionValidator from '@action-validator/core';
import { describe, expect, it } from '@jest/globals';
import { safeLoad } from 'js-yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const files = readdirSync(WORKFLOWS).filter((file) => file.endsWith('.yml'));
const source = (file: string) => readFileSync(join(WORKFLOWS, file), 'utf8');
const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts);
const deployDoc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');

/** A workflow as GitHub reads it, the parts that grant or ask for permissions. */
interface Workflow {
  permissions?: Permissions;
  jobs: Record<string, { uses?: string; permissions?: Permissions }>;
}
/** `read-all`, `write-all`, or scope by scope (a scope not named is `none`). */
type Permissions = string | Record<string, string>;

const LEVELS = ['none', 'read', 'write'];
/** Every scope `read-all` and `write-all` cover (GitHub's list for the `GITHUB_TOKEN`). */
const SCOPES = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
];

const parse = (text: string) => safeLoad(text) as Workflow;

/** Each scope's level, as a rank in {@link LEVELS}: what a `permissions` value grants. */
function ranks(permissions: Permissions): Map<string, number> {
  if (typeof permissions === 'string') {
    const level = { 'read-all': 'read', 'write-all': 'write' }[permissions];
    if (level === undefined) throw new Error(`unknown permissions ${permissions}`);
    return new Map(SCOPES.map((scope) => [scope, LEVELS.indexOf(level)]));
  }
  return new Map(Object.entries(permissions).map(([scope, level]) => [scope, LEVELS.indexOf(level)]));
}

/** The most any part of a called workflow asks for: its own `permissions` and each job's. */
function asked(called: Workflow): Map<string, number> {
  const needed = new Map<string, number>();
  const declared = [called.permissions, ...Object.values(called.jobs).map((job) => job.permissions)];
  for (const permissions of declared) {
    if (permissions === undefined) continue;
    for (const [scope, rank] of ranks(permissions)) needed.set(scope, Math.max(rank, needed.get(scope) ?? 0));
  }
  return needed;
}

/**
 * What each job that calls a reusable workflow lacks of what that workflow asks for, as
 * `job: scope needs level, granted level`. A called workflow can keep or reduce its caller's
 * permissions, never raise them; the caller's job grants its own `permissions`, else its
 * workflow's, else the repository's default, which a pipeline to copy cannot count on.
 */
function missingGrants(caller: Workflow, read: (file: string) => string): string[] {
  const missing: string[] = [];
  for (const [name, job] of Object.entries(caller.jobs)) {
    const called = job.uses?.match(/^\.\/\.github\/workflows\/([\w.-]+)$/)?.[1];
    if (called === undefined) continue;
    const permissions = job.permissions ?? caller.permissions;
    if (permissions === undefined) {
      missing.push(`${name}: grants no permissions of its own (the repository's default)`);
      continue;
    }
    const granted = ranks(permissions);
    for (const [scope, rank] of asked(parse(read(called)))) {
      const has = granted.get(scope) ?? 0;
      if (has < rank) missing.push(`${name}: ${scope} needs ${LEVELS[rank]}, granted ${LEVELS[has]}`);
    }
  }
  return missing;
}

describe('the deploy pipeline', () => {
  it('has a workflow that deploys and one per stage', () => {
    expect(files.sort()).toEqual(['deploy-stage.yml', 'deploy.yml']);
  });

  it.each(files)('%s is a valid GitHub Actions workflow', (file) => {
    expect(actionValidator.validateWorkflow(source(file)).errors).toEqual([]);
  });

  it('would show a workflow that is not valid', () => {
    const broken = source('deploy.yml').replace('runs-on:', 'runs_on:');
    expect(actionValidator.validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  it.each(files)('%s runs npm scripts that exist and calls workflows that exist', (file) => {
    const text = source(file);
    for (const [, script] of text.matchAll(/npm run ([\w:-]+)/g)) expect(scripts).toContain(script);
    for (const [, called] of text.matchAll(/uses: \.\/\.github\/workflows\/([\w.-]+)/g)) {
      expect(files).toContain(called);
    }
  });

  it.each(files)('%s grants every workflow it calls the permissions that workflow asks for', (file) => {
    expect(missingGrants(parse(source(file)), source)).toEqual([]);
  });

  it('would show a called workflow asking for more than its caller grants', () => {
    const caller = parse(source('deploy.yml'));
    const callers = Object.values(caller.jobs).filter((job) => job.uses !== undefined);
    expect(callers.length).toBeGreaterThan(0);
    for (const job of callers) job.permissions = { contents: 'read' };
    const stricter = (file: string) =>
      source(file).replace('id-token: write', 'id-token: write\n  pages: read');
    expect(missingGrants(caller, stricter)).toEqual(
      callers.flatMap(() => [
        expect.stringContaining('id-token needs write'),
        expect.stringContaining('pages'),
      ]),
    );
    expect(
      missingGrants({ jobs: { deploy: { uses: './.github/workflows/deploy-stage.yml' } } }, source),
    ).toEqual([expect.stringContaining('no permissions of its own')]);
  });

  it('reads only settings the deploy guide names', () => {
    const variables = files.flatMap((file) => [...source(file).matchAll(/vars\.(\w+)/g)].map((m) => m[1]));
    expect(new Set(variables)).toEqual(new Set(['AWS_ROLE_ARN', 'AWS_REGION']));
    for (const variable of variables) expect(deployDoc).toContain(`\`${variable}\``);
    expect(deployDoc).toContain('.github/workflows/deploy.yml');
  });
});
