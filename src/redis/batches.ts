import type { ScriptFailure } from './errors.js';
import type { ScriptReply } from './replies.js';

/**
 * A take that travels in its key's next script call (see `ScriptCaller.take`). Both functions are
 * called when that call is sent, not before: what they return is what the script decides on then.
 */
export interface TakeRequest {
  /**
   * The take's own arguments (count and maxWait, and its now with client time), or undefined when it is
   * no longer wanted (aborted or closed while it waited for its call): then nothing is sent for it, and
   * its `reject` is called with a `RedisUnavailableError` nobody sees (its caller was settled already).
   */
  tuple(): readonly string[] | undefined;
  /** The call's arguments before its takes, for a call whose first take's arguments are `first`. */
  head(first: readonly string[]): readonly string[];
}

/** The most takes one script call carries; more wait for the next. */
export const MAX_BATCH = 128;

/** One caller of the bucket script awaiting its reply, in the order of the calls (= the order their timeouts expire). */
export class PendingCall {
  /** Settled: answered, failed, or timed out. */
  done = false;
  timedOut = false;
  /** The script call it travels in, once that is sent. */
  sent: Send | undefined = undefined;

  constructor(
    readonly deadline: number,
    /** The fewest numbers its reply may hold after the configuration. */
    readonly length: number,
    readonly resolve: (reply: ScriptReply) => void,
    readonly reject: (error: ScriptFailure) => void,
    readonly late: ((reply: ScriptReply) => void) | undefined,
    /** For a take: its key's lane and what it sends. */
    readonly lane: Lane | undefined,
    readonly request: TakeRequest | undefined,
  ) {}
}

/** One script call sent to Redis, for one caller or for a batch of takes on one key. */
export class Send {
  /** Its callers not settled yet. */
  unsettled: number;

  constructor(
    /** The Redis key it runs on. */
    readonly key: string,
    readonly members: readonly PendingCall[],
    /** Whether it is the breaker's probe (until that is settled). */
    public probe: boolean,
  ) {
    this.unsettled = members.length;
  }
}

/**
 * The takes of one key: at most one script call of takes in flight (`busy`), and the takes made
 * meanwhile, which travel together in the next one, in the order they were made.
 */
export class Lane {
  queue: PendingCall[] = [];
  head = 0;
  busy: Send | undefined = undefined;
  /** A flush is scheduled: takes made until then wait for it. */
  deferred = false;

  constructor(readonly key: string) {}
}

/**
 * The takes of one script call as the script reads them: runs of equal takes, each `times` and then
 * the take's own arguments (count, maxWait, and now with client time), so that a batch of like calls
 * (a hot key's `tryGetToken()`s) costs a few arguments instead of two or three per call.
 */
export class Runs {
  private readonly values: string[] = [];
  private last: readonly string[] | undefined = undefined;
  private times = 0;

  /** Appends one take's arguments. */
  add(tuple: readonly string[]): void {
    const last = this.last;
    if (last !== undefined && last.length === tuple.length && last.every((value, i) => value === tuple[i])) {
      this.times += 1;
      return;
    }
    this.close();
    this.last = tuple;
    this.times = 1;
  }

  /** The call's arguments: `head`, then the runs. */
  args(head: readonly string[]): string[] {
    this.close();
    return [...head, ...this.values];
  }

  private close(): void {
    if (this.last === undefined) return;
    this.values.push(String(this.times), ...this.last);
    this.last = undefined;
  }
}

/**
 * The arguments of a batch's call sent again (after `CLUSTERDOWN`): each take's arguments asked again
 * (with Redis time, its `maxWait` counted down to now), or the ones first sent (`sent`, in `members`'
 * order) for a take no longer wanted or whose request throws: its reply then gives back what it took.
 */
export function retriedArgs(members: readonly PendingCall[], sent: readonly (readonly string[])[]): string[] {
  const runs = new Runs();
  const asked = members.map((call, i) => {
    try {
      return call.request?.tuple() ?? (sent[i] as readonly string[]);
    } catch {
      return sent[i] as readonly string[];
    }
  });
  for (const tuple of asked) runs.add(tuple);
  const last = members[members.length - 1] as PendingCall;
  return runs.args((last.request as TakeRequest).head(asked[0] as readonly string[]));
}

interface TickSource {
  nextTick?(task: () => void): void;
}

/**
 * Runs `task` once the microtasks running now, and those they queue, are done: `process.nextTick`
 * (looked up when used), or a microtask where there is none. So the callers that a batch's replies
 * resume, and that call again at once, all join the next batch.
 */
export function afterMicrotasks(task: () => void): void {
  const source = (globalThis as { process?: TickSource }).process;
  if (typeof source?.nextTick === 'function') source.nextTick(task);
  else queueMicrotask(task);
}
