import type { RedisScriptRunner } from './clients.js';
import { BUCKET_SCRIPT, BUCKET_SCRIPT_SHA } from './script.js';

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOSCRIPT');
}

/**
 * Runs the bucket script on `key` with `args` through `runner`: `EVALSHA`, and `EVAL` of the whole
 * script after `NOSCRIPT` (Redis lost it: a restart, `SCRIPT FLUSH`, a failover), every time that
 * happens. Calls exactly one of `onReply` (with the reply as the client gives it) and `onError` (with
 * the client's error, even one it throws synchronously), never synchronously; and `onNoScript`, if
 * given, at each `NOSCRIPT` (Redis lost its scripts, and may have lost its keys: see `LossWatch`).
 */
export function evalScript(
  runner: RedisScriptRunner,
  key: string,
  args: readonly string[],
  onReply: (reply: unknown) => void,
  onError: (error: unknown) => void,
  onNoScript?: () => void,
): void {
  const keys = [key];
  let sent: Promise<unknown>;
  try {
    sent = runner.evalsha(BUCKET_SCRIPT_SHA, keys, args);
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the client's own error, passed on as it is
    sent = Promise.reject(error);
  }
  sent.then(onReply, (error: unknown) => {
    if (!isNoScript(error)) {
      onError(error);
      return;
    }
    onNoScript?.();
    let resent: Promise<unknown>;
    try {
      resent = runner.eval(BUCKET_SCRIPT, keys, args);
    } catch (evalError) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the client's own error, passed on as it is
      resent = Promise.reject(evalError);
    }
    resent.then(onReply, onError);
  });
}
