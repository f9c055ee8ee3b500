import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Duration, type ILocalBundling, RemovalPolicy } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  FUNCTIONS,
  type HandlerDefinition,
  type HandlerName,
  type ServiceFunctionName,
  type TableAccess,
  type TableName,
} from '#shared/kernel/registry.ts';
import { FUNCTION_NAME_ENV, TABLE_ACTIONS } from '#shared/store/access.ts';
import { TABLES, type TableDefinition } from '#shared/store/tables.ts';

export { TABLE_ACTIONS };

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE_SCRIPT = fileURLToPath(new URL('./bundle.ts', import.meta.url));

/**
 * Bundles with the project's own esbuild (`bundle.ts`, never Docker), in a process of its own: CDK
 * asks for a bundle synchronously and esbuild runs plugins only in its asynchronous build. A class,
 * not a closure: CDK keys its asset cache on the bundling options as JSON, and `entry` must be part
 * of that key.
 */
class LocalEsbuild implements ILocalBundling {
  readonly entry: string;

  constructor(entry: string) {
    this.entry = entry;
  }

  tryBundle(outputDir: string): boolean {
    const result = spawnSync(process.execPath, [BUNDLE_SCRIPT, this.entry, outputDir], {
      encoding: 'utf8',
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    if (result.status !== 0)
      throw new Error(`bundling ${this.entry} failed (${result.status ?? result.signal}): ${result.stderr}`);
    return true;
  }
}

/** What a registry entry can declare, as deployed. */
export interface DeclaredResources {
  readonly tables: Readonly<Record<TableName, TableV2>>;
  readonly sendQueue: IQueue;
  readonly spillQueue: IQueue;
  readonly spillDeadLetterQueue: IQueue;
}

export interface HookFunctionProps {
  /** The entry file `functions/<entry>.ts`; its export `handler` is the Lambda handler. */
  readonly entry: string;
  /** The entry file as a path from the project root, for a handler outside `functions/` (a custom resource's). Default: from `entry`. */
  readonly entryPath?: string;
  readonly description: string;
  /** Retention of the function's log group. */
  readonly logRetention: RetentionDays;
  /** Added to the defaults (never replacing them). Default: none. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Memory in MB; CPU scales with it. Default 512, enough for a fast cold start of an SDK bundle. */
  readonly memorySize?: number;
  /** Default 10 s: WCS waits 15 s at most (`rest_request_timeout`), so a hook must answer before. */
  readonly timeout?: Duration;
}

/**
 * A hook function with every default held once: Node.js 24 on arm64, an esbuild bundle
 * (`bundleOptions` in `bundle.ts`: split minified ESM with source maps, the AWS SDK inside it so its
 * version is the one tested), without `--enable-source-maps` (it read and parsed the maps at every
 * cold start; a logged stack is decoded from them only when one is logged, `withSourceStack` in
 * `shared/kernel/source-stack.ts`), its own log group with retention, and a role that can write only to
 * that log group until `bindTable` and `bindSecret` grant what the handler uses. Bundles with the
 * project's esbuild, never Docker.
 */
export class HookFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: HookFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role rather than the default one, which attaches the broad AWSLambdaBasicExecutionRole.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    const entry = `${projectRoot}${props.entryPath ?? `functions/${props.entry}.ts`}`;
    super(scope, id, {
      code: Code.fromAsset(projectRoot, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new LocalEsbuild(entry),
          // Never used: the local bundling always succeeds or throws. CDK requires an image.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
        },
      }),
      handler: 'index.handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'wcs-hooks',
        POWERTOOLS_METRICS_NAMESPACE: 'WcsHooks',
        ...props.environment,
      },
    });
  }

  /**
   * The function for registry entry `name` (`shared/kernel/registry.ts`): its entry file, its description, and
   * everything the entry declares bound (tables, queues), nothing else.
   */
  static fromRegistry(
    scope: Construct,
    name: HandlerName | ServiceFunctionName,
    props: Omit<HookFunctionProps, 'entry' | 'description'> & { readonly resources: DeclaredResources },
  ): HookFunction {
    const definition = FUNCTIONS[name];
    const { resources, ...rest } = props;
    return new HookFunction(scope, name, {
      ...rest,
      // Which registry entry this is: the function checks at start that its declared tables are set.
      environment: { ...rest.environment, [FUNCTION_NAME_ENV]: name },
      entry: name,
      description: `wcs-hooks ${name}: ${definition.description}`,
    }).bindDeclared(definition, resources);
  }

  /**
   * Gives the function `table` under its environment variable, with exactly the actions `access`
   * needs: writes on the table, reads on the table and on each of its indexes by name (no wildcard;
   * `TableV2.grant` would add `index/*` even for writes, which never touch an index).
   */
  bindTable(table: TableV2, definition: TableDefinition, access: TableAccess): this {
    this.addEnvironment(definition.envVar, table.tableName);
    const indexes = [...definition.globalIndexes, ...definition.localIndexes].map(
      (index) => `${table.tableArn}/index/${index.indexName}`,
    );
    const reads = TABLE_ACTIONS[access].filter((a) => TABLE_ACTIONS.read.includes(a));
    const writes = TABLE_ACTIONS[access].filter((a) => !TABLE_ACTIONS.read.includes(a));
    if (writes.length > 0)
      this.addToRolePolicy(new PolicyStatement({ actions: writes, resources: [table.tableArn] }));
    if (reads.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: reads, resources: [table.tableArn, ...indexes] }));
    }
    return this;
  }

  /** Gives the function a queue: its URL in `envVar`, and the right to send (and to consume). */
  bindQueue(queue: IQueue, envVar: string, access: 'send' | 'consume'): this {
    this.addEnvironment(envVar, queue.queueUrl);
    queue.grantSendMessages(this);
    if (access === 'consume') queue.grantConsumeMessages(this);
    return this;
  }

  /**
   * Binds everything `definition` (the function's registry entry) declares, and nothing else: its
   * tables with their access, the send queue, the spill queue and its dead-letter queue.
   */
  bindDeclared(definition: HandlerDefinition, resources: DeclaredResources): this {
    for (const [table, access] of Object.entries(definition.tables) as [TableName, TableAccess][]) {
      this.bindTable(resources.tables[table], TABLES[table], access);
    }
    if (definition.sendQueue) this.bindQueue(resources.sendQueue, 'SEND_QUEUE_URL', definition.sendQueue);
    if (definition.spillQueue) this.bindQueue(resources.spillQueue, 'SPILL_QUEUE_URL', definition.spillQueue);
    if (definition.spillDeadLetters)
      this.bindQueue(resources.spillDeadLetterQueue, 'SPILL_DEAD_LETTER_QUEUE_URL', 'send');
    return this;
  }

  /** Gives the function read access to `secret`, whose ARN (never its value) goes in `envVar`. */
  bindSecret(secret: ISecret, envVar: string): this {
    this.addEnvironment(envVar, secret.secretArn);
    secret.grantRead(this);
    return this;
  }
}
