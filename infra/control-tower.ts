/**
 * AWS Control Tower's proactive controls (the CloudFormation Guard rules bundled with
 * `@cdklabs/cdk-validator-cfnguard`) as a synthesis check: a finding fails synthesis unless it is
 * acknowledged, with its reason, at or above the construct that has it
 * (`Validations.of(scope).acknowledge({ id: controlTower('<rule>'), reason })`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
} from 'aws-cdk-lib';

/** The id under which a control's rule is acknowledged, e.g. `controlTower('sqs_dlq_check')`. */
export function controlTower(rule: string) {
  return `cdk-validator-cfnguard::${rule}`;
}

const CONTROLS = join(
  dirname(createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard/package.json')),
  'rules',
  'control-tower',
);

/** Every bundled control: its rule file and the resource types it evaluates (from its metadata). */
function catalogue() {
  const rules = join(CONTROLS, 'cfn-guard');
  return readdirSync(rules, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.guard'))
    .map((file) => {
      const metadata = join(CONTROLS, 'metadata', file.replace(/\.guard$/, '.metadata.json'));
      const { EvaluatedResourceTypes } = JSON.parse(readFileSync(metadata, 'utf8')) as {
        EvaluatedResourceTypes: string[];
      };
      return { path: join(rules, file), types: EvaluatedResourceTypes };
    });
}

function resourceTypes(templatePaths: string[]) {
  const types = new Set<string>();
  for (const path of templatePaths) {
    const { Resources = {} } = JSON.parse(readFileSync(path, 'utf8')) as {
      Resources?: Record<string, { Type: string }>;
    };
    for (const { Type } of Object.values(Resources)) types.add(Type);
  }
  return types;
}

/**
 * The validator, with two corrections, hand-written because neither package makes them:
 * - it runs the controls that evaluate a resource type the templates have, not all 237 (which takes
 *   cfn-guard 7 s a synthesis instead of a fraction of one): a control only ever evaluates its own
 *   types, so the findings are the same;
 * - every finding is an error. The plugin leaves a finding's severity unset, and the CDK (2.276)
 *   then re-judges a report in which anything was acknowledged as passing
 *   (`violations.every(v => v.severity !== 'error')`): one acknowledgement would let every other
 *   finding through.
 */
export class ControlTowerChecks implements IPolicyValidationPlugin {
  private readonly controls = catalogue();
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor() {
    const all = new CfnGuardValidator();
    this.name = all.name;
    this.version = all.version;
    this.ruleIds = all.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const types = resourceTypes(context.templatePaths);
    const rules = this.controls.filter((control) => control.types.some((type) => types.has(type)));
    if (rules.length === 0) return { success: true, violations: [] };
    const guard = new CfnGuardValidator({
      controlTowerRulesEnabled: false,
      rules: rules.map((rule) => rule.path),
    });
    const report = guard.validate(context);
    return {
      ...report,
      violations: report.violations.map((violation) => ({
        ...violation,
        severity: violation.severity ?? 'error',
      })),
    };
  }
}
