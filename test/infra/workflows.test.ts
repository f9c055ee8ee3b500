/**
 * The GitHub Actions pipeline teams copy (`.github/workflows`): each workflow is valid against
 * GitHub's workflow schema (action-validator), runs only npm scripts that exist, calls workflows
 * that exist, and reads only the settings docs/deploy.md tells teams to create.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import actionValidator from '@action-validator/core';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(import.meta.dirname, '..', '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const files = readdirSync(WORKFLOWS).filter((file) => file.endsWith('.yml'));
const source = (file: string) => readFileSync(join(WORKFLOWS, file), 'utf8');
const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts);
const deployDoc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');

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

  it('reads only settings the deploy guide names', () => {
    const variables = files.flatMap((file) => [...source(file).matchAll(/vars\.(\w+)/g)].map((m) => m[1]));
    expect(new Set(variables)).toEqual(new Set(['AWS_ROLE_ARN', 'AWS_REGION']));
    for (const variable of variables) expect(deployDoc).toContain(`\`${variable}\``);
    expect(deployDoc).toContain('.github/workflows/deploy.yml');
  });
});
