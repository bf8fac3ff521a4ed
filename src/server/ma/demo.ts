// The demo page and its token route, a stand-in for a customer's own server (on only in
// development or with DEMO=1, see config.ts). Its token route issues tokens without the API key,
// so it answers only requests addressed to this server by one of its own names (Host), from a page
// of this server (Origin, when a browser sends one: a DNS-rebinding page names its own host in
// both), and at a bounded rate per source address.
import type { IncomingMessage } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { repoRoot } from '../paths.js';
import { RateLimit } from './rateLimit.js';
import { HttpError } from './httpJson.js';
import { rememberSource } from './sourceThrottle.js';

const DEMO_DIR = join(repoRoot, 'demo');
/** Tokens per second per source address, after a burst (a page joins a few times a minute). */
export const DEMO_TOKENS_PER_SECOND = 1;
export const DEMO_TOKEN_BURST = 10;

/** The file a /demo/… path names, kept inside demo/ (404 otherwise). */
export function demoFile(pathname: string): string {
  if (pathname === '/' || pathname === '/demo' || pathname === '/demo/') return join(DEMO_DIR, 'index.html');
  let rel: string;
  try {
    rel = decodeURIComponent(pathname.slice('/demo/'.length));
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'bad path');
  }
  const full = normalize(join(DEMO_DIR, rel));
  if (rel.includes('\0') || !full.startsWith(DEMO_DIR + sep)) throw new HttpError(404, 'NOT_FOUND', 'not found');
  return full;
}

export class DemoGuard {
  private readonly rates = new Map<string, RateLimit>();

  /** `authorities()`: every host:port this server answers to (its public URL, its listen address, loopback names). */
  constructor(private readonly authorities: () => ReadonlySet<string>) {}

  /** Throws 403 / 429 unless the demo may issue a token for this request. */
  check(req: IncomingMessage, source: string): void {
    const allowed = this.authorities();
    const host = withPort((req.headers.host ?? '').toLowerCase(), 80);
    if (!allowed.has(host)) throw new HttpError(403, 'FORBIDDEN', 'the demo answers only requests addressed to this server by its own name');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.has(authorityOf(origin) ?? '')) throw new HttpError(403, 'FORBIDDEN', 'the demo answers only pages of this server');
    let rate = this.rates.get(source);
    if (!rate) {
      rate = new RateLimit(DEMO_TOKENS_PER_SECOND, DEMO_TOKEN_BURST, Number.POSITIVE_INFINITY);
      rememberSource(this.rates, source, rate);
    }
    if (rate.take() !== 'allow') throw new HttpError(429, 'RATE_LIMITED', 'too many demo tokens: slow down', { 'retry-after': '1' });
  }
}

/** `host` or `host:port` (IPv6 in brackets) → always `host:port`. */
export function withPort(authority: string, defaultPort: number): string {
  return /:\d+$/.test(authority) && !/^\[[^\]]*$/.test(authority) ? authority : `${authority}:${defaultPort}`;
}

function authorityOf(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return withPort(url.host.toLowerCase(), url.protocol === 'https:' ? 443 : 80);
  } catch {
    return undefined;
  }
}
