/**
 * Where a warm hook call's CPU goes, by package: a V8 CPU profile of the calls (`cpu-driver.mjs`,
 * the import and the warm-up left out), each sample given to the nearest frame of the bundle on its
 * stack, mapped through the bundle's source maps to the package (or the project's folder) it comes
 * from. Node's own work (HTTP, crypto for the request signature) counts for the package that asked
 * for it; samples with no frame of the bundle on the stack (the garbage collector, I/O callbacks) are
 * Node's (the driver that calls the handler is not the bundle's either).
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { url: string; lineNumber: number; columnNumber: number; functionName: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Samples with no frame of the bundle on their stack: the garbage collector, I/O callbacks, promise jobs. */
const NODE = 'Node.js (no bundle frame: GC, I/O, promise jobs)';

const GROUPS: [RegExp, string][] = [
  [/^@(aws-sdk|smithy|aws)\//, 'AWS SDK'],
  [/^@middy\//, 'middy'],
  [/^zod$/, 'zod'],
  [/^@aws-lambda-powertools\//, 'Powertools'],
];

/** The group a source path belongs to: an npm package's group, or the project's top folder. */
function groupOf(source: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];
  if (pkg) return GROUPS.find(([pattern]) => pattern.test(pkg))?.[1] ?? pkg;
  const folder = /(?:^|\/)(shared\/[^/]+|functions)\//.exec(source)?.[1];
  return folder ? `wcs-hooks ${folder}` : 'wcs-hooks (other)';
}

/** Share of the profile's busy time by group, largest first. */
export function cpuShares(profileFile: string, bundleDir: string): [string, number][] {
  const inBundle = pathToFileURL(bundleDir).href;
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (url: string) => {
    if (!maps.has(url)) {
      try {
        maps.set(url, new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8'))));
      } catch {
        maps.set(url, undefined);
      }
    }
    return maps.get(url);
  };
  const groupOfNode = new Map<number, string>();
  const groupFor = (id: number): string => {
    const known = groupOfNode.get(id);
    if (known) return known;
    let group = NODE;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame?.url.startsWith(inBundle)) continue;
      const source = mapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
      group = source && 'originalSource' in source ? groupOf(source.originalSource) : 'bundle (no source)';
      break;
    }
    groupOfNode.set(id, group);
    return group;
  };
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const name = byId.get(id)?.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') return;
    const dt = profile.timeDeltas[i] ?? 0;
    const group = groupFor(id);
    time.set(group, (time.get(group) ?? 0) + dt);
    total += dt;
  });
  return [...time.entries()].map(([g, t]) => [g, t / total] as [string, number]).sort((a, b) => b[1] - a[1]);
}
