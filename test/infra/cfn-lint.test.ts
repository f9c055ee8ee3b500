/**
 * The template `cdk deploy` would send, checked by cfn-lint (AWS's CloudFormation linter, against
 * CloudFormation's own resource schemas): synthesized for a concrete account and region, it must
 * show no error (warnings are allowed). cfn-lint comes from PyPI; where it is not installed the test
 * is reported skipped, not passed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { buildApp } from '../../infra/build-app.ts';

const installed = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

const VPC = {
  vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
  vpcSecurityGroupIds: 'sg-0123456789abcdef0',
};

describe('the synthesized template', () => {
  (installed ? it.each : it.skip.each)([
    ['outside any VPC', {}],
    ['with the functions that call WCS nodes in the team’s VPC, through NAT', VPC],
    [
      'in the team’s VPC, through the VPC endpoints it makes',
      {
        ...VPC,
        vpcEgress: 'endpoints',
        vpcId: 'vpc-0123456789abcdef0',
        vpcRouteTableIds: 'rtb-0123456789abcdef0',
      },
    ],
  ])(
    'has no cfn-lint error, for a production stage in a concrete account, %s',
    (_case, context) => {
      const outdir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
      const { app, stack } = buildApp(
        { outdir, context: { 'aws:cdk:bundling-stacks': [], stage: 'prod', ...context } },
        { account: '111111111111', region: 'eu-west-1' },
      );
      app.synth();
      const template = readFileSync(join(outdir, stack.templateFile), 'utf8');
      // The template linted is the topology's: functions in the VPC, and the endpoints, when asked.
      expect(template.includes('"VpcConfig"')).toBe('vpcSubnetIds' in context);
      expect(template.includes('AWS::EC2::VPCEndpoint')).toBe('vpcEgress' in context);

      // The nested stacks' templates too (Analytics: SQL over the history).
      const templates = readdirSync(outdir).filter((file) => file.endsWith('.template.json'));
      expect(templates.length).toBeGreaterThan(1);
      const result = spawnSync(
        'cfn-lint',
        ['--format', 'parseable', ...templates.map((f) => join(outdir, f))],
        {
          encoding: 'utf8',
        },
      );

      // cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
      const errors = result.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
      expect(errors).toEqual([]);
      expect(result.status !== null && (result.status & 2) === 0 && result.status < 16).toBe(true);
    },
    120_000,
  );
});
