/**
 * What an upgrade from a released template to today's would do to data. A stateful resource whose
 * logical id is gone is deleted (a new id is a new resource: the old one goes with its data); one
 * whose replacing property changed is replaced (new and empty). Either is refused unless a known
 * migration moves its data (`MIGRATIONS`). A table's key schema may not change; its global indexes
 * may change by one per deploy (more is left to `npm run deploy`'s steps, `./indexes.ts`).
 * docs/deploy.md, "Upgrading".
 */
import { describeChange, indexChanges, indexesOfTemplate, TABLE_TYPES } from './indexes.ts';

/** The resource types that hold data, and the properties whose change replaces one of them. */
export const STATEFUL_TYPES: Readonly<Record<string, readonly string[]>> = {
  'AWS::DynamoDB::GlobalTable': ['TableName', 'KeySchema', 'LocalSecondaryIndexes'],
  'AWS::DynamoDB::Table': ['TableName', 'KeySchema', 'LocalSecondaryIndexes'],
  'AWS::SQS::Queue': ['QueueName', 'FifoQueue'],
  'AWS::KMS::Key': ['KeySpec', 'KeyUsage', 'MultiRegion'],
  'AWS::S3::Bucket': ['BucketName', 'ObjectLockEnabled'],
  'AWS::Logs::LogGroup': ['LogGroupName', 'LogGroupClass'],
  'AWS::SecretsManager::Secret': ['Name'],
};

/** A change of where data lives that a command moves: the resource it empties, and the command. */
export interface Migration {
  /** The construct path (below the stack) of the resource the upgrade removes, e.g. `State/apps`. */
  readonly removes: string;
  readonly command: string;
  readonly docs: string;
}

/** Every known migration. A stateful resource removed without one fails the upgrade test. */
export const MIGRATIONS: readonly Migration[] = [
  {
    removes: 'State/apps',
    command: 'npm run cli -- --stack wcs-hooks-<stage> migrate apps-to-config --from <apps table>',
    docs: 'docs/deploy.md#from-a-stack-with-an-apps-table',
  },
];

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
export type Template = { Resources?: Record<string, Resource> };

/** The construct path below the stack (`State/apps`), from synthesis's path metadata, else the logical id. */
export function pathOf(id: string, resource: Resource): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  if (typeof path !== 'string') return id;
  return path
    .split('/')
    .slice(1)
    .filter((part, i, all) => !(i === all.length - 1 && part === 'Resource'))
    .join('/');
}

const json = (value: unknown) => JSON.stringify(value ?? null);

/** The key attributes of a table with their types: changing a key's type is a key schema change. */
function keysOf(table: Resource): string {
  const props = table.Properties ?? {};
  const types = new Map(
    ((props.AttributeDefinitions ?? []) as { AttributeName: string; AttributeType: string }[]).map((a) => [
      a.AttributeName,
      a.AttributeType,
    ]),
  );
  return ((props.KeySchema ?? []) as { AttributeName: string; KeyType: string }[])
    .map((k) => `${k.KeyType} ${k.AttributeName}:${types.get(k.AttributeName)}`)
    .join(', ');
}

/** What the upgrade from `released` to `current` does to data, in one deploy. */
export interface UpgradeFindings {
  /** Deletions and replacements of stateful resources, key schema changes: each loses data. */
  readonly losses: readonly string[];
  /** Tables whose indexes change by more than one: one deploy cannot; `npm run deploy` steps them. */
  readonly indexSteps: readonly string[];
  /** Stateful resources removed with a known migration: the migration to run. */
  readonly migrations: readonly string[];
}

/** Compares the stateful resources of a released template with today's. */
export function compareTemplates(
  released: Template,
  current: Template,
  migrations: readonly Migration[] = MIGRATIONS,
): UpgradeFindings {
  const losses: string[] = [];
  const indexSteps: string[] = [];
  const toMigrate: string[] = [];
  const now = current.Resources ?? {};
  const releasedIndexes = indexesOfTemplate(released);
  const currentIndexes = indexesOfTemplate(current);
  for (const [id, was] of Object.entries(released.Resources ?? {})) {
    const replacing = STATEFUL_TYPES[was.Type];
    if (!replacing) continue;
    const path = pathOf(id, was);
    const is = now[id];
    if (!is || is.Type !== was.Type) {
      const migration = migrations.find((m) => m.removes === path);
      if (migration) toMigrate.push(`${path} (${id}) is removed: ${migration.command} (${migration.docs})`);
      else
        losses.push(
          `${path} (${id}, ${was.Type}) is removed or replaced by another logical id: its data is lost`,
        );
      continue;
    }
    for (const property of replacing)
      if (json(was.Properties?.[property]) !== json(is.Properties?.[property]))
        losses.push(`${path} (${id}): ${property} changes, which replaces it: its data is lost`);
    if (!TABLE_TYPES.includes(was.Type)) continue;
    if (keysOf(was) !== keysOf(is))
      losses.push(`${path} (${id}): key schema ${keysOf(was)} becomes ${keysOf(is)}`);
    const changes = indexChanges(releasedIndexes[id] ?? [], currentIndexes[id] ?? []);
    if (changes.length > 1)
      indexSteps.push(
        `${path} (${id}): ${changes.length} index changes (${changes.map((c) => describeChange(path, c)).join(', ')}); one per deploy`,
      );
  }
  return { losses, indexSteps, migrations: toMigrate };
}
