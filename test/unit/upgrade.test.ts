/**
 * The rules of an upgrade, on templates: which changes lose data, and how a table's global indexes
 * go from the deployed ones to the wanted ones one per deploy (docs/deploy.md, "Upgrading").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { compareTemplates, type Template } from '../../infra/upgrade/compare.ts';
import {
  type IndexShape,
  indexChanges,
  indexesOfTemplate,
  nextIndexStep,
} from '../../infra/upgrade/indexes.ts';

const S = (name: string) => ({ name, type: 'S' as const });
const index = (indexName: string, partition = 'pk', projection: IndexShape['projection'] = 'KEYS_ONLY') => ({
  indexName,
  partitionKey: S(partition),
  projection,
});

/** A template of one global table with `indexes`, as CloudFormation has it. */
function tableTemplate(
  indexes: IndexShape[],
  props: Record<string, unknown> = {},
  id = 'Statestreams22DDF55C',
) {
  const keys = new Map<string, string>([['id', 'S']]);
  for (const i of indexes)
    for (const key of [i.partitionKey, i.sortKey]) if (key) keys.set(key.name, key.type);
  return {
    Resources: {
      [id]: {
        Type: 'AWS::DynamoDB::GlobalTable',
        Metadata: { 'aws:cdk:path': 'wcs-hooks-prod/State/streams/Resource' },
        Properties: {
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [...keys].map(([name, type]) => ({
            AttributeName: name,
            AttributeType: type,
          })),
          GlobalSecondaryIndexes: indexes.map((i) => ({
            IndexName: i.indexName,
            KeySchema: [
              { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
              ...(i.sortKey ? [{ AttributeName: i.sortKey.name, KeyType: 'RANGE' }] : []),
            ],
            Projection:
              typeof i.projection === 'string'
                ? { ProjectionType: i.projection }
                : { ProjectionType: 'INCLUDE', NonKeyAttributes: i.projection },
          })),
          ...props,
        },
      },
    },
  };
}

/** The deploys `npm run deploy` makes from `deployed` to `wanted`: the indexes after each. */
function walk(deployed: readonly IndexShape[], wanted: readonly IndexShape[]): (readonly IndexShape[])[] {
  const steps: (readonly IndexShape[])[] = [];
  let now = deployed;
  for (let i = 0; i < 20; i++) {
    const step = nextIndexStep(now, wanted);
    if (!step.change) return steps;
    expect(indexChanges(now, step.indexes)).toHaveLength(1);
    now = step.indexes;
    steps.push(now);
  }
  throw new Error('the steps do not end');
}

/**
 * A kept template of an older commit. `6ac748c-2026-11-22` is the stack of 6ac748c (the last commit of
 * 22 November 2026) synthesized as releases are (`infra/upgrade/release.ts`: `prod`, account
 * 111111111111, `eu-west-1`, no bundling, construct paths), with its cdk-nag plugin left out (today's
 * cdk-nag refuses that version) and trimmed to what a release keeps (`keptOf`).
 */
const fixture = (name: string): Template =>
  JSON.parse(readFileSync(new URL(`../fixtures/upgrade/${name}`, import.meta.url), 'utf8'));

describe('the index steps of a table', () => {
  it('creates the missing indexes one per deploy, then deletes the unwanted ones, then stops', () => {
    const deployed = [index('byName'), index('liveByApp'), index('failedByApp')];
    const wanted = [
      index('byName'),
      index('liveStreams'),
      index('byDay'),
      index('liveByNode'),
      index('failedByApp'),
    ];

    const steps = walk(deployed, wanted);

    expect(steps.map((s) => s.map((i) => i.indexName).sort())).toEqual([
      ['byName', 'failedByApp', 'liveByApp', 'liveStreams'],
      ['byDay', 'byName', 'failedByApp', 'liveByApp', 'liveStreams'],
      ['byDay', 'byName', 'failedByApp', 'liveByApp', 'liveByNode', 'liveStreams'],
      ['byDay', 'byName', 'failedByApp', 'liveByNode', 'liveStreams'],
    ]);
    expect(nextIndexStep(deployed, wanted).left).toEqual([
      { kind: 'create', indexName: 'byDay' },
      { kind: 'create', indexName: 'liveByNode' },
      { kind: 'delete', indexName: 'liveByApp' },
    ]);
  });

  it('changes an index kept by name with other keys by deleting it in one deploy and creating it in the next', () => {
    const steps = walk([index('byDay', 'day')], [index('byDay', 'dayBucket')]);

    expect(steps).toEqual([[], [index('byDay', 'dayBucket')]]);
  });

  it('keeps an index whose projection lists the same attributes in another order', () => {
    const step = nextIndexStep([index('byApp', 'app', ['b', 'a'])], [index('byApp', 'app', ['a', 'b'])]);

    expect(step.change).toBeUndefined();
    expect(step.left).toEqual([]);
  });

  it('reads a template’s indexes back as they were defined, key types and projection included', () => {
    const defined = [
      { ...index('byDay', 'day', ['name', 'app']), sortKey: { name: 'at', type: 'N' as const } },
      index('open', 'node', 'ALL'),
    ];

    expect(indexesOfTemplate(tableTemplate(defined))).toEqual({ Statestreams22DDF55C: defined });
  });
});

describe('the comparison of a released template with today’s', () => {
  it('finds nothing between a template and itself', () => {
    const template = tableTemplate([index('byName')]);

    expect(compareTemplates(template, template)).toEqual({ losses: [], indexSteps: [], migrations: [] });
  });

  it.each([
    [
      'a table given a name',
      tableTemplate([], { TableName: 'streams' }),
      /TableName changes, which replaces it/,
    ],
    [
      'a table given another key',
      tableTemplate([], { KeySchema: [{ AttributeName: 'other', KeyType: 'HASH' }] }),
      /key schema HASH id:S becomes HASH other:undefined/,
    ],
    ['a table under another logical id', tableTemplate([], {}, 'StateStreamsV2'), /is removed or replaced/],
    [
      'a table removed',
      { Resources: {} },
      /State\/streams \(Statestreams22DDF55C, AWS::DynamoDB::GlobalTable\) is removed/,
    ],
  ])('counts %s as data lost', (_, current, finding) => {
    const findings = compareTemplates(tableTemplate([]), current);

    expect(findings.losses.join('\n')).toMatch(finding);
  });

  it('counts a queue renamed or a log group removed as data lost, and leaves other resources alone', () => {
    const released = {
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
        Logs: { Type: 'AWS::Logs::LogGroup', Properties: {} },
        Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      },
    };
    const current = { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'q' } } } };

    expect(compareTemplates(released, current).losses).toEqual([
      'Queue (Queue): QueueName changes, which replaces it: its data is lost',
      'Logs (Logs, AWS::Logs::LogGroup) is removed or replaced by another logical id: its data is lost',
    ]);
  });

  it('catches the stack of 22 November 2026: streams gains three indexes and loses one, and apps is gone', () => {
    const released = fixture('6ac748c-2026-11-22.template.json');
    const today = JSON.parse(
      readFileSync(
        new URL('../../infra/released/0.1.0/wcs-hooks-prod.template.json', import.meta.url),
        'utf8',
      ),
    );

    const findings = compareTemplates(released, today);

    expect(findings.indexSteps).toEqual([
      'State/streams (Statestreams22DDF55C): 4 index changes (create State/streams.liveStreams, create State/streams.byDay, create State/streams.liveByNode, delete State/streams.liveByApp); one per deploy',
    ]);
    expect(findings.migrations).toEqual([expect.stringMatching(/^State\/apps .* migrate apps-to-config/)]);
    expect(findings.losses).toEqual([]);
    // Without the migration, the apps table's removal is data lost.
    expect(compareTemplates(released, today, []).losses).toEqual([
      expect.stringMatching(/^State\/apps \(StateappsC330263F, AWS::DynamoDB::GlobalTable\) is removed/),
    ]);
  });
});
