/**
 * Which WCS REST API serves a session: the node in its `nodeId` (`<id>@<ip>`, reference §1.2).
 *
 * - An operator's URL for the node wins: stored in the configuration store (kind `node`, by
 *   `nodeId` or by IP), managed with `npm run cli -- nodes put|list|remove`, cached here for
 *   `NODE_URL_CACHE_SECONDS` (default 60).
 * - Otherwise the node's default REST endpoint, `http://<ip>:8081/rest-api` (reference §4), and
 *   only for a `nodeId` whose part after `@` is a literal IP address inside the allowed networks
 *   (`WCS_ALLOWED_NETWORKS`, CIDRs, comma-separated; by default the private and loopback ranges).
 *
 * So where a push goes, with the WCS REST credentials, is never decided by a hook body alone: a
 * `nodeId` is client-reachable data (a forged hook, a proxy), and a push to
 * `n@169.254.169.254` or `n@host:port/path#` must not leave with our credentials.
 */
import { BlockList, isIP } from 'node:net';
import { setting } from '../kernel/config.ts';
import { deleteConfig, getConfig, listConfig, putConfig } from '../state/config-store.ts';

/** A push to this node is refused: its id is not `<id>@<ip>`, or its IP is outside the allowed networks. */
export class NodeRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeRefusedError';
  }
}

/** The default allowed networks: RFC 1918, loopback, IPv6 unique-local and loopback. Not link-local (169.254/16: the instance metadata service). */
export const DEFAULT_ALLOWED_NETWORKS =
  '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,fc00::/7,::1/128';

/** The networks `spec` lists (`a.b.c.d/n`, `x::/n`, comma-separated); throws naming a malformed one. */
export function parseNetworks(spec: string): BlockList {
  const list = new BlockList();
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address, bits] = entry.split('/');
    const family = address ? isIP(address) : 0;
    const prefix = Number(bits);
    const max = family === 4 ? 32 : 128;
    if (!address || family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
      throw new Error(`WCS_ALLOWED_NETWORKS: "${entry}" is not a network (a.b.c.d/n or x::/n)`);
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

const allowed = parseNetworks(setting('WCS_ALLOWED_NETWORKS') || DEFAULT_ALLOWED_NETWORKS);
const cacheMs = setting('NODE_URL_CACHE_SECONDS') * 1000;

/** The IP address a `nodeId` names (`<id>@<ip>`), an IPv4-mapped IPv6 one as IPv4; `undefined` if none. */
export function nodeIpOf(nodeId: string): string | undefined {
  const at = nodeId.lastIndexOf('@');
  const ip = nodeId.slice(at + 1);
  if (at < 1 || isIP(ip) === 0) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

/** The operator's REST URL for a node, validated: an absolute http(s) URL with no credentials, query or fragment. */
export function validRestUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`"${raw}" is not an http(s) URL`);
  if (url.username || url.password)
    throw new Error('the URL must not carry credentials: they come from the WCS REST credentials');
  if (url.search || url.hash) throw new Error('the URL must not have a query or a fragment');
  return url.toString().replace(/\/+$/, '');
}

/** A key of the node map: a `nodeId` (`<id>@<ip>`) or a node IP. Throws when it is neither. */
export function validNodeKey(key: string): string {
  if (isIP(key) !== 0 || nodeIpOf(key) !== undefined) return key;
  throw new Error(`"${key}" is neither a WCS nodeId (<id>@<ip>) nor an IP address`);
}

const cache = new Map<string, { url: string | undefined; until: number }>();

async function configuredUrl(key: string): Promise<string | undefined> {
  const cached = cache.get(key);
  if (cached && cached.until > Date.now()) return cached.url;
  const value = await getConfig('node', key);
  const url = typeof value === 'object' && value !== null ? (value as { url?: unknown }).url : undefined;
  const found = typeof url === 'string' ? url : undefined;
  cache.set(key, { url: found, until: Date.now() + cacheMs });
  return found;
}

/** The REST API base URL of the node `nodeId`, without a trailing slash; `NodeRefusedError` when a push there is refused. */
export async function restBaseUrlOf(nodeId: string): Promise<string> {
  const byId = await configuredUrl(nodeId);
  if (byId) return byId;
  const ip = nodeIpOf(nodeId);
  if (!ip) throw new NodeRefusedError(`nodeId "${nodeId.slice(0, 200)}" does not end in @<IP address>`);
  const byIp = await configuredUrl(ip);
  if (byIp) return byIp;
  if (!allowed.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6')) {
    throw new NodeRefusedError(
      `node ${ip} is outside the allowed networks (WCS_ALLOWED_NETWORKS); give its REST URL with \`nodes put\` or widen them`,
    );
  }
  return `http://${isIP(ip) === 6 ? `[${ip}]` : ip}:8081/rest-api`;
}

/** A configured node URL, as the CLI shows it. */
export interface NodeUrl {
  readonly node: string;
  readonly url: string;
  readonly updatedAt: string;
}

/** Stores the REST URL of node `key` (a `nodeId` or an IP); both validated, with a clear error. */
export async function putNodeUrl(key: string, url: string): Promise<NodeUrl> {
  const node = validNodeKey(key);
  const valid = validRestUrl(url);
  await putConfig('node', node, { url: valid });
  cache.delete(node);
  return { node, url: valid, updatedAt: new Date().toISOString() };
}

/** Every configured node URL. */
export async function listNodeUrls(): Promise<NodeUrl[]> {
  return (await listConfig('node')).map((entry) => ({
    node: entry.id,
    url: String((entry.value as { url?: unknown } | null)?.url),
    updatedAt: entry.updatedAt,
  }));
}

/** Removes the URL of node `key`; throws when none is configured. */
export async function removeNodeUrl(key: string): Promise<void> {
  if (!(await deleteConfig('node', key))) throw new Error(`no REST URL is configured for node "${key}"`);
  cache.delete(key);
}
