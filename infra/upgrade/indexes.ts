/**
 * Global secondary indexes, one change per table per deploy. DynamoDB creates or deletes one global
 * index per table update, and CloudFormation fails an update of a table that asks for more; a stack
 * whose tables gained or lost several indexes since the deployed version therefore goes there in
 * steps. `npm run deploy` passes the deployed tables' indexes (context `deployedIndexes`, read from
 * the deployed template by `indexesOfTemplate`); the stack builds each table with `nextIndexStep`:
 * the deployed indexes plus one creation, or minus one deletion. docs/deploy.md, "Upgrading".
 */
import type { IndexDefinition, KeyAttribute } from '#shared/store/tables.ts';

/** What CloudFormation knows of an index: its name, keys and projection. */
export type IndexShape = Pick<IndexDefinition, 'indexName' | 'projection'> & {
  readonly partitionKey: Pick<KeyAttribute, 'name' | 'type'>;
  readonly sortKey?: Pick<KeyAttribute, 'name' | 'type'>;
};

/** The deployed global indexes of each table, by the table's logical id. */
export type DeployedIndexes = Readonly<Record<string, readonly IndexShape[]>>;

/** A change of one index of one table. */
export interface IndexChange {
  readonly kind: 'create' | 'delete';
  readonly indexName: string;
}

/** The indexes one deploy gives a table, and what is left for the deploys after it. */
export interface IndexStep<T extends IndexShape> {
  readonly indexes: readonly (T | IndexShape)[];
  /** The change this deploy makes; none when the deployed indexes are already the wanted ones. */
  readonly change?: IndexChange;
  /** The changes left after this deploy, in the order the next deploys make them. */
  readonly left: readonly IndexChange[];
}

/** Template metadata on a table: the index changes left after this deploy (`npm run deploy` says them). */
export const INDEX_CHANGES_LEFT = 'wcs-hooks:indexChangesLeft';

export const TABLE_TYPES = ['AWS::DynamoDB::GlobalTable', 'AWS::DynamoDB::Table'];

type CfnKey = { AttributeName: string; KeyType: 'HASH' | 'RANGE' };
type CfnIndex = {
  IndexName: string;
  KeySchema: CfnKey[];
  Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] };
};
type CfnResource = { Type: string; Properties?: Record<string, unknown> };

/** The global indexes of every DynamoDB table of a CloudFormation template, by logical id. */
export function indexesOfTemplate(template: { Resources?: Record<string, CfnResource> }): DeployedIndexes {
  const tables = Object.entries(template.Resources ?? {}).filter(([, r]) => TABLE_TYPES.includes(r.Type));
  return Object.fromEntries(
    tables.map(([id, table]) => {
      const props = table.Properties ?? {};
      const types = new Map(
        ((props.AttributeDefinitions ?? []) as { AttributeName: string; AttributeType: 'S' | 'N' }[]).map(
          (a) => [a.AttributeName, a.AttributeType],
        ),
      );
      const key = (schema: CfnKey[], type: CfnKey['KeyType']) => {
        const name = schema.find((k) => k.KeyType === type)?.AttributeName;
        return name === undefined ? undefined : { name, type: types.get(name) ?? 'S' };
      };
      const indexes = ((props.GlobalSecondaryIndexes ?? []) as CfnIndex[]).map((index): IndexShape => {
        const sortKey = key(index.KeySchema, 'RANGE');
        const projection = index.Projection?.ProjectionType ?? 'KEYS_ONLY';
        return {
          indexName: index.IndexName,
          partitionKey: key(index.KeySchema, 'HASH') ?? { name: '', type: 'S' },
          ...(sortKey && { sortKey }),
          projection:
            projection === 'INCLUDE'
              ? [...(index.Projection?.NonKeyAttributes ?? [])]
              : (projection as 'ALL'),
        };
      });
      return [id, indexes];
    }),
  );
}

const keyText = (key?: Pick<KeyAttribute, 'name' | 'type'>) => (key ? `${key.name}:${key.type}` : '');
const projectionText = (p: IndexShape['projection']) => (typeof p === 'string' ? p : [...p].sort().join(','));

/** Whether two indexes are the same to DynamoDB: name, key schema, key types and projection. */
export function sameIndex(a: IndexShape, b: IndexShape): boolean {
  return (
    a.indexName === b.indexName &&
    keyText(a.partitionKey) === keyText(b.partitionKey) &&
    keyText(a.sortKey) === keyText(b.sortKey) &&
    projectionText(a.projection) === projectionText(b.projection)
  );
}

/**
 * Every change from `from` to `to`, creations first (new code reads the new indexes), then deletions.
 * An index kept by name with other keys or projection is a deletion, then a creation: DynamoDB cannot
 * change an index in place.
 */
export function indexChanges(from: readonly IndexShape[], to: readonly IndexShape[]): IndexChange[] {
  const creations = to
    .filter((wanted) => !from.some((had) => had.indexName === wanted.indexName))
    .map((index) => ({ kind: 'create' as const, indexName: index.indexName }));
  const changed = to.filter((wanted) =>
    from.some((had) => had.indexName === wanted.indexName && !sameIndex(had, wanted)),
  );
  const deletions = from
    .filter((had) => !to.some((wanted) => sameIndex(had, wanted)))
    .map((index) => ({ kind: 'delete' as const, indexName: index.indexName }));
  const recreations = changed.map((index) => ({ kind: 'create' as const, indexName: index.indexName }));
  return [...creations, ...deletions, ...recreations];
}

/**
 * The indexes the next deploy gives a table that has `deployed` and should have `wanted`: the
 * deployed ones with the first change of `indexChanges` made. The wanted definitions are used where
 * they match, the deployed ones where an index is yet to go, so a step changes nothing else.
 */
export function nextIndexStep<T extends IndexShape>(
  deployed: readonly IndexShape[],
  wanted: readonly T[],
): IndexStep<T> {
  const [change, ...left] = indexChanges(deployed, wanted);
  if (!change) return { indexes: wanted, left: [] };
  const kept = (index: IndexShape) => !(change.kind === 'delete' && index.indexName === change.indexName);
  const indexes = [
    ...wanted.filter(
      (index) =>
        (change.kind === 'create' && index.indexName === change.indexName) ||
        deployed.some((had) => sameIndex(had, index)),
    ),
    ...deployed.filter((had) => kept(had) && !wanted.some((index) => sameIndex(had, index))),
  ];
  return { indexes, change, left };
}

/** `create streams.byDay`: a change, said with its table. */
export const describeChange = (table: string, change: IndexChange) =>
  `${change.kind} ${table}.${change.indexName}`;
