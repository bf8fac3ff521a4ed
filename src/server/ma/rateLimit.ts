// A token bucket per socket: a client may send BURST requests at once and RATE per second after
// that. Requests over it are refused with RATE_LIMITED; a client that keeps flooding (ABUSE_LIMIT
// refusals in a row without slowing down) is closed with 4008.
export const RATE_PER_SECOND = 50;
export const BURST = 100;
export const ABUSE_LIMIT = 200;

export type RateVerdict = 'allow' | 'refuse' | 'close';

export class RateLimit {
  private tokens: number;
  private last: number;
  private refusedInARow = 0;

  constructor(
    private readonly rate = RATE_PER_SECOND,
    private readonly burst = BURST,
    private readonly abuseLimit = ABUSE_LIMIT,
    private readonly now: () => number = () => performance.now(),
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
      this.refusedInARow = 0;
      return 'allow';
    }
    this.refusedInARow += 1;
    return this.refusedInARow >= this.abuseLimit ? 'close' : 'refuse';
  }
}
