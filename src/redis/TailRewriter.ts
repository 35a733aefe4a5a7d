/**
 * The sending of a Redis bucket's tail rewrites (a replay, a reconfigure, a pause): one in flight at
 * a time, each computed on what the one before left, and the bucket's next withdraw once it is answered.
 */
import type { RedisBucket } from './RedisBucket.js';
import type { ScriptReply } from './ScriptCaller.js';

/**
 * TailRewriter sends one bucket's tail rewrites through its key's `ScriptCaller`. After each reply
 * (unless the bucket is closed) it calls `next`: the withdraw of the calls aborted while it was in
 * flight.
 */
export class TailRewriter {
  /** The rewrite (replay or reconfigure) in flight, if any: one at a time, each computed on what the one before left. */
  private rewriting: object | undefined = undefined;

  constructor(
    private readonly bucket: RedisBucket,
    private readonly next: () => void,
  ) {}

  /** Rewrites waiting for the one in flight (a pause, a check): each computes its arguments when it runs. */
  private readonly queued: Array<() => void> = [];

  /**
   * Runs `send` (which sends one rewrite, or nothing) now if no rewrite is in flight, otherwise once
   * the one in flight and those queued before have their answer (or failed): two rewrites computed on
   * the same reservations would re-decide the same callers twice, each taking their tokens.
   */
  whenFree(send: () => void): void {
    if (this.rewriting === undefined && this.queued.length === 0) send();
    else this.queued.push(send);
  }

  /** Sends the rewrites queued, while none is in flight; returns whether one is in flight. */
  private sendQueued(): boolean {
    while (this.rewriting === undefined && this.queued.length > 0) this.queued.shift()?.();
    return this.rewriting !== undefined;
  }

  /** Whether a rewrite is in flight (sent, neither answered nor failed). */
  get busy(): boolean {
    return this.rewriting !== undefined;
  }

  /**
   * Sends one tail rewrite; `done` gets the reply's values after the configuration, unless it failed.
   * A `giveBack` (a withdraw) is sent whatever the breaker says.
   */
  rewrite(
    args: string[],
    done: (values: number[], stored: string | undefined) => void,
    failed?: (error: unknown) => void,
    giveBack = false,
  ): void {
    const request = {};
    this.rewriting = request;
    const finish = (): void => {
      if (this.rewriting === request) this.rewriting = undefined;
    };
    const onReply = (reply: ScriptReply): void => {
      finish();
      try {
        done(this.bucket.key.observe(reply), reply.stored);
      } catch (error) {
        failed?.(error);
      }
      if (this.sendQueued() || this.bucket.isClosed) return;
      this.next(); // the calls aborted while this one was in flight
    };
    this.bucket.key.caller.call(
      this.bucket.key.redisKey,
      args,
      1, // {cfg, 0} when refused; the readers check the length of a success
      onReply,
      (error) => {
        finish(); // failed or timed out: nothing is known to have changed
        failed?.(error);
        this.sendQueued();
      },
      onReply, // ran after all, after our timeout
      giveBack,
    );
  }
}
