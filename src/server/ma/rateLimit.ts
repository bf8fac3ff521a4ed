// A token bucket per socket: a client may send BURST requests at once and RATE per second after
// that. Requests over it are refused with RATE_LIMITED; a client that keeps flooding (ABUSE_LIMIT
// refusals within ABUSE_WINDOW_MS) is closed with 4008. Refusals are counted in a window, not in a
// row: on a busy server tokens refill between the flood's frames, and a flood must not escape by
// getting one frame in now and then.
export const RATE_PER_SECOND = 50;
export const BURST = 100;
export const ABUSE_LIMIT = 200;
export const ABUSE_WINDOW_MS = 10_000;

export type RateVerdict = 'allow' | 'refuse' | 'close';

export class RateLimit {
  private tokens: number;
  private last: number;
  private refused = 0;
  private windowStart = 0;

  constructor(
    private readonly rate = RATE_PER_SECOND,
    private readonly burst = BURST,
    private readonly abuseLimit = ABUSE_LIMIT,
    private readonly now: () => number = () => performance.now(),
    private readonly abuseWindowMs = ABUSE_WINDOW_MS,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): RateVerdict {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'allow';
    }
    if (now - this.windowStart >= this.abuseWindowMs) {
      this.windowStart = now;
      this.refused = 0;
    }
    this.refused += 1;
    return this.refused >= this.abuseLimit ? 'close' : 'refuse';
  }
}
