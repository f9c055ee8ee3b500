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
 *   send   --session S | --user U [--app A] | --stream N [--app A] | --app A  --payload '{...}' [--async]
 *   nodes put NODE URL | nodes list | nodes remove NODE    (NODE: a nodeId <id>@<ip>, or an IP)
 *   endpoints put CODE --logic relay|broadcast|echo|lambda:ARN|module:PATH|webhook:URL [--app A]
 *             [--description D] [--[no-]secured] [--roles R,...] [--webhook-secret S | --generate-secret]
 *             [--timeout-ms N] [--max-message-bytes N] [--messages-per-second N] [--burst N]
 *             [--max-connections-per-user N] [--allowed-origins O,...]
 *   endpoints get CODE | endpoints list | endpoints delete CODE | endpoints who CODE
 *   endpoints send CODE [--user U] --text T [--wcs]     (no --user: to everyone on it)
 *   endpoints messages CODE --user U                    (the last messages sent to U; `*`: broadcasts)
 *   migrate apps-to-config [--from TABLE] [--dry-run]   (docs/deploy.md, "Upgrading")
 *
 * Argument parsing is Node's own (`util.parseArgs`); every command prints JSON. With `--stack`,
 * `send` always queues a job: the sender in AWS delivers it.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { TABLES } from '#shared/store/tables.ts';

const USAGE = `usage: npm run cli -- [--stack NAME] <command>
  token --app A --sub U [--publish P,...] [--play P,...] [--data] [--roles R,...] [--ttl SECONDS] [--secret S]
  apps put A [--admission open|token|closed] [--hs256-secret S | --generate-secret] [--jwks-url URL]
             [--audience X] [--issuer I] [--token-path PATH] [--[no-]single-publisher]
             [--max-players N | --no-max-players] [--[no-]force-record] [--[no-]publish-requires-grant]
             [--[no-]play-requires-grant] [--data-max-bytes N] [--[no-]allow-relay]
  apps get A
  apps list
  revoke --user U [--app A] | --session S
  send --session S | --user U [--app A] | --stream N [--app A] | --app A --payload JSON [--async]
  nodes put NODE URL          the WCS REST API of a node (NODE: its nodeId <id>@<ip>, or its IP)
  nodes list                  every node known from its hooks, its state (up, down and why), its URL
  nodes remove NODE
  endpoints put CODE --logic relay|broadcast|echo|lambda:ARN|module:PATH|webhook:URL [--app A]
            [--description D] [--[no-]secured] [--roles R,...] [--webhook-secret S | --generate-secret]
            [--timeout-ms N] [--max-message-bytes N] [--messages-per-second N] [--burst N]
            [--max-connections-per-user N] [--allowed-origins O,...]
  endpoints get CODE | endpoints list | endpoints delete CODE
  endpoints who CODE          who is on it, and how many connections each has
  endpoints send CODE [--user U] --text T [--wcs]   sendMessage (no --user: to everyone on it)
  endpoints messages CODE --user U                  the last messages sent to U (* for broadcasts)
  migrate apps-to-config [--from TABLE] [--dry-run] copy the app policies of an older stack's apps
                              table (TABLE, or APPS_TABLE; locally <prefix>-apps) into config`;

class UsageError extends Error {}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  allowNegative: true,
  options: {
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
    text: { type: 'string' },
    wcs: { type: 'boolean' },
    from: { type: 'string' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

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
  env.DYNAMODB_ENDPOINT ??= `http://127.0.0.1:${env.DYNAMODB_LOCAL_PORT ?? 8000}`;
  // The local runtime loads module logic from its working directory (`npm start` sets the same).
  env.ENDPOINT_MODULE_DIR ??= process.cwd();
  const { exportTableNames } = await import('./local/tables.ts');
  exportTableNames(env.TABLE_PREFIX ?? 'wcs-hooks-local');
}

const list = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

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

async function run(): Promise<unknown> {
  const [command, sub, name, extra] = positionals;
  if (values.help || !command) throw new UsageError('');
  await connect();
  const now = new Date();
  if (command === 'token') {
    const { findAppPolicy } = await import('#shared/state/apps.ts');
    const { issueClientToken } = await import('#shared/admission/tokens.ts');
    if (!values.app || !values.sub) throw new UsageError('token needs --app and --sub');
    const policy = await findAppPolicy(values.app);
    const secret = values.secret ?? policy?.hs256Secret;
    if (!secret)
      throw new UsageError(
        `app ${values.app} has no HS256 secret: pass --secret, or set one with apps put --generate-secret`,
      );
    const ttl = positiveInteger('ttl', values.ttl) ?? 3600;
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
  if (command === 'apps') {
    const { findAppPolicy, listAppPolicies, putAppPolicy, redacted } = await import('#shared/state/apps.ts');
    if (sub === 'list') return (await listAppPolicies()).map(redacted);
    if (!name) throw new UsageError(`apps ${sub ?? ''} needs an app key`);
    if (sub === 'get') {
      const policy = await findAppPolicy(name);
      if (!policy) throw new UsageError(`app ${name} has no policy; it follows DEFAULT_APP_POLICY`);
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
        await removeNodeUrl(name);
        return { removed: name };
      }
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError((error as Error).message);
    }
    throw new UsageError(`unknown nodes command "${sub ?? ''}"`);
  }
  if (command === 'endpoints') return endpoints(sub, name);
  if (command === 'migrate') return migrate(sub);
  throw new UsageError(`unknown command "${command}"`);
}

/** `migrate ...`: moves data a newer version keeps elsewhere (docs/deploy.md, "Upgrading"). */
async function migrate(name: string | undefined): Promise<unknown> {
  if (name !== 'apps-to-config') throw new UsageError(`unknown migration "${name ?? ''}"`);
  const local = values.stack ? undefined : `${process.env.TABLE_PREFIX ?? 'wcs-hooks-local'}-apps`;
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

/** The operator API of the local runtime (`npm start`): what the CLI asks for what only it can do locally. */
async function localApi(method: string, path: string, body?: unknown): Promise<unknown> {
  const token = process.env.API_TOKEN;
  if (!token)
    throw new UsageError("set API_TOKEN (the local runtime's operator token) to send through npm start");
  const base = `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const response = await fetch(`${base}/api/endpoints${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).catch((error: Error) => {
    throw new UsageError(`the local runtime is not answering at ${base} (npm start): ${error.message}`);
  });
  const answer = (await response.json()) as { message?: string };
  if (!response.ok) throw new UsageError(`${response.status}: ${answer.message ?? JSON.stringify(answer)}`);
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
      if (!found) throw new UsageError(`no endpoint ${code}`);
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
    };
    const merged = {
      ...existing,
      ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
    };
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
    if (!(await store.deleteEndpoint(code))) throw new UsageError(`no endpoint ${code}`);
    return { deleted: code };
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
    if (!via) throw new UsageError(`stack ${values.stack} has no output EndpointsManagementUrl`);
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

run()
  .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
  .catch((error: Error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `${error.message}\n` : ''}${USAGE}\n`);
    } else if (Array.isArray((error as unknown as { issues?: unknown }).issues)) {
      const issues = (error as unknown as { issues: { path: unknown[]; message: string }[] }).issues;
      process.stderr.write(
        `invalid policy: ${issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).join('; ')}\n`,
      );
    } else {
      process.stderr.write(`${error.name}: ${error.message}\n`);
    }
    process.exitCode = 1;
  });
