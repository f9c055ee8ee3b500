/**
 * cdk-nag names a finding's resource as the template has it: with a concrete account and region
 * (what `cdk deploy` synthesizes) the partition, region and account are literals, otherwise
 * placeholders (`<AWS::Region>`). An acknowledgement must be written the same way, or it holds for
 * one synthesis only.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The partition, region and account of `scope`'s stack, as cdk-nag shows them. */
export function nagPseudo(scope: IConstruct) {
  const stack = Stack.of(scope);
  const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
  return {
    partition: shown(stack.partition, 'AWS::Partition'),
    region: shown(stack.region, 'AWS::Region'),
    account: shown(stack.account, 'AWS::AccountId'),
  };
}
