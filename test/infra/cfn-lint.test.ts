/**
 * The template `cdk deploy` would send, checked by cfn-lint (AWS's CloudFormation linter, against
 * CloudFormation's own resource schemas): synthesized for a concrete account and region, it must
 * show no error (warnings are allowed). cfn-lint comes from PyPI; where it is not installed the test
 * is reported skipped, not passed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { buildApp } from '../../infra/build-app.ts';

const installed = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

describe('the synthesized template', () => {
  (installed ? it : it.skip)(
    'has no cfn-lint error, for a production stage in a concrete account',
    () => {
      const outdir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
      const { app, stack } = buildApp(
        { outdir, context: { 'aws:cdk:bundling-stacks': [], stage: 'prod' } },
        { account: '111111111111', region: 'eu-west-1' },
      );
      app.synth();

      const result = spawnSync('cfn-lint', ['--format', 'parseable', join(outdir, stack.templateFile)], {
        encoding: 'utf8',
      });

      // cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
      const errors = result.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
      expect(errors).toEqual([]);
      expect(result.status !== null && (result.status & 2) === 0 && result.status < 16).toBe(true);
    },
    120_000,
  );
});
