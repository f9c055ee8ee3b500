/**
 * SQL over the history in AWS (docs/analytics.md): every day the tables the analytics views read are
 * exported to S3 (DynamoDB's export to S3, from point-in-time recovery: no read capacity used, a
 * consistent snapshot), a Glue database holds a raw table over each export and the views the saved
 * queries name, and an Athena workgroup (results encrypted, its settings enforced) holds the saved
 * queries themselves, from the same files as the local `sql` command's.
 *
 * A nested stack: its 30-odd resources count once against the stack's 500 (docs/deploy.md, "When
 * the stack grows"); the tables reach it as parameters.
 *
 * The export runs as a Step Functions workflow with AWS SDK integrations and no code of its own:
 * per table, start an export, wait for it, then point the raw Glue table at it (the export's data
 * lands under a new prefix each time, named by its id). Queries read the last completed export;
 * a failed export leaves the previous one in place and fails the run (alarmed).
 */
import {
  type CfnElement,
  CfnParameter,
  Duration,
  NestedStack,
  type NestedStackProps,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  JsonPath,
  LogLevel,
  Parallel,
  StateMachine,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { CallAwsService } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { SAVED_QUERIES } from '../analytics/saved-queries.ts';
import {
  type AnalyticsView,
  athenaViewSql,
  glueColumnsOf,
  rawItemType,
  rawTableOf,
  VIEWS,
  viewColumnsOf,
} from '../analytics/views.ts';
import { scheduleRunner } from './schedule-runner.ts';

/** The tables the views read. */
export type AnalyticsTables = Readonly<Record<AnalyticsView['table'], TableV2>>;

export interface AnalyticsProps extends NestedStackProps {
  readonly tables: AnalyticsTables;
  /** The Glue database's name (lower case, letters, digits and `_`): one per stack. */
  readonly databaseName: string;
  /** The Athena workgroup's name: one per stack and account. */
  readonly workGroupName: string;
  readonly logRetention: RetentionDays;
  /** Days an export, and an Athena result, are kept. Default 7. */
  readonly keepDays?: number;
}

/** Where the export of `table` is written in the bucket. */
export const exportPrefix = (table: string) => `exports/${table}`;
/** Where Athena writes query results in the bucket. */
export const RESULTS_PREFIX = 'athena-results/';

/** The raw table's definition; the workflow replaces its location after each export. */
function rawTableInput(view: AnalyticsView, location: string) {
  return {
    name: rawTableOf(view),
    description: `The latest export of the ${view.table} table (DynamoDB JSON), read by the ${view.name} view`,
    tableType: 'EXTERNAL_TABLE',
    parameters: { classification: 'json', compressionType: 'gzip' },
    storageDescriptor: {
      columns: [{ name: 'item', type: rawItemType(view) }],
      location,
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      serdeInfo: {
        serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        parameters: { 'ignore.malformed.json': 'true' },
      },
    },
  };
}

/** The same, with the keys capitalised as the Glue API (the workflow's UpdateTable call) takes them. */
function apiShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(apiShape);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k === 'parameters' ? 'Parameters' : `${k[0]?.toUpperCase()}${k.slice(1)}`,
      k === 'parameters' ? v : apiShape(v),
    ]),
  );
}

export class AnalyticsStack extends NestedStack {
  readonly bucket: Bucket;
  readonly workGroup: CfnWorkGroup;
  readonly database: CfnDatabase;
  readonly exportWorkflow: StateMachine;
  readonly scheduleDeadLetterQueue: Queue;

  /** The ARN of each table the views read: a parameter of this stack, named `<table>TableArn`. */
  private readonly tableArns: Readonly<Record<AnalyticsView['table'], string>>;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    const parameter = (table: string) => `${table}TableArn`;
    super(scope, id, {
      ...props,
      parameters: Object.fromEntries(VIEWS.map((v) => [parameter(v.table), props.tables[v.table].tableArn])),
    });
    this.tableArns = Object.fromEntries(
      VIEWS.map((v) => [
        v.table,
        new CfnParameter(this, parameter(v.table), { type: 'String' }).valueAsString,
      ]),
    ) as Record<AnalyticsView['table'], string>;
    const keepDays = props.keepDays ?? 7;
    const stack = Stack.of(this);

