/**
 * `apps` → `config`: the app policies a stack from before the configuration store kept in its own
 * `apps` table, copied into the configuration store where `apps.ts` reads them. Without it an
 * upgraded stack forgets every policy, and each app falls back to `DEFAULT_APP_POLICY` (a `token`
 * or `closed` app opened). Run by `npm run cli -- migrate apps-to-config` (docs/deploy.md,
 * "Upgrading").
 *
 * The old table: partition key `kind` (always `app`), sort key `appKey`, each item
 * `{kind, appKey, policy, updatedAt}` with `policy` the fields of `app-policy.ts`. It is only read.
 */
import { queryAll } from '../store/dynamo.ts';
import { appPolicySchema, createAppPolicy, findAppPolicy } from './apps.ts';

/** What a migration did, or, with `dryRun`, would do: each app key copied, and each one skipped and why. */
export interface AppsMigration {
  readonly from: string;
  readonly dryRun: boolean;
  readonly copied: string[];
  readonly skipped: { appKey: string; reason: string }[];
}

/** A policy's fields in one order, to compare two policies. */
const canonical = (policy: object) =>
  JSON.stringify(Object.entries(policy).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Copies each app policy of the old `apps` table `from` into the configuration store. Idempotent:
 * an app the store already has a policy for is skipped (the same policy: already copied; another:
 * set since with `apps put`, and kept), as is a policy the current schema refuses (named, with why).
 * With `dryRun`, says what it would copy and writes nothing.
 */
export async function migrateAppsToConfig(
  from: string,
  options: { dryRun?: boolean } = {},
): Promise<AppsMigration> {
  const dryRun = options.dryRun ?? false;
  const migration: AppsMigration = { from, dryRun, copied: [], skipped: [] };
  const items = await queryAll({
    TableName: from,
    KeyConditionExpression: 'kind = :kind',
    ExpressionAttributeValues: { ':kind': 'app' },
    ConsistentRead: true,
  });
  for (const item of items) {
    const appKey = String(item.appKey);
    const parsed = appPolicySchema.safeParse(item.policy);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`);
      migration.skipped.push({ appKey, reason: `not a valid policy: ${problems.join('; ')}` });
      continue;
    }
    const existing = await findAppPolicy(appKey);
    if (existing) {
      const { appKey: _, ...fields } = existing;
      const same = canonical(fields) === canonical(parsed.data);
      migration.skipped.push({
        appKey,
        reason: same
          ? 'already in config'
          : 'config has another policy for it (kept: set since with apps put?)',
      });
      continue;
    }
    if (!dryRun && !(await createAppPolicy(appKey, parsed.data))) {
      migration.skipped.push({ appKey, reason: 'config got a policy for it meanwhile (kept)' });
      continue;
    }
    migration.copied.push(appKey);
  }
  return migration;
}
