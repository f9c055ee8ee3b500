/**
 * `npm run cli -- <command>`: operate wcs-hooks. Works against the local runtime (`npm start`) by
 * default, or a deployed stack with `--stack <name>` (AWS credentials from the environment).
 *
 *   token  --app A --sub U [--publish 'cam-*,room/*'] [--play '*'] [--data] [--roles R,...] [--ttl 3600] [--secret S]
 *   apps put A [--admission open|token|closed] [--hs256-secret S | --generate-secret] [--jwks-url U]
 *              [--audience X] [--issuer I] [--token-path custom.token] [--[no-]single-publisher]
 *              [--max-players N | --no-max-players] [--[no-]force-record] [--[no-]publish-requires-grant]
 *              [--[no-]play-requires-grant] [--data-max-bytes N] [--[no-]allow-relay]
 *   apps get A
 *   apps list
 *   revoke --user U [--app A] | --session S
 *   deny --user U | --token JTI [--app A] [--until ISO | --for 2h] [--reason R]
 *   undeny --user U | --token JTI [--app A]
 *   denials list [--app A]
 *   apps delete A [--force]
 *   send   --session S | --user U [--app A] | --stream N [--app A] | --app A  --payload '{...}' [--async]
 *   nodes put NODE URL | nodes list | nodes remove NODE    (NODE: a nodeId <id>@<ip>, or an IP)
 *   endpoints put CODE --logic relay|broadcast|echo|lambda:ARN|module:PATH|webhook:URL [--app A]
 *             [--description D] [--[no-]secured] [--roles R,...] [--webhook-secret S | --generate-secret]
 *             [--timeout-ms N] [--max-message-bytes N] [--messages-per-second N] [--burst N]
 *             [--max-connections-per-user N] [--allowed-origins O,...] [--forward-headers H,...]
 *             [--keep-offline TTL_SECONDS[,MAX_MESSAGES] | --keep-offline off]
 *   endpoints get CODE | endpoints list | endpoints delete CODE | endpoints who CODE
 *   endpoints send CODE [--user U] --text T [--wcs]     (no --user: to everyone on it)
 *   endpoints messages CODE --user U                    (the last messages sent to U; `*`: broadcasts)
 *   migrate apps-to-config [--from TABLE] [--dry-run]   (docs/deploy.md, "Upgrading")
 *   simulate [--url U] [--days N] [--from D] [--streams N] [--viewers N] ...   (docs/operations.md)
 *   usage --app A [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by day|hour|stream | --stream N] [--format table|csv|json]
 *   export --to DIR                                     (the tables as Parquet: docs/analytics.md)
 *   sql "QUERY" | sql --saved NAME | sql --list  [--from DIR] [--format json|csv]
 *
 * Argument parsing is Node's own (`util.parseArgs`); every command prints JSON. With `--stack`,
 * `send` always queues a job: the sender in AWS delivers it.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { TABLES } from '#shared/store/tables.ts';

/** How long each DynamoDB request of an export may take, unless `DYNAMODB_REQUEST_TIMEOUT_MS` says. */
const EXPORT_REQUEST_TIMEOUT_MS = 60_000;

/** Where `sql` reads an export when no `--from` is given. */
const DEFAULT_EXPORT_DIR = '.data/export';

