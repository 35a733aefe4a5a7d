/**
 * What the answer of one script call (one caller's, or a batch of takes') means for each caller in it:
 * its reply decoded and split into one reply per caller, or the failure they share; then each caller
 * settled with its own. No I/O here.
 */
import type { PendingCall, Send } from './batches.js';
import { RedisKeyError, RedisUnavailableError } from './errors.js';
import { isKeyError } from './evalScript.js';
import { parseReply, splitTakes, type ScriptReply } from './replies.js';

/** The answer of one script call, decoded: a reply per caller, or what failed. */
export interface Answer {
  /** One reply per member of the call, in their order; undefined when Redis failed or answered wrongly. */
  readonly replies: ScriptReply[] | undefined;
  /** Redis' error, or the `TypeError` of a malformed reply; undefined with `replies`. */
  readonly failure: unknown;
  /** Whether Redis' error is about the key itself (`WRONGTYPE`): Redis answered, no other key is concerned. */
  readonly ofKey: boolean;
}

/**
 * Decodes the answer to a call of `members`: `reply` (when `error` is undefined) read with
 * `parseReply` (at least the one member's `length` numbers, or a batch's block split per take with
 * `splitTakes`). Never throws: a malformed reply is the answer's `failure`.
 */
export function readAnswer(members: readonly PendingCall[], reply: unknown, error: unknown): Answer {
  let replies: ScriptReply[] | undefined;
  let failure = error;
  // An error about the key itself: Redis answered, and no other key is concerned.
  const ofKey = error !== undefined && isKeyError(error);
  if (error === undefined) {
    try {
      const parsed = parseReply(reply, members.length === 1 ? (members[0] as PendingCall).length : 1);
      replies = members.length === 1 ? [parsed] : splitTakes(parsed, members.length);
    } catch (invalid) {
      failure = invalid;
    }
  }
  return { replies, failure, ofKey };
}

/**
 * Settles each member of `send` with its own part of `answer`: `resolve` with its reply, or `reject`
 * with a `RedisKeyError` (an error about the key) or a `RedisUnavailableError` carrying `retryAfter`
 * (ms), a new error for each. A member that timed out already gets its reply through `late`, if any.
 */
export function settleAnswer(send: Send, answer: Answer, retryAfter: number): void {
  const { replies, failure, ofKey } = answer;
  send.members.forEach((call, i) => {
    const own = replies?.[i];
    if (call.timedOut) {
      if (own !== undefined) call.late?.(own);
      return;
    }
    call.done = true;
    if (own !== undefined) call.resolve(own);
    // Each caller its own error (they may be told apart, or changed, by their callers).
    else call.reject(ofKey ? new RedisKeyError(send.key, failure) : new RedisUnavailableError(failure, retryAfter));
  });
}
