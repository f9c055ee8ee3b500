/**
 * `npm run release:keep -- <version>`: keeps today's template as release `<version>`
 * (`infra/released/<version>/`), for the upgrade test to compare later versions with. Run when a
 * version is tagged; default: package.json's version.
 */
import { readFileSync } from 'node:fs';
import { keepRelease } from './release.ts';

const version =
  process.argv[2] ??
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string);
console.log(`kept ${keepRelease(version)}`);
