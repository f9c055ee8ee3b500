/**
 * Builds the CDK app with the checks that cannot be skipped: cdk-nag's AwsSolutions pack and AWS
 * Control Tower's proactive controls as validation plugins (any finding not acknowledged with a
 * reason fails synthesis) and, through
 * `cdk.json`'s `@aws-cdk/core:validateAgainstDefaultRules`, CloudFormation's own rules.
 * `infra/app.ts` (the CLI) and the infrastructure tests both build the app here.
 */

import { readFileSync } from 'node:fs';
import { App, type AppProps, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfigFrom } from './config.ts';
import { ControlTowerChecks } from './control-tower.ts';
import { WcsHooksStack } from './stacks/wcs-hooks-stack.ts';

/**
 * The environment to synthesize for: the one given, or the one `cdk deploy` resolves (the CLI sets
 * `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION` from the credentials it has), or none (a template for
 * any account, as `cdk synth` without credentials makes).
 */
function environmentOf(env: Environment | undefined): Environment | undefined {
  if (env) return env;
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  return account ? { account, region: process.env.CDK_DEFAULT_REGION } : undefined;
}

/**
 * The context `cdk deploy` gives the app from `cdk.json`: its feature flags change templates (a
 * partition literal, the log group of a custom resource's provider, how policies are merged), so
 * every synthesis here starts from them, as the CLI's does; an `App` by itself has none.
 */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')).context ?? {};
}

/**
 * The app, with `cdk.json`'s context under `props.context` (which overrides it); under the CDK CLI,
 * the CLI's context (`cdk.json` and `-c`) overrides both, as it always does.
 */
export function buildApp(props: AppProps = {}, env?: Environment) {
  const app = new App({ ...props, context: { ...cdkJsonContext(), ...props.context } });
  const config = stageConfigFrom(app.node);
  const resolvedEnv = environmentOf(env);
  const stack = new WcsHooksStack(app, `wcs-hooks-${config.stage}`, {
    config,
    description: `wcs-hooks (${config.stage}): Flashphoner WCS REST hook backend`,
    ...(resolvedEnv && { env: resolvedEnv }),
  });
  // Not on the dashboard: the CDK's spec has Tags there, cfn-lint's (and so, perhaps, a region's
  // CloudFormation) does not, and a tag on a dashboard is not worth a failed deployment.
  const untagged = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
  Tags.of(stack).add('app', 'wcs-hooks', untagged);
  Tags.of(stack).add('stage', config.stage, untagged);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ControlTowerChecks());
  return { app, stack, config };
}