const USAGE = `usage: npm run cli -- [--stack NAME] <command>
  token --app A --sub U [--publish P,...] [--play P,...] [--data] [--roles R,...] [--ttl SECONDS] [--secret S]
  apps put A [--admission open|token|closed] [--hs256-secret S | --generate-secret] [--jwks-url URL]
             [--audience X] [--issuer I] [--token-path PATH] [--[no-]single-publisher]
             [--max-players N | --no-max-players] [--[no-]force-record] [--[no-]publish-requires-grant]
             [--[no-]play-requires-grant] [--data-max-bytes N] [--[no-]allow-relay]
  apps get A
  apps list
  revoke --user U [--app A] | --session S
  deny --user U | --token JTI [--app A] [--until ISO | --for 30m|2h|7d] [--reason R]
                              refuse a user or a token until a time or for good (no --app: every app)
  undeny --user U | --token JTI [--app A]
  denials list [--app A]      the denials in force
  apps delete A [--force]     delete the app's policy and denials (--force: even with open sessions)
  send --session S | --user U [--app A] | --stream N [--app A] | --app A --payload JSON [--async]
  nodes put NODE URL          the WCS REST API of a node (NODE: its nodeId <id>@<ip>, or its IP)
  nodes list                  every node known from its hooks, its state (up, down and why), its URL
  nodes remove NODE
  endpoints put CODE --logic relay|broadcast|echo|lambda:ARN|module:PATH|webhook:URL [--app A]
            [--description D] [--[no-]secured] [--roles R,...] [--webhook-secret S | --generate-secret]
            [--timeout-ms N] [--max-message-bytes N] [--messages-per-second N] [--burst N]
            [--max-connections-per-user N] [--allowed-origins O,...] [--forward-headers H,...]
            [--keep-offline TTL_SECONDS[,MAX_MESSAGES] | --keep-offline off]
  endpoints get CODE | endpoints list | endpoints delete CODE
  endpoints who CODE          who is on it, and how many connections each has
  endpoints send CODE [--user U] --text T [--wcs]   sendMessage (no --user: to everyone on it)
  endpoints messages CODE --user U                  the last messages sent to U (* for broadcasts)
  migrate apps-to-config [--from TABLE] [--dry-run] copy the app policies of an older stack's apps
                              table (TABLE, or APPS_TABLE; locally <prefix>-apps) into config
  simulate [--url URL] [--days 3] [--from YYYY-MM-DD] [--streams 20] [--viewers 200] [--nodes 3]
           [--seed 1] [--concurrency 16] [--prefix sim] [--secret S]
                              drive npm start (SIMULATED_CLOCK=allow) with days of simulated
                              traffic (default --from: --days days before today, UTC); prints what
                              it sent, by day and app (docs/operations.md)
  usage --app A [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by day|hour|stream] [--stream N] [--format table|csv|json]
                              an app's usage per UTC day (default) or hour, or its stream names' totals;
                              with --stream, each publish of N (days: one alone, or neither for today)
  export --to DIR             the tables as Parquet, for SQL (DIR must not exist, or be empty)
  sql "QUERY" | sql --saved NAME [--from DIR] [--format json|csv]
                              DuckDB over an export (DIR, default ${DEFAULT_EXPORT_DIR}); docs/analytics.md
  sql --list                  the saved queries, one per analyst question`;

/** An argument the CLI cannot take: one line on stderr, exit code 2. */
class UsageError extends Error {}
/** A command that could not be done (nothing found, something not answering): one line, exit code 1. */
class CliError extends Error {}

