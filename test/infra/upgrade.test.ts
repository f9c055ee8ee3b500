/**
 * Upgrades, on templates: today's stack, synthesized as releases are (`infra/upgrade/release.ts`),
 * keeps the data of every kept release (`infra/released/<version>/`), and given a deployed stack's
 * indexes (what `npm run deploy` passes) changes one global index per table at most, until the tables
 * have today's indexes. docs/deploy.md, "Upgrading".
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { stageConfigFrom } from '../../infra/config.ts';
import { StateTables } from '../../infra/constructs/state-tables.ts';
import { compareTemplates, MIGRATIONS, type Template as TemplateJson } from '../../infra/upgrade/compare.ts';
import {
  type DeployedIndexes,
  INDEX_CHANGES_LEFT,
  indexChanges,
  indexesOfTemplate,
} from '../../infra/upgrade/indexes.ts';
import { releasedTemplates, synthesizeRelease } from '../../infra/upgrade/release.ts';

let today: TemplateJson;

beforeAll(() => {
  today = synthesizeRelease().template;
}, 300_000);

/** The state tables alone, as the stack builds them (same construct ids, so same logical ids). */
function tablesGiven(deployedIndexes?: DeployedIndexes) {
  const stack = new Stack(new App(), 'wcs-hooks-prod');
  new StateTables(stack, 'State', { ...(deployedIndexes && { deployedIndexes }) });
  return stack;
}

const templateOf = (stack: Stack) => Template.fromStack(stack).toJSON() as TemplateJson;

/** Runs `npm run deploy`'s steps from `deployed`: each step's template, until nothing is left. */
function deploysFrom(deployed: TemplateJson): TemplateJson[] {
  const steps: TemplateJson[] = [];
  let now = deployed;
  for (let i = 0; i < 20; i++) {
    const next = templateOf(tablesGiven(indexesOfTemplate(now)));
    const was = indexesOfTemplate(now);
    const changes = Object.entries(indexesOfTemplate(next)).map(([id, indexes]) =>
      indexChanges(was[id] ?? indexes, indexes),
    );
    if (changes.every((c) => c.length === 0)) return steps;
    for (const c of changes) expect(c.length).toBeLessThanOrEqual(1);
    steps.push(next);
    now = next;
  }
  throw new Error('the deploys do not end');
}

const fixture: TemplateJson = JSON.parse(
  readFileSync(new URL('../fixtures/upgrade/6ac748c-2026-11-22.template.json', import.meta.url), 'utf8'),
);

describe.each(releasedTemplates().map((r) => [r.version, r] as const))(
  'an upgrade from release %s',
  (_, release) => {
    it('is of the stack synthesized today', () => {
      expect(release.stackName).toBe('wcs-hooks-prod');
    });

    it('loses no data: no stateful resource removed or replaced, no key schema changed, but by a known migration', () => {
      const findings = compareTemplates(release.template, today);

      expect(findings.losses).toEqual([]);
    });

    it('reaches today’s indexes by deploys that change one index per table at most', () => {
      const steps = deploysFrom(release.template);
      const last = steps.at(-1) ?? release.template;

      const wanted = indexesOfTemplate(today);
      for (const [id, indexes] of Object.entries(indexesOfTemplate(last)))
        if (wanted[id]) expect(indexChanges(indexes, wanted[id])).toEqual([]);
    });
  },
);

describe('the state tables given the deployed indexes', () => {
  it('have the logical ids of the stack’s tables, which the deployed indexes are keyed by', () => {
    const alone = Object.keys(indexesOfTemplate(templateOf(tablesGiven())));

    expect(alone.sort()).toEqual(Object.keys(indexesOfTemplate(today)).sort());
  });

  it('take the stack of 22 November 2026 to today’s in four deploys, saying at each what is left', () => {
    const steps = deploysFrom(fixture);

    expect(steps).toHaveLength(4);
    const first = tablesGiven(indexesOfTemplate(fixture));
    const streams = templateOf(first).Resources?.Statestreams22DDF55C;
    expect(streams?.Metadata?.[INDEX_CHANGES_LEFT]).toEqual([
      'create streams.byDay',
      'create streams.liveByNode',
      'delete streams.liveByApp',
    ]);
    Annotations.fromStack(first).hasInfo(
      '/wcs-hooks-prod/State/streams',
      Match.stringLikeRegexp('create streams.liveStreams now; left .*run `npm run deploy` again'),
    );
    expect(
      templateOf(tablesGiven(indexesOfTemplate(steps[3] as TemplateJson))).Resources?.Statestreams22DDF55C
        ?.Metadata,
    ).toBeUndefined();
  });

  it('are all created with their indexes where the table is not deployed yet', () => {
    const given = templateOf(tablesGiven({ SomeOtherTable: [] }));

    expect(indexesOfTemplate(given)).toEqual(indexesOfTemplate(templateOf(tablesGiven())));
  });
});

describe('context deployedIndexes', () => {
  it('is read as npm run deploy passes it: JSON text of the indexes by logical id', () => {
    const value = JSON.stringify(indexesOfTemplate(fixture));
    const config = stageConfigFrom(new App({ context: { deployedIndexes: value } }).node);

    expect(config.deployedIndexes).toEqual(indexesOfTemplate(fixture));
  });

  it.each([['[]'], ['{"Statestreams22DDF55C": {}}'], ['{"Statestreams22DDF55C": [{"name": "x"}]}']])(
    'refuses %s',
    (value) => {
      expect(() => stageConfigFrom(new App({ context: { deployedIndexes: value } }).node)).toThrow(
        /context "deployedIndexes" must be/,
      );
    },
  );
});

describe('the known migrations', () => {
  it('each name a command of the CLI and a section of docs/deploy.md', () => {
    const cli = readFileSync(new URL('../../infra/cli.ts', import.meta.url), 'utf8');
    const deploy = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    for (const migration of MIGRATIONS) {
      const name = migration.command.match(/migrate (\S+)/)?.[1];
      expect(cli).toContain(`migrate ${name}`);
      const anchor = migration.docs.split('#')[1] ?? '';
      const headings = [...deploy.matchAll(/^#+ (.*)$/gm)].map((m) =>
        m[1]
          ?.toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      );
      expect(headings).toContain(anchor);
    }
  });
});
