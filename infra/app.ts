/**
 * The CDK app: `npm run synth | diff | deploy`. Configuration comes from CDK context (`cdk.json`,
 * `-c stage=prod`); see `infra/config.ts` and docs/deploy.md.
 */
import { buildApp } from './build-app.ts';

buildApp();
