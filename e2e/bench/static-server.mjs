// A static host for benchmarks: serves a built `dist/` the way a CDN or a static web app does,
// unlike the dev tenant's portal origin (uncompressed, no caching headers). Every file is
// compressed once at start (node's brotli, quality 11, window 22, the figure `cargo xtask size`
// reports) and sent with `Content-Encoding: br` to browsers that accept it; client-side routes
// fall back to index.html (status 200); the security headers are those `cargo xtask build` wrote
// to `dist/_headers` (its `/*` block), with the global cloud's origins replaced by the ones the
// served config.json names (the dev tenant's). Caching as a deployment should do it: trunk's
// hashed files `public, max-age=31536000, immutable`; everything else (the html, the sign-in
// worker's unhashed loader, the French catalogue) `no-cache` with an ETag, so a warm load
// revalidates it (304); config.json `no-store`, as `dist/_headers` says.
//
// Library: `startStaticServer({ dist, index, config })`. Command line, to look at a build by
// hand: `node bench/static-server.mjs DIST [--port N] [--index PAGE] [--config FILE]`.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.wasm', '.css', '.json', '.svg', '.txt']);
/** trunk's content-hashed names: `teams-app-portal-0123456789abcdef_bg.wasm`, `main-….css` (the hash is
 * a u64 in hex without leading zeros: one build in sixteen has 15 digits, so 8 to 16 are taken). */
const HASHED = /-[0-9a-f]{8,16}(_bg|_loader)?\.(js|wasm|css)$/;
/** The origins `cargo xtask build` writes into `_headers` when no config is given. */
const GLOBAL_ORIGINS = { authority: 'https://login.microsoftonline.com', graph: 'https://graph.microsoft.com' };

/** Brotli at quality 11 with a 4 MB window (lgwin 22). */
export function brotli(bytes) {
  return zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 22,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

/** The headers of the `/*` block of a `_headers` file (Netlify/Cloudflare Pages form). */
export function globalHeaders(text) {
  const headers = [];
  let inGlobal = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) { inGlobal = line.trim() === '/*'; continue; }
    if (!inGlobal) continue;
    const at = line.indexOf(':');
    if (at > 0) headers.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  }
  return headers;
}

/** The security headers for the served config's origins (`{ authority, graph }` origins). */
export function securityHeaders(headersFile, origins) {
  return globalHeaders(headersFile).map(([name, value]) => {
    if (name.toLowerCase() !== 'content-security-policy' || !origins) return [name, value];
    return [name, value.split(GLOBAL_ORIGINS.authority).join(origins.authority)
      .split(GLOBAL_ORIGINS.graph).join(origins.graph)];
  });
}

/** The `scheme://host:port` of a URL. */
const originOf = (url) => new URL(url).origin;

function readTree(dir, prefix = '') {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...readTree(path.join(dir, entry.name), rel));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}

function prepare(name, bytes) {
  const ext = path.extname(name).toLowerCase();
  return {
    bytes,
    br: COMPRESSIBLE.has(ext) ? brotli(bytes) : null,
    type: TYPES[ext] ?? 'application/octet-stream',
    etag: `"${crypto.createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`,
    cache: HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

/**
 * Serves `dist` on `host:port` (0: a free port). `index` is the page served for `/`,
 * `/index.html` and every client-side route. `config` is the text of config.json, or a function of the server's own origin
 * returning it (it names the redirect URI, which must be this origin); `setConfig` replaces it
 * later. Resolves to `{ origin, port, stats, setConfig, close }`; `stats` counts requests and
 * body bytes sent by path.
 */
export async function startStaticServer({ dist, index = 'index.html', config, host = '127.0.0.1', port = 0 }) {
  const root = path.resolve(dist);
  if (!fs.existsSync(path.join(root, index))) throw new Error(`${root} has no ${index}: build first (cargo xtask build)`);
  const files = new Map();
  for (const name of readTree(root)) {
    if (path.basename(name).startsWith('.') || name === '_headers' || name === 'staticwebapp.config.json' || name === 'config.json') continue;
    files.set(`/${name}`, prepare(name, fs.readFileSync(path.join(root, name))));
  }
  const page = files.get(`/${index}`);
  files.set('/index.html', page);
  const headersPath = path.join(root, '_headers');
  const headersFile = fs.existsSync(headersPath) ? fs.readFileSync(headersPath, 'utf8') : null;
  if (!headersFile) console.warn(`static server: ${root} has no _headers (cargo xtask build writes it): served without a Content Security Policy`);
  let origin = '';
  let configFile = null;
  let security = [];
  const setConfig = (next) => {
    const text = typeof next === 'function' ? next(origin) : next;
    if (text === undefined || text === null) { configFile = null; security = headersFile ? securityHeaders(headersFile, null) : []; return; }
    configFile = { ...prepare('config.json', Buffer.from(text)), cache: 'no-store' };
    let origins = null;
    try {
      const parsed = JSON.parse(text);
      if (parsed.authority && parsed.graphBase) origins = { authority: originOf(parsed.authority), graph: originOf(parsed.graphBase) };
    } catch { /* the portal shows its setup page; the policy keeps the global origins */ }
    security = headersFile ? securityHeaders(headersFile, origins) : [];
  };
  const stats = { requests: 0, bodyBytes: 0, byPath: new Map() };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://x');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' });
      response.end();
      return;
    }
    let file = url.pathname === '/config.json' ? configFile : files.get(url.pathname === '/' ? '/index.html' : url.pathname);
    if (!file && url.pathname === '/config.json') {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('config.json not found');
      return;
    }
    // Client-side routes (and anything else unknown) get the page, as the deployed fallback does.
    file ??= page;
    const headers = { 'Content-Type': file.type, 'Cache-Control': file.cache, ETag: file.etag, Vary: 'Accept-Encoding' };
    for (const [name, value] of security) headers[name] = value;
    if (request.headers['if-none-match'] === file.etag) {
      response.writeHead(304, headers);
      response.end();
      return;
    }
    const acceptsBr = /\bbr\b/.test(request.headers['accept-encoding'] ?? '');
    const body = acceptsBr && file.br ? file.br : file.bytes;
    if (body === file.br) headers['Content-Encoding'] = 'br';
    headers['Content-Length'] = body.length;
    response.writeHead(200, headers);
    if (request.method === 'HEAD') { response.end(); return; }
    response.end(body);
    stats.requests += 1;
    stats.bodyBytes += body.length;
    stats.byPath.set(url.pathname, (stats.byPath.get(url.pathname) ?? 0) + body.length);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  origin = `http://${host}:${address.port}`;
  setConfig(config);
  return {
    origin,
    port: address.port,
    stats,
    setConfig,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name) => { const at = args.indexOf(name); return at >= 0 ? args.splice(at, 2)[1] : undefined; };
  const port = Number(flag('--port') ?? 0);
  const index = flag('--index') ?? 'index.html';
  const configPath = flag('--config');
  const dist = args[0] ?? 'dist';
  const server = await startStaticServer({
    dist, index, port, config: configPath ? fs.readFileSync(configPath, 'utf8') : undefined,
  });
  console.log(`serving ${path.resolve(dist)} (${index} as the page) at ${server.origin}/ with brotli`);
}
