/**
 * Which WCS nodes wcs-hooks sends requests to (the node poller's, the sender's), and where: nodes
 * are known, not claimed. A `nodeId` is `<id>@<ip>` (reference §1.2), client-reachable data (a
 * forged hook, a proxy): it alone never decides where a request goes, with the WCS REST credentials.
 *
 * - A node an operator registered wins: its URL stored in the configuration store (kind `node`, by
 *   `nodeId` or by IP), managed with `npm run cli -- nodes put|list|remove`, cached here for
 *   `NODE_URL_CACHE_SECONDS` (default 60). Any URL the operator gives is used as given.
 * - Otherwise a node is asked at its default REST endpoint, `http://<ip>:8081/rest-api` (reference
 *   §4), only when `NODE_DISCOVERY` lets hooks vouch for it: `signed` (the default) when a hook from
 *   it passed signature verification (its node item has `signedHookAt`), `any` when any hook named
 *   it; `registered` never. Either way its IP must be a literal address inside the allowed networks
 *   (`WCS_ALLOWED_NETWORKS`, CIDRs; by default the private and loopback ranges, not link-local).
 *
 * So a push to `n@169.254.169.254` or `n@host:port/path#` never leaves, nor does one to a private
 * address that only an unsigned hook named.
 */
import { BlockList, isIP } from 'node:net';
import { setting } from '../kernel/config.ts';
import { deleteConfig, getConfig, listConfig, putConfig } from '../state/config-store.ts';
import { getNode } from '../state/monitoring.ts';

/**
 * A request to this node is refused: it is not registered and its hooks do not vouch for it
 * (`NODE_DISCOVERY`), its id is not `<id>@<ip>`, or its IP is outside the allowed networks.
 */
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
/** How nodes learnt from hooks may be asked: `registered` never, `signed` when a signed hook named them, `any` always. */
const discovery = setting('NODE_DISCOVERY');
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

/** What hooks have told of a node, as far as asking it goes (its node item, `state/monitoring.ts`). */
export interface NodeVouching {
  /** When a hook from it last passed signature verification (epoch ms); absent: never. */
  readonly signedHookAt?: number;
}

const vouching = new Map<string, { facts: NodeVouching; until: number }>();

/** The node item's vouching facts, cached as the URLs are. */
async function vouchingOf(nodeId: string): Promise<NodeVouching> {
  const cached = vouching.get(nodeId);
  if (cached && cached.until > Date.now()) return cached.facts;
  const node = await getNode(nodeId);
  const facts = node?.signedHookAt === undefined ? {} : { signedHookAt: node.signedHookAt };
  vouching.set(nodeId, { facts, until: Date.now() + cacheMs });
  if (vouching.size > 10_000) vouching.clear();
  return facts;
}

/** Where requests to a node go, and whether an operator registered it there. */
export interface NodeTarget {
  /** The REST API base URL, without a trailing slash. */
  readonly url: string;
  /** An operator gave this URL (`nodes put`); otherwise the default one, its hooks vouching for it. */
  readonly registered: boolean;
}

/**
 * Where requests to node `nodeId` go, from what is known of it: `registered`, the URLs an operator
 * gave for its nodeId and for its IP (`nodes put`); `vouching`, what its hooks told (its node item).
 * Its registered URL (by nodeId, then by IP); else, when its hooks vouch for it under
 * `NODE_DISCOVERY` and its IP is allowed, its default one. `NodeRefusedError`, saying what to
 * change, when it may not be asked.
 */
export function targetFrom(
  nodeId: string,
  registered: { readonly byId?: string | undefined; readonly byIp?: string | undefined },
  vouching: NodeVouching,
): NodeTarget {
  if (registered.byId) return { url: registered.byId, registered: true };
  const ip = nodeIpOf(nodeId);
  if (!ip) throw new NodeRefusedError(`nodeId "${nodeId.slice(0, 200)}" does not end in @<IP address>`);
  if (registered.byIp) return { url: registered.byIp, registered: true };
  const register = `give its REST URL with \`nodes put ${ip} <url>\``;
  if (!allowed.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6')) {
    throw new NodeRefusedError(
      `node ${ip} is outside the allowed networks (WCS_ALLOWED_NETWORKS): ${register}, or widen them`,
    );
  }
  if (discovery === 'registered')
    throw new NodeRefusedError(`node ${ip} is not registered (NODE_DISCOVERY=registered): ${register}`);
  if (discovery === 'signed' && vouching.signedHookAt === undefined)
    throw new NodeRefusedError(
      `node ${ip} is not registered and no signed hook has named it (NODE_DISCOVERY=signed: hooks vouch for a node only when their signatures are verified, WCS_HOOK_SECRET): ${register}`,
    );
  return { url: `http://${isIP(ip) === 6 ? `[${ip}]` : ip}:8081/rest-api`, registered: false };
}

/**
 * Where requests to node `nodeId` go (`targetFrom`), its registered URLs read from the
 * configuration store and its node item when `known` does not say (both cached).
 */
export async function nodeTargetOf(nodeId: string, known?: NodeVouching): Promise<NodeTarget> {
  const byId = await configuredUrl(nodeId);
  const ip = nodeIpOf(nodeId);
  const byIp = byId || !ip ? undefined : await configuredUrl(ip);
  const vouchedBy = byId || byIp || discovery !== 'signed' ? {} : (known ?? (await vouchingOf(nodeId)));
  return targetFrom(nodeId, { byId, byIp }, vouchedBy);
}

/** The REST API base URL of node `nodeId` (`nodeTargetOf`); `NodeRefusedError` when it may not be asked. */
export async function restBaseUrlOf(nodeId: string, known?: NodeVouching): Promise<string> {
  return (await nodeTargetOf(nodeId, known)).url;
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
