/** Real time, for I/O timeouts and the breaker (the bucket's clock may be a fake one). */
export function realNow(): number {
  return globalThis.performance.now();
}

/** A script call that may be the breaker's probe: the one call allowed through once the breaker half-opens. */
export interface Probe {
  probe: boolean;
}

/**
 * Breaker is the circuit breaker of one `ScriptCaller`: after a failure, calls fail at once (without
 * touching Redis) for `cooldown` ms; then one call at a time probes Redis, and the first success
 * closes it. A `cooldown` of 0 turns it off: every call tries Redis. Times are real ms.
 */
export class Breaker {
  private openUntil = Number.NEGATIVE_INFINITY;
  /** Why the last call failed, while the breaker is not closed again. */
  lastFailure: unknown = undefined;
  private probing = false;

  constructor(private readonly cooldown: number) {}

  /** Whether calls are refused now (open, or half-open with its probe in flight). */
  get refusing(): boolean {
    return this.cooldown > 0 && this.lastFailure !== undefined && (realNow() < this.openUntil || this.probing);
  }

  /** Whether a call sent now is the probe (the breaker is half-open); it then holds the others back. */
  probeNow(): boolean {
    const probe = this.lastFailure !== undefined;
    if (probe) this.probing = true;
    return probe;
  }

  /** Redis answered `call`: the breaker closes. */
  succeeded(call: Probe | undefined): void {
    this.release(call);
    this.lastFailure = undefined;
    this.openUntil = Number.NEGATIVE_INFINITY;
  }

  /** A call failed (or timed out) with `cause`: the breaker opens for `cooldown` ms. */
  failed(cause: unknown, call: Probe | undefined): void {
    this.release(call);
    this.lastFailure = cause;
    this.openUntil = realNow() + this.cooldown;
  }

  private release(call: Probe | undefined): void {
    if (call?.probe === true) {
      call.probe = false;
      this.probing = false;
    }
  }
}
