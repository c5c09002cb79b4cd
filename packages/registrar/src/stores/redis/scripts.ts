import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the Redis store. Each runs atomically on the server (one round trip), so
 * the version check and the write of a REGISTER cannot interleave with another proxy's. Only
 * commands Redis 7.0 has (no per-field hash expiry): one hash per AOR whose key TTL is set to
 * the moment nothing in it matters any more, plus a sorted set "next event per AOR" that makes
 * `expire(now)` touch only the AORs that have something to drop.
 *
 * Hash fields: `v` version, `x` expiresAt (record kept until), `b:<n>` binding n as JSON (order
 * as saved). Bindings are never re-encoded in Lua (cjson would turn `[]` into `{}` and round
 * numbers to 14 digits): scripts only decode them to read `contact` and `expires`, and delete fields.
 */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// A new version: the next value of a counter shared by all AORs, so a record removed and made
// again never reuses a version a slow reader may still hold. Never below current + 1, in case
// the counter key was lost.
const NEXT_VERSION = `
local function next_version(counter, current)
  local version = redis.call('INCR', counter)
  if version <= current then
    version = current + 1
    redis.call('SET', counter, version)
  end
  return version
end
`;

/**
 * KEYS: record, index, counter. ARGV: expectedVersion, expiresAt, keyExpiresAt (ms), nextEvent, aor, binding JSON…
 * Returns {1, version} or {0, currentVersion} (conflict).
 */
export const SAVE = script(`${NEXT_VERSION}
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
local version = next_version(KEYS[3], current)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', version, 'x', ARGV[2])
for i = 6, #ARGV do redis.call('HSET', KEYS[1], 'b:' .. (i - 5), ARGV[i]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return {1, version}
`);

/** KEYS: record, index, counter. ARGV: contact, aor. Returns the number of bindings removed (0 or 1 per equal contact). */
export const REMOVE_BINDING = script(`${NEXT_VERSION}
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return 0 end
local removed, current, x, next_event = 0, 0, nil, nil
for i = 1, #fields, 2 do
  local f, value = fields[i], fields[i + 1]
  if f == 'v' then current = tonumber(value)
  elseif f == 'x' then x = tonumber(value)
  elseif string.sub(f, 1, 2) == 'b:' then
    local b = cjson.decode(value)
    if b.contact == ARGV[1] then
      redis.call('HDEL', KEYS[1], f)
      removed = removed + 1
    elseif next_event == nil or b.expires < next_event then
      next_event = b.expires
    end
  end
end
if removed > 0 then
  redis.call('HSET', KEYS[1], 'v', next_version(KEYS[3], current))
  if next_event == nil or (x ~= nil and x < next_event) then next_event = x end
  if next_event ~= nil then redis.call('ZADD', KEYS[2], next_event, ARGV[2]) end
end
return removed
`);

/** KEYS: record, index. ARGV: aor. Deletes the record; returns how many bindings it had. */
export const REMOVE_RECORD = script(`
local fields = redis.call('HKEYS', KEYS[1])
local count = 0
for _, f in ipairs(fields) do
  if string.sub(f, 1, 2) == 'b:' then count = count + 1 end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return count
`);

/**
 * KEYS: index, counter. ARGV: now, batch size, record key prefix.
 * Handles up to `batch` AORs whose next event is due: drops lapsed bindings (version bumped),
 * deletes records past expiresAt, and reschedules the rest. Returns {AORs handled, bindings dropped}.
 */
export const EXPIRE = script(`${NEXT_VERSION}
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local dropped = 0
for _, aor in ipairs(due) do
  local key = ARGV[3] .. aor
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], aor)
  else
    local current, x, gone, kept, next_event = 0, 0, 0, 0, nil
    for i = 1, #fields, 2 do
      local f, value = fields[i], fields[i + 1]
      if f == 'v' then current = tonumber(value)
      elseif f == 'x' then x = tonumber(value)
      elseif string.sub(f, 1, 2) == 'b:' then
        local b = cjson.decode(value)
        if b.expires <= now then
          redis.call('HDEL', key, f)
          gone = gone + 1
        else
          kept = kept + 1
          if next_event == nil or b.expires < next_event then next_event = b.expires end
        end
      end
    end
    if x <= now then
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], aor)
      dropped = dropped + gone + kept
    else
      dropped = dropped + gone
      if gone > 0 then redis.call('HSET', key, 'v', next_version(KEYS[2], current)) end
      if next_event == nil or x < next_event then next_event = x end
      redis.call('ZADD', KEYS[1], next_event, aor)
    end
  end
end
return {#due, dropped}
`);
