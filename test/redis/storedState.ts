import type { TestClient } from './clients.js';

/** One limit of a bucket as its key stores it. */
export interface StoredLimitState {
  capacity: number;
  refillTokens: number;
  refillInterval: number;
  tokens: number;
  step: number;
}

/** A bucket's key, decoded: the state the script packed (`src/redis/script.ts`) and the configuration's text. */
export interface StoredState {
  origin: number;
  gen: number;
  limits: StoredLimitState[];
  config: string;
}

// Unpacks the key in Redis itself (struct), so that the test reads the doubles exactly as stored.
const DECODE = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local n, origin, gen, pos = struct.unpack('<Hdd', v)
local out = {string.format('%.17g', origin), string.format('%.17g', gen)}
for i = 1, n do
  local a, b, c, d, e
  a, b, c, d, e, pos = struct.unpack('<ddddd', v, pos)
  for _, x in ipairs({a, b, c, d, e}) do out[#out + 1] = string.format('%.17g', x) end
end
out[#out + 1] = string.sub(v, pos)
return out
`;

/** Reads the bucket stored at `key`, or undefined when the key is missing. */
export async function storedState(connection: TestClient, key: string): Promise<StoredState | undefined> {
  const reply = (await connection.command('EVAL', DECODE, '1', key)) as string[] | null;
  if (reply === null || !Array.isArray(reply)) return undefined;
  const numbers = reply.slice(0, -1).map(Number);
  const limits: StoredLimitState[] = [];
  for (let i = 2; i + 4 < numbers.length; i += 5) {
    const [capacity = 0, refillTokens = 0, refillInterval = 0, tokens = 0, step = 0] = numbers.slice(i, i + 5);
    limits.push({ capacity, refillTokens, refillInterval, tokens, step });
  }
  return { origin: numbers[0] ?? 0, gen: numbers[1] ?? 0, limits, config: String(reply[reply.length - 1]) };
}