    // Server access logs of the analytics bucket, kept 90 days.
    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket holds the server access logs of the analytics bucket; logging it too would log the logs.',
    });
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'analytics/',
      // Exports and results are copies: what expires is made again by the next run or query.
      lifecycleRules: [
        {
          prefix: 'exports/',
          expiration: Duration.days(keepDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
        {
          prefix: RESULTS_PREFIX,
          expiration: Duration.days(keepDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.database = new CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: props.databaseName,
        description: 'wcs-hooks: the tables as analysts query them (docs/analytics.md)',
      },
    });
    const catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    const databaseArn = stack.formatArn({
      service: 'glue',
      resource: 'database',
      resourceName: props.databaseName,
    });
    const tableArn = (name: string) =>
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${props.databaseName}/${name}` });

    const initialLocation = (view: AnalyticsView) =>
      `s3://${this.bucket.bucketName}/${exportPrefix(view.table)}/`;
    for (const view of VIEWS) {
      const raw = new CfnTable(this, `${view.name}Export`, {
        catalogId: stack.account,
        databaseName: props.databaseName,
        tableInput: rawTableInput(view, initialLocation(view)),
      });
      raw.addResourceDependency(this.database);
      // An Athena view as Glue keeps one: its Trino text and columns, base64 in a comment.
      const definition = {
        originalSql: athenaViewSql(view),
        catalog: 'awsdatacatalog',
        schema: props.databaseName,
        columns: viewColumnsOf(view),
        owner: 'wcs-hooks',
        runAsInvoker: false,
        properties: {},
      };
      const viewTable = new CfnTable(this, `${view.name}View`, {
        catalogId: stack.account,
        databaseName: props.databaseName,
        tableInput: {
          name: view.name.toLowerCase(),
          description: `${view.name}: ${view.row} (docs/analytics.md)`,
          tableType: 'VIRTUAL_VIEW',
          parameters: { presto_view: 'true', comment: 'Presto View' },
          viewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(definition)).toString('base64')} */`,
          viewExpandedText: '/* Presto View */',
          storageDescriptor: {
            columns: glueColumnsOf(view),
            serdeInfo: {},
            location: '',
          },
        },
      });
      viewTable.addResourceDependency(raw);
    }

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: props.workGroupName,
      description: 'wcs-hooks: SQL over the exported tables, with the saved queries of docs/analytics.md',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    for (const query of SAVED_QUERIES) {
      const named = new CfnNamedQuery(this, `Query${query.name}`, {
        name: query.name,
        description: query.description.slice(0, 1024),
        database: props.databaseName,
        queryString: query.sql,
        workGroup: this.workGroup.ref,
      });
      named.addResourceDependency(this.database);
    }

    this.exportWorkflow = this.exportWorkflowOf(props, {
      catalogArn,
      databaseArn,
      tableArn,
    });

    const runner = scheduleRunner(this, 'of the analytics export schedule: runs it could not start');
    this.scheduleDeadLetterQueue = runner.deadLetterQueue;
    const { role } = runner;
    new Schedule(this, 'Schedule', {
      description: 'wcs-hooks: export the tables for SQL (docs/analytics.md)',
      schedule: ScheduleExpression.cron({ minute: '15', hour: '0' }),
      target: new StepFunctionsStartExecution(this.exportWorkflow, {
        role,
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: 2,
      }),
    });
  }

  /** Per table, in parallel: export, wait until done, point the raw table at it. */
  private exportWorkflowOf(
    props: AnalyticsProps,
    arns: { catalogArn: string; databaseArn: string; tableArn: (name: string) => string },
  ): StateMachine {
    const branches = VIEWS.map((view) => {
      const tableArn = this.tableArns[view.table];
      const prefix = exportPrefix(view.table);
      const start = new CallAwsService(this, `Export ${view.name}`, {
        service: 'dynamodb',
        action: 'exportTableToPointInTime',
        parameters: {
          TableArn: tableArn,
          S3Bucket: this.bucket.bucketName,
          S3Prefix: prefix,
          S3SseAlgorithm: 'AES256',
          ExportFormat: 'DYNAMODB_JSON',
          ExportType: 'FULL_EXPORT',
        },
        iamResources: [tableArn],
        resultSelector: { 'exportArn.$': '$.ExportDescription.ExportArn' },
        resultPath: '$.export',
      });
      const wait = new Wait(this, `Wait ${view.name}`, { time: WaitTime.duration(Duration.minutes(2)) });
      const describe = new CallAwsService(this, `Describe ${view.name} export`, {
        service: 'dynamodb',
        action: 'describeExport',
        parameters: { ExportArn: JsonPath.stringAt('$.export.exportArn') },
        iamResources: [`${tableArn}/export/*`],
        resultSelector: { 'status.$': '$.ExportDescription.ExportStatus' },
        resultPath: '$.described',
      });
      const location = JsonPath.format(
        `s3://${this.bucket.bucketName}/${prefix}/AWSDynamoDB/{}/data/`,
        JsonPath.arrayGetItem(JsonPath.stringSplit(JsonPath.stringAt('$.export.exportArn'), '/'), 3),
      );
      const input = apiShape(rawTableInput(view, '')) as Record<string, Record<string, unknown>>;
      const point = new CallAwsService(this, `Point ${view.name} at the export`, {
        service: 'glue',
        action: 'updateTable',
        parameters: {
          DatabaseName: props.databaseName,
          TableInput: { ...input, StorageDescriptor: { ...input.StorageDescriptor, Location: location } },
        },
        iamResources: [arns.catalogArn, arns.databaseArn, arns.tableArn(rawTableOf(view))],
        resultPath: JsonPath.DISCARD,
      });
      return start
        .next(wait)
        .next(describe)
        .next(
          new Choice(this, `${view.name} export done?`)
            .when(Condition.stringEquals('$.described.status', 'COMPLETED'), point)
            .when(Condition.stringEquals('$.described.status', 'IN_PROGRESS'), wait)
            .otherwise(new Fail(this, `${view.name} export failed`, { error: 'ExportFailed' })),
        );
    });
    const all = new Parallel(this, 'Export every table');
    for (const branch of branches) all.branch(branch);
    const logs = new LogGroup(this, 'ExportWorkflowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const workflow = new StateMachine(this, 'ExportWorkflow', {
      definitionBody: DefinitionBody.fromChainable(all),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });
    // The export writes to the bucket as the workflow: its objects under exports/ only.
    workflow.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects('exports/*')],
      }),
    );
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const policy = workflow.role.node.tryFindChild('DefaultPolicy') ?? workflow;
    Validations.of(policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/exports/*]`,
        reason:
          'A DynamoDB export writes objects of names it makes (its export id) under exports/: only there.',
      },
      ...VIEWS.map((view) => ({
        id: `AwsSolutions-IAM5[Resource::<${view.table}TableArn>/export/*]`,
        reason: `DescribeExport of an export of the ${view.table} table: its id is known only once the run starts it.`,
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing and delivering the execution logs to CloudWatch Logs (the CDK grants of tracingEnabled and logs): those actions take no resource.',
      },
    );
    return workflow;
  }
}

/** The tables the views read, of all the stack's tables (they reach the nested stack as parameters). */
export const analyticsTablesOf = (tables: Readonly<Record<string, TableV2>>): AnalyticsTables =>
  Object.fromEntries(VIEWS.map((view) => [view.table, tables[view.table]])) as AnalyticsTables;
