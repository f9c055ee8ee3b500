/**
 * The live console as one self-contained page (`GET /console`, locally and in AWS): its HTML with the
 * STOMP client, uPlot and uPlot's stylesheet inlined, and the realtime API's URL it connects to.
 * `npm start` also serves the page as it is, loading those files from `/static/...` (`/`, `/dashboard`).
 */

/** Text safe inside `<script>` or `<style>`: no `</` that could close the element early. */
const inline = (code: string) => code.replaceAll('</', '<\\/');

const attribute = (value: string) =>
  value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * The console page, connecting to `realtimeUrl` (the realtime API's `wss://` URL, without the
 * token), or to `/ws` of its own origin when none is given. Throws if the HTML no longer has the
 * places the files go in: a page that would load nothing must not be served.
 */
export async function consolePage(realtimeUrl = ''): Promise<string> {
  // Imported when the page is asked for: in a bundle the files are a chunk of their own (100 KB), not
  // read at every cold start of the function that also serves the realms.
  const { consoleAssets } = await import('./console-assets.ts');
  const assets = consoleAssets();
  const places: [string, string][] = [
    ['<link rel="stylesheet" href="/static/uPlot.min.css">', `<style>${inline(assets.uplotCss)}</style>`],
    ['<script src="/static/stomp.umd.min.js"></script>', `<script>${inline(assets.stomp)}</script>`],
    ['<script src="/static/uPlot.iife.min.js"></script>', `<script>${inline(assets.uplot)}</script>`],
    [
      '<meta name="realtime-url" content="">',
      `<meta name="realtime-url" content="${attribute(realtimeUrl)}">`,
    ],
  ];
  return places.reduce((html, [place, content]) => {
    if (!html.includes(place)) throw new Error(`console page: ${place} not found in index.html`);
    return html.replace(place, () => content);
  }, assets.html);
}
