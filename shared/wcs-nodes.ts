/**
 * Which WCS REST API serves a session: the node in its `nodeId` (`<id>@<ip>`, reference §1.2). A
 * configured map (`WCS_REST_URLS`, JSON, keyed by `nodeId` or by IP) wins; otherwise the node's
 * default REST endpoint, `http://<ip>:8081/rest-api` (reference §4).
 */
const configured: Readonly<Record<string, string>> = JSON.parse(process.env.WCS_REST_URLS ?? '{}');

/** The REST API base URL of the node `nodeId`, without a trailing slash. */
export function restBaseUrlOf(nodeId: string): string {
  const ip = nodeId.includes('@') ? nodeId.slice(nodeId.lastIndexOf('@') + 1) : nodeId;
  const url =
    configured[nodeId] ?? configured[ip] ?? `http://${ip.includes(':') ? `[${ip}]` : ip}:8081/rest-api`;
  return url.replace(/\/+$/, '');
}