/** The arguments, as `util.parseArgs` reads them; an unknown flag or a flag without its value is a `UsageError`. */
function parseArguments() {
  try {
    return parseArgs({ allowPositionals: true, allowNegative: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
}

const OPTIONS = {
  stack: { type: 'string' },
  app: { type: 'string' },
  sub: { type: 'string' },
  publish: { type: 'string' },
  play: { type: 'string' },
  data: { type: 'boolean' },
  ttl: { type: 'string' },
  secret: { type: 'string' },
  admission: { type: 'string' },
  'hs256-secret': { type: 'string' },
  'generate-secret': { type: 'boolean' },
  'jwks-url': { type: 'string' },
  audience: { type: 'string' },
  issuer: { type: 'string' },
  'token-path': { type: 'string' },
  'single-publisher': { type: 'boolean' },
  'max-players': { type: 'string' },
  'no-max-players': { type: 'boolean' },
  'force-record': { type: 'boolean' },
  'publish-requires-grant': { type: 'boolean' },
  'play-requires-grant': { type: 'boolean' },
  'data-max-bytes': { type: 'string' },
  'allow-relay': { type: 'boolean' },
  user: { type: 'string' },
  session: { type: 'string' },
  stream: { type: 'string' },
  payload: { type: 'string' },
  async: { type: 'boolean' },
  logic: { type: 'string' },
  description: { type: 'string' },
  secured: { type: 'boolean' },
  roles: { type: 'string' },
  'webhook-secret': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-message-bytes': { type: 'string' },
  'messages-per-second': { type: 'string' },
  burst: { type: 'string' },
  'max-connections-per-user': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'forward-headers': { type: 'string' },
  'keep-offline': { type: 'string' },
  text: { type: 'string' },
  wcs: { type: 'boolean' },
  token: { type: 'string' },
  until: { type: 'string' },
  for: { type: 'string' },
  reason: { type: 'string' },
  force: { type: 'boolean' },
  from: { type: 'string' },
  'dry-run': { type: 'boolean' },
  to: { type: 'string' },
  by: { type: 'string' },
  saved: { type: 'string' },
  list: { type: 'boolean' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

let values: ReturnType<typeof parseArguments>['values'] = {};
let positionals: string[] = [];

/** Points the store modules at the tables: a deployed stack's (from its outputs) or the local runtime's. */
async function connect(): Promise<void> {
  const env = process.env;
  if (values.stack) {
    const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
    const client = new CloudFormationClient({});
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: values.stack }));
    const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    for (const table of Object.values(TABLES)) {
      const name = outputs.get(`${table.name}Table`);
      if (!name) throw new Error(`stack ${values.stack} has no output ${table.name}Table`);
      env[table.envVar] = name;
    }
    const queueUrl = outputs.get('SendQueueUrl');
    if (queueUrl) env.SEND_QUEUE_URL = queueUrl;
    const endpoints = outputs.get('EndpointsManagementUrl');
    if (endpoints) env.ENDPOINTS_ENDPOINT = endpoints;
    return;
  }
  env.AWS_REGION ??= 'local';
  env.AWS_ACCESS_KEY_ID ??= 'local';
  env.AWS_SECRET_ACCESS_KEY ??= 'local';
  // The settings `npm start` reads, with its defaults (docs/configuration.md).
  const { setting } = await import('#shared/kernel/config.ts');
  if (!env.DYNAMODB_ENDPOINT) env.DYNAMODB_ENDPOINT = `http://127.0.0.1:${setting('DYNAMODB_LOCAL_PORT')}`;
  // The local runtime loads module logic from its working directory (`npm start` sets the same).
  env.ENDPOINT_MODULE_DIR ??= process.cwd();
  const { exportTableNames } = await import('./local/tables.ts');
  exportTableNames(setting('TABLE_PREFIX'));
}

const list = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** `--keep-offline TTL_SECONDS[,MAX_MESSAGES]` as `keepOffline` (`off`: `null`, removed); unset: `undefined`. */
function keepOfflineFlag(value: string | undefined): Record<string, number> | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return null;
  const [ttl, max, ...more] = value.split(',');
  if (more.length > 0)
    throw new UsageError(`--keep-offline is TTL_SECONDS[,MAX_MESSAGES] or off, got "${value}"`);
  const ttlSeconds = positiveInteger('keep-offline', ttl);
  const maxMessages = positiveInteger('keep-offline', max);
  return {
    ...(ttlSeconds !== undefined && { ttlSeconds }),
    ...(maxMessages !== undefined && { maxMessages }),
  };
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** The policy fields the flags set; unset flags leave the stored value as it is. */
function policyFlags(): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    admission: values.admission,
    hs256Secret: values['generate-secret'] ? randomBytes(32).toString('base64url') : values['hs256-secret'],
    jwksUrl: values['jwks-url'],
    audience: values.audience,
    issuer: values.issuer,
    tokenPath: values['token-path'],
    singlePublisher: values['single-publisher'],
    maxPlayersPerStream: positiveInteger('max-players', values['max-players']),
    forceRecord: values['force-record'],
    publishRequiresGrant: values['publish-requires-grant'],
    playRequiresGrant: values['play-requires-grant'],
    dataMaxBytes: positiveInteger('data-max-bytes', values['data-max-bytes']),
    allowRelay: values['allow-relay'],
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** What `--help` prints. */
const HELP = Symbol('help');

async function run(): Promise<unknown> {
  // `simulate` takes its own flags (infra/simulate/command.ts), against the local runtime only.
  if (process.argv[2] === 'simulate') {
    await connect();
    const { simulateCommand } = await import('./simulate/command.ts');
    return simulateCommand(process.argv.slice(3), (message) => new UsageError(message));
  }
  ({ values, positionals } = parseArguments());
  const [command, sub, name, extra] = positionals;
  if (values.help) return HELP;
  if (!command) throw new UsageError('a command is needed: token, apps, revoke, send, nodes or endpoints');
  if (command === 'sql') return analytics(() => sql(sub));
  await connect();
  const now = new Date();
  if (command === 'token') {
    const { findAppPolicy } = await import('#shared/state/apps.ts');
    const { issueClientToken } = await import('#shared/admission/tokens.ts');
    if (!values.app || !values.sub) throw new UsageError('token needs --app and --sub');
    const ttl = positiveInteger('ttl', values.ttl) ?? 3600;
    const policy = await findAppPolicy(values.app);
    const secret = values.secret ?? policy?.hs256Secret;
    if (!secret)
      throw new UsageError(
        `app ${values.app} has no HS256 secret: pass --secret, or set one with apps put --generate-secret`,
      );
    const token = await issueClientToken(
      secret,
      {
        sub: values.sub,
        aud: policy?.audience ?? values.app,
        ...(policy?.issuer && { iss: policy.issuer }),
        ...(list(values.publish) && { publish: list(values.publish) }),
        ...(list(values.play) && { play: list(values.play) }),
        ...(values.data && { data: true }),
        ...(list(values.roles) && { roles: list(values.roles) }),
      },
      ttl,
    );
    return { token, expiresAt: new Date(now.getTime() + ttl * 1000).toISOString() };
  }
  if (command === 'apps' && sub === 'delete') return deleteApp(name);
  if (command === 'deny' || command === 'undeny' || command === 'denials') return denials(command, sub, now);
  if (command === 'apps') {
    const { findAppPolicy, listAppPolicies, putAppPolicy, redacted } = await import('#shared/state/apps.ts');
    if (sub === 'list') return (await listAppPolicies()).map(redacted);
    if (!name) throw new UsageError(`apps ${sub ?? ''} needs an app key`);
    if (sub === 'get') {
      const policy = await findAppPolicy(name);
      if (!policy) throw new CliError(`app ${name} has no policy; it follows DEFAULT_APP_POLICY`);
      return redacted(policy);
    }
    if (sub === 'put') {
      const { appKey: _, ...existing } = (await findAppPolicy(name)) ?? { appKey: name };
      const merged: Record<string, unknown> = { ...existing, ...policyFlags() };
      if (values['no-max-players']) delete merged.maxPlayersPerStream;
      const stored = await putAppPolicy(name, merged);
      return { ...redacted(stored), ...(values['generate-secret'] && { hs256Secret: stored.hs256Secret }) };
    }
    throw new UsageError(`unknown apps command "${sub ?? ''}"`);
  }
  if (command === 'revoke') {
    if (values.session) {
      const { revokeSession } = await import('#shared/state/sessions.ts');
      return { revoked: (await revokeSession(values.session, now)) ? [values.session] : [] };
    }
    if (!values.user) throw new UsageError('revoke needs --user or --session');
    const { revokeUser } = await import('#shared/admission/revocation.ts');
    return { revoked: await revokeUser(values.user, values.app, now) };
  }
  if (command === 'send') {
    if (values.payload === undefined) throw new UsageError('send needs --payload (JSON)');
    let payload: unknown;
    try {
      payload = JSON.parse(values.payload);
    } catch {
      throw new UsageError(`--payload is not JSON: ${values.payload}`);
    }
    const target = values.session
      ? { sessionId: values.session }
      : values.user
        ? { userId: values.user, ...(values.app && { appKey: values.app }) }
        : values.stream
          ? { streamName: values.stream, ...(values.app && { appKey: values.app }) }
          : values.app
            ? { appKey: values.app }
            : undefined;
    if (!target) throw new UsageError('send needs --session, --user, --stream or --app');
    const { sendLater, sendNow } = await import('#shared/sender/sender.ts');
    try {
      // Against a stack, the sender in AWS delivers (it reaches the WCS nodes; this machine may not).
      const later = values.async || values.stack !== undefined;
      return later ? await sendLater(target, payload, now) : await sendNow(target, payload, now);
    } finally {
      const { closeWcsClient } = await import('#shared/sender/wcs-client.ts');
      await closeWcsClient();
    }
  }
  if (command === 'nodes') {
    const { listNodeUrls, putNodeUrl, removeNodeUrl } = await import('#shared/sender/wcs-nodes.ts');
    if (sub === 'list') return listNodes(await listNodeUrls());
    if (!name) throw new UsageError(`nodes ${sub ?? ''} needs a node (its nodeId <id>@<ip>, or its IP)`);
    try {
      if (sub === 'put') {
        if (!extra) throw new UsageError('nodes put needs the node and its REST URL');
        return await putNodeUrl(name, extra);
      }
      if (sub === 'remove') {
        await removeNodeUrl(name).catch((error: Error) => {
          throw new CliError(error.message);
        });
        return { removed: name };
      }
    } catch (error) {
      if (error instanceof UsageError || error instanceof CliError || isUnreachable(error)) throw error;
      throw new UsageError((error as Error).message);
    }
    throw new UsageError(`unknown nodes command "${sub ?? ''}"`);
  }
  if (command === 'endpoints') return endpoints(sub, name);
  if (command === 'migrate') return migrate(sub);
  if (command === 'usage') return usage(sub);
  if (command === 'export') return analytics(exportTables);
  throw new UsageError(`unknown command "${command}"`);
}

/** `deny`, `undeny`, `denials list`: denied users and tokens (docs/policy.md#revoke-and-deny). */
async function denials(command: string, sub: string | undefined, now: Date): Promise<unknown> {
  const store = await import('#shared/state/denials.ts');
  if (command === 'denials') {
    if (sub !== 'list')
      throw new UsageError(`unknown denials command "${sub ?? ''}" (denials list [--app A])`);
    return store.listDenials(now, values.app);
  }
  if ((values.user === undefined) === (values.token === undefined))
    throw new UsageError(`${command} needs --user U or --token JTI, one of them`);
  const [subject, name] = values.user !== undefined ? ['user', values.user] : ['token', String(values.token)];
  if (command === 'undeny') {
    if (values.until !== undefined || values.for !== undefined || values.reason !== undefined)
      throw new UsageError('undeny takes --user or --token, and --app; not --until, --for or --reason');
    const removed = await store.undeny(subject as 'user' | 'token', name, values.app);
    if (!removed)
      throw new CliError(
        `no denial of ${subject} ${name} ${values.app ? `in app ${values.app}` : 'in every app'}`,
      );
    return { undenied: { [subject]: name, ...(values.app && { appKey: values.app }) } };
  }
  try {
    const until = store.denialEnd(values.until, values.for, now);
    return await store.deny(
      {
        subject: subject as 'user' | 'token',
        name,
        ...(values.app !== undefined && { appKey: values.app }),
        ...(until && { until }),
        ...(values.reason !== undefined && { reason: values.reason }),
      },
      now,
    );
  } catch (error) {
    if (error instanceof store.InvalidDenialError) throw new UsageError(`deny: ${error.message}`);
    throw error;
  }
}

/**
 * `apps delete A [--force]`: deletes the app's policy and its own denials, saying what it deleted.
 * Refused while the app has open sessions, unless forced: they then go on under the default policy.
 */
async function deleteApp(appKey: string | undefined): Promise<unknown> {
  if (!appKey) throw new UsageError('apps delete needs an app key');
  const { deleteAppPolicy } = await import('#shared/state/apps.ts');
  const { listOpenSessions } = await import('#shared/state/sessions.ts');
  const { removeDenialsOf } = await import('#shared/state/denials.ts');
  const open = await listOpenSessions(appKey);
  if (open.length > 0 && !values.force)
    throw new CliError(
      `app ${appKey} has ${open.length} open session(s): revoke or deny them first, or delete with --force`,
    );
  const policy = await deleteAppPolicy(appKey);
  const denialIds = await removeDenialsOf(appKey);
  if (!policy && denialIds.length === 0) throw new CliError(`app ${appKey} has no policy and no denials`);
  return {
    deleted: { appKey, policy, denials: denialIds },
    ...(open.length > 0 && { openSessionsLeft: open.map((s) => s.sessionId) }),
  };
}

/** What a command prints as it is, not as JSON (a usage table or CSV, `sql --format csv`). */
class Printed {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * `usage --app A ...`: the answer the `usage/*` realms give, whole, as a table, CSV or JSON
 * (`shared/state/usage-answers.ts`, docs/realtime.md#usage). A question it cannot answer (a bad
 * day, a range backwards or over a year, an unknown app, --by or --format) is exit code 2.
 */
async function usage(extra: string | undefined): Promise<Printed> {
  if (extra !== undefined) throw new UsageError(`usage takes flags only, got "${extra}"`);
  const { answerUsage, usageQuestion, InvalidUsageQuestionError } = await import(
    '#shared/state/usage-answers.ts'
  );
  const { formatUsage, isUsageFormat } = await import('./usage-format.ts');
  const format = values.format ?? 'table';
  if (!isUsageFormat(format)) throw new UsageError(`--format must be table, csv or json, got "${format}"`);
  try {
    const { app, from, to, by, stream } = values;
    return new Printed(formatUsage(await answerUsage(usageQuestion({ app, from, to, by, stream })), format));
  } catch (error) {
    if (error instanceof InvalidUsageQuestionError) throw new UsageError(`usage: ${error.message}`);
    throw error;
  }
}

/** `migrate ...`: moves data a newer version keeps elsewhere (docs/deploy.md, "Upgrading"). */
async function migrate(name: string | undefined): Promise<unknown> {
  if (name !== 'apps-to-config') throw new UsageError(`unknown migration "${name ?? ''}"`);
  const local = values.stack ? undefined : `${process.env.TABLE_PREFIX || 'wcs-hooks-local'}-apps`;
  const from = values.from ?? process.env.APPS_TABLE ?? local;
  if (!from) throw new UsageError("migrate apps-to-config needs --from (the older stack's apps table)");
  const { migrateAppsToConfig } = await import('#shared/state/apps-migration.ts');
  return migrateAppsToConfig(from, { dryRun: values['dry-run'] ?? false });
}

/** `--logic` as an endpoint's logic; a webhook keeps the secret it has unless one is given. */
function logicFlag(spec: string, existing: Record<string, unknown> | undefined): Record<string, unknown> {
  if (['relay', 'broadcast', 'echo'].includes(spec)) return { kind: 'builtin', name: spec };
  const at = spec.indexOf(':');
  const [kind, target] = [spec.slice(0, at), spec.slice(at + 1)];
  if (kind === 'lambda' && spec.startsWith('lambda:arn:')) return { kind: 'lambda', functionArn: target };
  if (kind === 'module' && target) return { kind: 'module', path: target };
  if (kind === 'webhook' && target) {
    const secret =
      values['webhook-secret'] ??
      (values['generate-secret'] ? randomBytes(32).toString('base64url') : undefined) ??
      (existing?.kind === 'webhook' ? existing.secret : undefined);
    if (!secret) throw new UsageError('a webhook needs --webhook-secret S or --generate-secret');
    return { kind: 'webhook', url: target, secret };
  }
  throw new UsageError(
    `--logic must be relay, broadcast, echo, lambda:<function ARN>, module:<path> or webhook:<https URL>, got "${spec}"`,
  );
}

/** The operator API of the local runtime (`npm start`, over https with `TLS_CERT_FILE`): what the CLI asks for what only it can do locally. */
async function localApi(method: string, path: string, body?: unknown): Promise<unknown> {
  const token = process.env.API_TOKEN;
  if (!token)
    throw new CliError("set API_TOKEN (the local runtime's operator token) to send through npm start");
  const { requestLocalServer } = await import('./local/tls.ts');
  const { setting } = await import('#shared/kernel/config.ts');
  const response = await requestLocalServer(
    method,
    `/api/endpoints${path}`,
    { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    JSON.stringify(body),
  ).catch((error: Error) => {
    throw new CliError(
      `the local runtime is not answering on port ${setting('PORT')} (npm start): ${error.message}; set PORT as npm start was started with`,
    );
  });
  const answer = JSON.parse(response.body) as { message?: string };
  if (response.status >= 400) throw new CliError(`${response.status}: ${answer.message ?? response.body}`);
  return answer;
}

/** `endpoints ...`: WebSocket endpoints for user agents (docs/endpoints.md). */
async function endpoints(sub: string | undefined, code: string | undefined): Promise<unknown> {
  const store = await import('#shared/state/endpoints.ts');
  if (sub === 'list') return (await store.listEndpoints()).map(store.redactedEndpoint);
  if (!code) throw new UsageError(`endpoints ${sub ?? ''} needs an endpoint code`);
  if (sub === 'get' || sub === 'put') {
    const found = await store.findEndpoint(code);
    if (sub === 'get') {
      if (!found) throw new CliError(`no endpoint ${code}`);
      return store.redactedEndpoint(found);
    }
    const { code: _, updatedAt: __, ...existing } = found ?? ({} as Record<string, unknown>);
    const flags: Record<string, unknown> = {
      description: values.description,
      secured: values.secured,
      roles: list(values.roles),
      appKey: values.app,
      logic:
        values.logic === undefined
          ? undefined
          : logicFlag(values.logic, found?.logic as Record<string, unknown>),
      timeoutMs: positiveInteger('timeout-ms', values['timeout-ms']),
      maxMessageBytes: positiveInteger('max-message-bytes', values['max-message-bytes']),
      messagesPerSecond: positiveInteger('messages-per-second', values['messages-per-second']),
      burst: positiveInteger('burst', values.burst),
      maxConnectionsPerUser: positiveInteger('max-connections-per-user', values['max-connections-per-user']),
      allowedOrigins: list(values['allowed-origins']),
      forwardHeaders: list(values['forward-headers']),
      keepOffline: keepOfflineFlag(values['keep-offline']),
    };
    const merged = {
      ...existing,
      ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
    };
    if (merged.keepOffline === null) delete merged.keepOffline;
    if (merged.logic === undefined) throw new UsageError('endpoints put needs --logic for a new endpoint');
    try {
      const stored = await store.putEndpoint(code, merged);
      const generated =
        values['generate-secret'] && stored.logic.kind === 'webhook' ? stored.logic.secret : undefined;
      return { ...store.redactedEndpoint(stored), ...(generated && { webhookSecret: generated }) };
    } catch (error) {
      if (error instanceof store.InvalidEndpointError) throw new UsageError(error.message);
      throw error;
    }
  }
  if (sub === 'delete') {
    // Its open sockets are closed (4404) by whoever holds them: npm start, or the stack's management API.
    if (!values.stack && process.env.API_TOKEN) return localApi('DELETE', `/${encodeURIComponent(code)}`);
    const found = await store.findEndpoint(code);
    if (!found || !(await store.deleteEndpoint(code))) throw new CliError(`no endpoint ${code}`);
    const via = process.env.ENDPOINTS_ENDPOINT;
    if (!via) return { deleted: code, closed: 'not asked: set API_TOKEN to delete through npm start' };
    const { closeEndpointSessions, SESSION_CLOSE } = await import('#shared/endpoints/lifecycle.ts');
    return { deleted: code, closed: await closeEndpointSessions(found, SESSION_CLOSE.endpointDeleted, via) };
  }
  if (sub === 'who') {
    const { presenceOn } = await import('#shared/endpoints/lifecycle.ts');
    return presenceOn(code);
  }
  if (sub === 'messages') {
    if (!values.user) throw new UsageError('endpoints messages needs --user (* for broadcasts)');
    const { messagesTo } = await import('#shared/state/endpoint-messages.ts');
    return messagesTo(code, values.user);
  }
  if (sub === 'send') {
    if (values.text === undefined) throw new UsageError('endpoints send needs --text');
    const message = {
      ...(values.user && { user: values.user }),
      text: values.text,
      ...(values.wcs && { wcs: true }),
    };
    // Locally, the runtime holds the connections: it sends. Against a stack, its management API is reached directly.
    if (!values.stack) return localApi('POST', `/${encodeURIComponent(code)}/messages`, message);
    if (values.wcs)
      throw new UsageError(
        '--wcs with --stack: WCS nodes are reached from AWS; POST /api/endpoints/{code}/messages (EndpointsApiUrl, SigV4) with "wcs": true',
      );
    const { broadcastMessage, sendMessage } = await import('#shared/endpoints/lifecycle.ts');
    const via = process.env.ENDPOINTS_ENDPOINT;
    if (!via) throw new CliError(`stack ${values.stack} has no output EndpointsManagementUrl`);
    return values.user
      ? sendMessage(code, values.user, values.text, { via, origin: 'operator' })
      : broadcastMessage(code, values.text, { via, origin: 'operator' });
  }
  throw new UsageError(`unknown endpoints command "${sub ?? ''}"`);
}

/**
 * `nodes list`: every WCS node known from its hooks, with its state as the node poller last saw it
 * (why, when it was last reconciled and how long ago, what reconciliations ended and found on it in
 * the last 24 hours, 7 days and in all), and every registered REST URL (by nodeId, or by IP for each
 * node at that IP), times in ISO.
 */
async function listNodes(urls: { node: string; url: string; updatedAt: string }[]) {
  const { listNodes: knownNodes } = await import('#shared/state/monitoring.ts');
  const { nodeChanges } = await import('#shared/state/counters.ts');
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const known = await knownNodes();
  const now = new Date();
  const changesOf = await nodeChanges(now);
  const shown = await Promise.all(
    known.map(async (n) => {
      const registered = urls.find((u) => u.node === n.nodeId) ?? urls.find((u) => u.node === n.host);
      const changes = changesOf(n.nodeId);
      return {
        node: n.nodeId,
        host: n.host,
        ...(registered && { url: registered.url, urlConfiguredFor: registered.node }),
        state: n.state ?? 'not polled yet',
        ...(n.stateSince !== undefined && { stateSince: iso(n.stateSince) }),
        ...(n.stateReason && { stateReason: n.stateReason }),
        ...(n.lostAt !== undefined && { lostAt: iso(n.lostAt) }),
        lastHookAt: iso(n.lastHookAt),
        ...(n.signedHookAt !== undefined && { signedHookAt: iso(n.signedHookAt) }),
        lastContactAt: iso(n.lastContactAt),
        lastReconciledAt: iso(n.lastReconciledAt),
        ...(n.lastReconciledAt !== undefined && {
          lastReconciledAgo: `${Math.round((now.getTime() - n.lastReconciledAt) / 1000)} s`,
        }),
        ...(n.lastReconcile && { lastReconcile: n.lastReconcile }),
        reconciled: {
          last24Hours: changes.last24Hours,
          last7Days: changes.last7Days,
          total: {
            sessionsEnded: n.sessionsEndedTotal ?? 0,
            streamsEnded: n.streamsEndedTotal ?? 0,
            sessionsFound: n.sessionsFoundTotal ?? 0,
            streamsFound: n.streamsFoundTotal ?? 0,
          },
        },
        connectCounter: n.connectCounter ?? 0,
        profiles: n.profiles ?? [],
      };
    }),
  );
  const unmatched = urls
    .filter((u) => !known.some((n) => n.nodeId === u.node || n.host === u.node))
    .map((u) => ({ node: u.node, url: u.url, updatedAt: u.updatedAt, state: 'no hook seen from it' }));
  return [...shown, ...unmatched];
}

/** Runs an analytics command: what its input makes impossible is a `UsageError` (exit code 2). */
async function analytics(command: () => Promise<unknown>): Promise<unknown> {
  const { QueryError } = await import('./analytics/duckdb.ts');
  try {
    return await command();
  } catch (error) {
    if (error instanceof QueryError) throw new UsageError(error.message);
    throw error;
  }
}

/** `export --to DIR`: progress lines on stderr, what was written as JSON. */
async function exportTables(): Promise<unknown> {
  if (!values.to) throw new UsageError('export needs --to DIR (a folder that does not exist, or is empty)');
  // An export reads whole tables a Scan page at a time, a batch job and not a hook: a page of a big
  // table can take more than a hook's 2 s (DynamoDB Local scanning a million items did, and the
  // export failed after the SDK's three tries). So unless told otherwise, each request may take
  // EXPORT_REQUEST_TIMEOUT_MS. Set before the store is loaded, which reads it once.
  process.env.DYNAMODB_REQUEST_TIMEOUT_MS ||= String(EXPORT_REQUEST_TIMEOUT_MS);
  const { exportViews } = await import('./analytics/export.ts');
  return exportViews(values.to, (line) => process.stderr.write(`${line}\n`));
}

/** `sql "QUERY"`, `sql --saved NAME`, `sql --list`: DuckDB over the export in `--from`. */
async function sql(query: string | undefined): Promise<unknown> {
  const { SAVED_QUERIES, savedQuery } = await import('./analytics/saved-queries.ts');
  if (values.list) return SAVED_QUERIES.map(({ name, description }) => ({ name, description }));
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new UsageError(`--format is json or csv, got "${format}"`);
  if ((query === undefined) === (values.saved === undefined))
    throw new UsageError('sql needs a query, or --saved NAME (sql --list names them), not both');
  const saved = values.saved === undefined ? undefined : savedQuery(values.saved);
  if (values.saved !== undefined && !saved)
    throw new UsageError(
      `no saved query "${values.saved}"; there are: ${SAVED_QUERIES.map((q) => q.name).join(', ')}`,
    );
  const { AnalyticsEngine } = await import('./analytics/duckdb.ts');
  const engine = await AnalyticsEngine.overExport(values.from ?? DEFAULT_EXPORT_DIR);
  try {
    const rows = await engine.query(saved?.sql ?? query ?? '');
    if (format === 'json') return rows;
    const { toCsv } = await import('./analytics/csv.ts');
    return new Printed(toCsv(rows));
  } finally {
    engine.close();
  }
}

/** True for an error that says DynamoDB (or whatever the CLI reached) is not listening. */
function isUnreachable(error: unknown): boolean {
  const codes = [(error as { code?: string }).code, (error as { cause?: { code?: string } }).cause?.code];
  return codes.some((c) => c === 'ECONNREFUSED' || c === 'ECONNRESET' || c === 'EHOSTUNREACH');
}

/** Why the command failed, in one line. */
function explain(error: Error): string {
  if (Array.isArray((error as unknown as { issues?: unknown }).issues)) {
    const issues = (error as unknown as { issues: { path: unknown[]; message: string }[] }).issues;
    return `invalid policy: ${issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).join('; ')}`;
  }
  if (isUnreachable(error) && !values.stack)
    return `cannot reach DynamoDB at ${process.env.DYNAMODB_ENDPOINT} (${error.message}): is npm start running? The CLI reads the settings npm start reads: set DYNAMODB_LOCAL_PORT (or DYNAMODB_ENDPOINT) and TABLE_PREFIX as it was started with`;
  return `${error.name}: ${error.message}`;
}

run()
  .then((result) => {
    const text =
      result === HELP ? USAGE : result instanceof Printed ? result.text : JSON.stringify(result, null, 2);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  })
  .catch((error: Error) => {
    const argument = error instanceof UsageError || Array.isArray((error as { issues?: unknown }).issues);
    const line = error instanceof UsageError || error instanceof CliError ? error.message : explain(error);
    process.stderr.write(
      `npm run cli: ${line}${argument ? ' (npm run cli -- --help lists the commands)' : ''}\n`,
    );
    // As Unix tools do: 2 for arguments it cannot take, 1 for a command that failed.
    process.exitCode = argument ? 2 : 1;
  });
