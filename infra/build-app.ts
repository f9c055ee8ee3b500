/**
 * Builds the CDK app with the checks that cannot be skipped: cdk-nag's AwsSolutions pack as a
 * validation plugin (any finding not acknowledged with a reason fails synthesis) and, through
 * `cdk.json`'s `@aws-cdk/core:validateAgainstDefaultRules`, CloudFormation's own rules.
 * `infra/app.ts` (the CLI) and the infrastructure tests both build the app here.
 */
import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfigFrom } from './config.ts';
import { WcsHooksStack } from './stacks/wcs-hooks-stack.ts';

export function buildApp(props: AppProps = {}) {
  const app = new App(props);
  const config = stageConfigFrom(app.node);
  const stack = new WcsHooksStack(app, `wcs-hooks-${config.stage}`, {
    config,
    description: `wcs-hooks (${config.stage}): Flashphoner WCS REST hook backend`,
    ...(process.env.CDK_DEFAULT_ACCOUNT && {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    }),
  });
  Tags.of(stack).add('app', 'wcs-hooks');
  Tags.of(stack).add('stage', config.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, config };
}
