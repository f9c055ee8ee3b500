/**
 * The released templates the upgrade test compares today's synthesis with: one folder per release,
 * `infra/released/<version>/<stack>.template.json`, written by `npm run release:keep -- <version>`
 * when a version is tagged (docs/deploy.md, "Upgrading"). Each is synthesized as here: `cdk.json`'s
 * context as `cdk deploy` gives it, the `prod` stage, a concrete account and Region, no bundling (code
 * is not data), construct paths kept.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { buildApp } from '../build-app.ts';
import { STATEFUL_TYPES, type Template } from './compare.ts';

export const RELEASED_DIR = new URL('../released/', import.meta.url);

/** How a release is synthesized; the upgrade test synthesizes today's stack the same way. */
export const RELEASE_CONTEXT = {
  stage: 'prod',
  'aws:cdk:bundling-stacks': [],
  'aws:cdk:enable-path-metadata': true,
};
export const RELEASE_ENV = { account: '111111111111', region: 'eu-west-1' };

/** Today's stack as a release is synthesized, with `context` added (e.g. `deployedIndexes`). */
export function synthesizeRelease(context: Record<string, unknown> = {}) {
  const { app, stack } = buildApp({ context: { ...RELEASE_CONTEXT, ...context } }, RELEASE_ENV);
  const assembly = app.synth();
  return {
    stackName: stack.stackName,
    template: assembly.getStackByName(stack.stackName).template as Template,
  };
}

/**
 * What is kept of a release: its stateful resources (what an upgrade must not lose) and its outputs
 * (what the CLI and operators read); the rest is rebuilt at every deploy.
 */
export function keptOf(template: Template & { Outputs?: unknown }): Template & { Outputs?: unknown } {
  const resources = Object.entries(template.Resources ?? {}).filter(([, r]) => STATEFUL_TYPES[r.Type]);
  return { Resources: Object.fromEntries(resources), Outputs: template.Outputs };
}

/** Every kept release: its version (folder), stack name and template. */
export function releasedTemplates(): { version: string; stackName: string; template: Template }[] {
  return readdirSync(RELEASED_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      readdirSync(new URL(`${dir.name}/`, RELEASED_DIR))
        .filter((file) => file.endsWith('.template.json'))
        .map((file) => ({
          version: dir.name,
          stackName: file.replace(/\.template\.json$/, ''),
          template: JSON.parse(
            readFileSync(new URL(`${dir.name}/${file}`, RELEASED_DIR), 'utf8'),
          ) as Template,
        })),
    );
}

/** Writes today's synthesis as release `version`; returns the file written. */
export function keepRelease(version: string): string {
  if (!/^v?\d+\.\d+\.\d+([-.+][\w.]+)?$/.test(version))
    throw new Error(`${JSON.stringify(version)} is not a version (1.2.3)`);
  const { stackName, template } = synthesizeRelease();
  const dir = new URL(`${version}/`, RELEASED_DIR);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${stackName}.template.json`, dir);
  writeFileSync(file, `${JSON.stringify(keptOf(template), null, 2)}\n`);
  return file.pathname;
}
