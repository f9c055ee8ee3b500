import { Annotations, type CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  StreamViewType,
  TableV2,
  type WarmThroughput,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { TableName } from '#shared/kernel/registry.ts';
import { type IndexDefinition, type KeyAttribute, TABLES } from '#shared/store/tables.ts';
import {
  type DeployedIndexes,
  describeChange,
  INDEX_CHANGES_LEFT,
  type IndexShape,
  nextIndexStep,
} from '../upgrade/indexes.ts';

export interface StateTablesProps {
  /** Deletion protection on, and the tables kept when the stack is deleted. Default false. */
  readonly retainData?: boolean;
  /**
   * Throughput every table and each of its global secondary indexes can take at once from its
   * creation (a launch-day surge): an index has throughput of its own, and a write to the table is
   * also a write to each index it projects into. Local indexes share their table's. Default: none.
   */
  readonly warmThroughput?: WarmThroughput;
  /**
   * The global indexes of the deployed tables, by logical id (`npm run deploy` reads them from the
   * deployed stack). Each table then gets one index created or deleted at most, the step towards its
   * definition (`infra/upgrade/indexes.ts`). Default: none known, every table gets all its indexes
   * (a first deploy).
   */
  readonly deployedIndexes?: DeployedIndexes;
}

const attribute = (key: Pick<KeyAttribute, 'name' | 'type'>) => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

function projection(index: Pick<IndexDefinition, 'projection'>) {
  if (index.projection === 'KEYS_ONLY') return { projectionType: ProjectionType.KEYS_ONLY };
  if (index.projection === 'ALL') return { projectionType: ProjectionType.ALL };
  return { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] };
}

/**
 * The state tables, built from the definitions the local runtime uses (`shared/store/tables.ts`):
 * on-demand, point-in-time recovery, TTL on the expiry attribute, streams on for the realtime API.
 * Stateful, so kept apart from the functions; construct ids are the table names and must not change
 * (renaming one replaces the table).
 */
export class StateTables extends Construct {
  readonly tables: Readonly<Record<TableName, TableV2>>;

  constructor(scope: Construct, id: string, props: StateTablesProps = {}) {
    super(scope, id);
    const retain = props.retainData ?? false;
    const entries = Object.values(TABLES).map((definition) => {
      const table = new TableV2(this, definition.name, {
        partitionKey: attribute(definition.partitionKey),
        ...(definition.sortKey && { sortKey: attribute(definition.sortKey) }),
        billing: Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: definition.timeToLiveAttribute,
        dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
        deletionProtection: retain,
        ...(props.warmThroughput && { warmThroughput: props.warmThroughput }),
        removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        localSecondaryIndexes: definition.localIndexes.map((index) => ({
          indexName: index.indexName,
          // A local index shares the table's partition key; only its sort key is its own.
          sortKey: attribute(index.sortKey as KeyAttribute),
          ...projection(index),
        })),
      });
      this.addGlobalIndexes(table, definition.name, definition.globalIndexes, props);
      return [definition.name, table] as const;
    });
    this.tables = Object.fromEntries(entries) as Record<TableName, TableV2>;
  }

  /** The table's global indexes: all of them, or with `deployed` known, the next step towards them. */
  private addGlobalIndexes(
    table: TableV2,
    name: TableName,
    wanted: readonly IndexDefinition[],
    { deployedIndexes: deployed, warmThroughput }: StateTablesProps,
  ): void {
    const resource = table.node.defaultChild as CfnResource;
    const had = deployed?.[Stack.of(this).getLogicalId(resource)];
    const step = had ? nextIndexStep<IndexShape>(had, wanted) : { indexes: wanted, left: [] };
    for (const index of step.indexes)
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey && { sortKey: attribute(index.sortKey) }),
        ...projection(index),
        ...(warmThroughput && { warmThroughput }),
      });
    if (step.left.length === 0) return;
    const left = step.left.map((change) => describeChange(name, change));
    resource.addMetadata(INDEX_CHANGES_LEFT, left);
    Annotations.of(table).addInfo(
      `${step.change && describeChange(name, step.change)} now; left for the next deploys, one each: ${left.join(', ')} (run \`npm run deploy\` again after this one)`,
    );
  }
}
