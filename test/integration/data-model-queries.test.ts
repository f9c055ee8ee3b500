/**
 * Every `aws dynamodb query` example in `docs/data-model.md` runs, as an analyst would paste it,
 * against the tables the local runtime creates: a documented key condition that names a key an
 * index does not have fails here with DynamoDB's own ValidationException.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from '@jest/globals';
import { TABLES } from '../../shared/store/tables.ts';
import { TEST_TABLE_PREFIX } from '../support/constants.ts';

const doc = readFileSync(new URL('../../docs/data-model.md', import.meta.url), 'utf8');
const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
afterAll(() => client.destroy());

/** The words of a shell command line, as the shell splits them (quotes, `\` line continuations). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  const text = command.replace(/\\\n\s*/g, ' ');
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Each documented query, with `$X_TABLE` and the shard loop's `$shard` resolved for the test's tables. */
function documentedQueries(): { command: string; input: QueryCommandInput }[] {
  const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const queries: { command: string; input: QueryCommandInput }[] = [];
  for (const block of blocks) {
    for (const command of block
      .split(/\n(?=\s*aws )/)
      .filter((c) => c.trim().startsWith('aws dynamodb query'))) {
      const resolved = command
        .replace(/\n(done|for .*)$/gm, '')
        .replace(/'"\$shard"'/g, 'live#00')
        .replace(/\$([A-Z_]+_TABLE)/g, (_m, envVar: string) => {
          const table = Object.values(TABLES).find((t) => t.envVar === envVar);
          if (!table) throw new Error(`the document names an unknown table variable ${envVar}`);
          return `${TEST_TABLE_PREFIX}-${table.name}`;
        });
      const words = shellWords(resolved);
      const option = (name: string) => {
        const at = words.indexOf(`--${name}`);
        return at === -1 ? undefined : words[at + 1];
      };
      const json = (name: string) => (option(name) ? JSON.parse(option(name) as string) : undefined);
      queries.push({
        command: command.trim(),
        input: {
          TableName: option('table-name'),
          IndexName: option('index-name'),
          KeyConditionExpression: option('key-condition-expression'),
          FilterExpression: option('filter-expression'),
          ExpressionAttributeNames: json('expression-attribute-names'),
          ExpressionAttributeValues: json('expression-attribute-values'),
        },
      });
    }
  }
  return queries;
}

describe('the documented queries', () => {
  const queries = documentedQueries();

  it('are found in the document', () => {
    expect(queries.length).toBeGreaterThanOrEqual(8);
  });

  it.each(queries.map((q) => [q.command.split('\n')[0], q.input] as const))(
    '%s ... runs',
    async (_name, input) => {
      const result = await client.send(new QueryCommand(input));
      expect(Array.isArray(result.Items)).toBe(true);
    },
  );
});
