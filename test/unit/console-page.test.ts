/**
 * The live console as `GET /console` serves it, locally and in AWS: one page that loads nothing from
 * anywhere (the STOMP client, uPlot and its stylesheet inside it), connecting to the realtime API it
 * is given; and the same page in a Lambda bundle, where the files are text in a chunk of their own.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { bundleOptions } from '../../infra/constructs/bundle.ts';
import { consolePage } from '../../shared/realtime/console-page.ts';

describe('the console page', () => {
  it('holds the STOMP client, uPlot and its stylesheet, and loads nothing by URL', async () => {
    const page = await consolePage();

    expect(page).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*\shref=|\/static\//);
    expect(page).toContain('StompJs');
    expect(page).toContain('uPlot');
    expect(page).toContain('.u-legend');
    // No inlined code closes its element early.
    expect(page.match(/<\/script>/g)).toHaveLength(3);
  });

  it('connects to the realtime URL it is given, written as an attribute value', async () => {
    expect(await consolePage('wss://abc.example.com/live')).toContain(
      '<meta name="realtime-url" content="wss://abc.example.com/live">',
    );
    expect(await consolePage('wss://x/"><script>')).toContain('content="wss://x/&quot;&gt;&lt;script&gt;"');
    expect(await consolePage()).toContain('<meta name="realtime-url" content="">');
  });

  it('is the same page from a Lambda bundle, its files in a chunk of their own', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'console-bundle-'));
    try {
      const entry = join(outdir, 'entry.ts');
      const source = new URL('../../shared/realtime/console-page.ts', import.meta.url).pathname;
      writeFileSync(entry, `export { consolePage } from ${JSON.stringify(source)};`);
      await build(bundleOptions(entry, outdir));

      const index = readFileSync(join(outdir, 'index.mjs'), 'utf8');
      expect(index).not.toContain('<title>');
      const chunks = readdirSync(join(outdir, 'chunks')).filter((f) => /^console-assets-.*\.mjs$/.test(f));
      expect(chunks).toHaveLength(1);
      const bundled = (await import(join(outdir, 'index.mjs'))) as { consolePage: typeof consolePage };
      expect(await bundled.consolePage('wss://a/b')).toBe(await consolePage('wss://a/b'));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
