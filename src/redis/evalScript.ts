import type { RedisScriptRunner } from './clients.js';
import { BUCKET_SCRIPT, BUCKET_SCRIPT_SHA } from './script.js';

interface TimerHandle {
  unref?(): unknown;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : '';
}

function isNoScript(error: unknown): boolean {
  return messageOf(error).includes('NOSCRIPT');
}

/**
 * Whether `error` is Redis' answer that a cluster cannot serve the key for now, and that the same
 * command may succeed a moment later, having changed nothing: `CLUSTERDOWN` (a master failed and its
 * replica has not taken over yet, with `cluster-require-full-coverage yes`) and `TRYAGAIN` (a slot
 * being resharded).
 */
export function isRetryable(error: unknown): boolean {
  return /^(?:ERR )?(?:CLUSTERDOWN|TRYAGAIN)\b/.test(messageOf(error));
}

/**
 * Whether `error` is Redis' answer about the key itself rather than about Redis: `WRONGTYPE` (the key
 * holds another type) or the script's own error for a string that is no bucket. Such a key fails every
 * call on it, and no other.
 */
export function isKeyError(error: unknown): boolean {
  const message = messageOf(error);
  return (
    /^(?:ERR )?WRONGTYPE\b/.test(message) ||
    (message.includes('token-bucket-filter: ') && message.includes('holds a string that is no bucket'))
  );
}

/** The wait before retry `attempt` (0, 1, ...) after `CLUSTERDOWN` or `TRYAGAIN`: 20, 30, 40, then 50 ms. */
export function retryDelay(attempt: number): number {
  return Math.min(50, 20 + 10 * attempt);
}

/** What {@link evalScript} sends, and whether it may still retry. */
export interface ScriptSend {
  /** The script's arguments, asked at each attempt (a retry may send newer ones). */
  args(): readonly string[];
  /** Whether a retry is still wanted (some caller is still waiting for this call); asked before each. */
  retrying(): boolean;
}

/** Calls `send` (a client call), turning an error it throws synchronously into a rejection. */
function sending(send: () => Promise<unknown>): Promise<unknown> {
  try {
    return send();
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the client's own error, passed on as it is
    return Promise.reject(error);
  }
}

/**
 * Runs the bucket script on `key` through `runner`: `EVALSHA`, and `EVAL` of the whole script after
 * `NOSCRIPT` (Redis lost it: a restart, `SCRIPT FLUSH`, a failover), every time that happens. A
 * `CLUSTERDOWN` or `TRYAGAIN` reply is retried after {@link retryDelay} (20 ms, growing to 50) for as
 * long as `send.retrying()` says (the callers' `redisTimeout`); then it is the error. Calls exactly one
 * of `onReply` (with the reply as the client gives it) and `onError` (with the client's error, even
 * one it throws synchronously), never synchronously; and `onNoScript`, if given, at each `NOSCRIPT`
 * (Redis lost its scripts, and may have lost its keys: see `LossWatch`).
 */
export function evalScript(
  runner: RedisScriptRunner,
  key: string,
  send: ScriptSend,
  onReply: (reply: unknown) => void,
  onError: (error: unknown) => void,
  onNoScript?: () => void,
): void {
  const keys = [key];
  let attempts = 0;
  const failed = (error: unknown): void => {
    if (!isRetryable(error) || !send.retrying()) {
      onError(error);
      return;
    }
    const handle = globalThis.setTimeout(() => {
      if (send.retrying()) next();
      else onError(error);
    }, retryDelay(attempts)) as TimerHandle;
    handle.unref?.();
    attempts += 1;
  };
  const next = (): void => {
    let args: readonly string[];
    try {
      args = send.args();
    } catch (error) {
      queueMicrotask(() => {
        onError(error); // never synchronously
      });
      return;
    }
    sending(() => runner.evalsha(BUCKET_SCRIPT_SHA, keys, args)).then(onReply, (error: unknown) => {
      if (!isNoScript(error)) {
        failed(error);
        return;
      }
      onNoScript?.();
      sending(() => runner.eval(BUCKET_SCRIPT, keys, args)).then(onReply, failed);
    });
  };
  next();
}
