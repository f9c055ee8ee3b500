/**
 * The account's API Gateway CloudWatch Logs role (`infra/custom-resources/api-gateway-account.ts`):
 * which role the custom resource sets, given the account's setting. The calls to API Gateway and
 * IAM themselves only an AWS account can run.
 */
import { describe, expect, it } from '@jest/globals';
import { roleToSet } from '../../infra/custom-resources/api-gateway-account.ts';

const OURS = 'arn:aws:iam::111111111111:role/wcs-hooks-logs';

describe('the account logs role', () => {
  it('is set to ours in an account that has none', () => {
    expect(roleToSet({ exists: false }, OURS)).toBe(OURS);
  });

  it('is left as it is in an account whose role exists: another stack relies on it', () => {
    expect(roleToSet({ arn: 'arn:aws:iam::111111111111:role/theirs', exists: true }, OURS)).toBeUndefined();
  });

  it('is replaced by ours when the role the account names no longer exists', () => {
    expect(roleToSet({ arn: 'arn:aws:iam::111111111111:role/deleted', exists: false }, OURS)).toBe(OURS);
  });
});
