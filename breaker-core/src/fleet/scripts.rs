//! The fleet's transitions, as Lua scripts run by the Redis server: each one reads the
//! server's `TIME` (so the instances' clocks never meet), checks the generation it was
//! decided on, writes the breaker's hash with a TTL, publishes what it changed and returns
//! the breaker's record.
//!
//! Keys, all under one hash tag per breaker so that a Redis Cluster keeps them in one slot:
//! `KEYS[1]` the breaker's hash (`s` state, `g` generation, `u` open until, `o` openings in
//! a row, `r` rate limited until, `b` the instance that decided, `c` the cause), `KEYS[2]`
//! the probe lease (`instance|generation`, with the lease's expiry), `KEYS[3]` the instances
//! that tripped within the quorum's window (a sorted set by time). Times are milliseconds of
//! the server's clock; a record gives them as time left, which every instance can add to
//! its own clock.
//!
//! Every script's `ARGV[1]` is the breaker's name (for the record), `ARGV[2]` the channel
//! the changes are published on and `ARGV[3]` how long a breaker's keys outlive their last
//! deadline.

/// What every script starts with.
const PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function load()
  local v = redis.call('HMGET', KEYS[1], 's', 'g', 'u', 'o', 'r', 'b', 'c')
  return { s = v[1] or 'closed', g = tonumber(v[2] or '0'), u = tonumber(v[3] or '0'),
           o = tonumber(v[4] or '0'), r = tonumber(v[5] or '0'), b = v[6] or '', c = v[7] or '' }
end
local function record(h, now)
  local lease = redis.call('PTTL', KEYS[2])
  if lease < 0 then lease = 0 end
  return cjson.encode({ n = ARGV[1], g = h.g, s = h.s, o = math.max(h.u - now, 0),
                        r = math.max(h.r - now, 0), l = lease, b = h.b, c = h.c, p = h.o })
end
local function save(h, now)
  redis.call('HSET', KEYS[1], 's', h.s, 'g', h.g, 'u', h.u, 'o', h.o, 'r', h.r, 'b', h.b, 'c', h.c)
  redis.call('PEXPIREAT', KEYS[1], math.max(h.u, h.r, now) + tonumber(ARGV[3]))
end
local function open(h, now, open_ms, instance, cause)
  h.s = 'open'; h.g = h.g + 1; h.u = now + open_ms; h.o = h.o + 1; h.b = instance; h.c = cause
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[1], 'f', 0)
end
local function quorum_met(now)
  local quorum = tonumber(ARGV[8])
  if quorum <= 1 then return true end
  local window = tonumber(ARGV[9])
  redis.call('ZADD', KEYS[3], now, ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  redis.call('PEXPIRE', KEYS[3], window)
  return redis.call('ZCARD', KEYS[3]) >= quorum
end
local function publish(h, now)
  local rec = record(h, now)
  redis.call('PUBLISH', ARGV[2], rec)
  return rec
end
"#;

/// The breaker's record, unchanged.
const READ: &str = r#"
local now = now_ms()
return { 0, record(load(), now) }
"#;

/// A local trip: opens the breaker for the fleet, unless it is open already (the other
/// instance's opening wins and this one adopts it), set by hand, or closed in a later
/// generation than the trip was decided on. With a quorum, the fleet opens only once that
/// many instances tripped within the window (returns 2 until then: the trip stays local).
/// `extend` (reconciling after the store was unreachable): an open breaker's deadline
/// moves later if this instance's is later.
///
/// `ARGV`: 4 generation seen, 5 instance, 6 open for (ms), 7 cause, 8 quorum, 9 window (ms),
/// 10 extend (`1` or `0`).
const TRIP: &str = r#"
local now = now_ms()
local h = load()
local open_ms = tonumber(ARGV[6])
if h.s == 'forced_open' or h.s == 'disabled' then return { 0, record(h, now) } end
local leased = redis.call('EXISTS', KEYS[2]) == 1
if h.s == 'open' and (h.u > now or leased) then
  if ARGV[10] == '1' and not leased and now + open_ms > h.u then
    h.u = now + open_ms
    save(h, now)
    return { 1, publish(h, now) }
  end
  return { 0, record(h, now) }
end
if h.s == 'closed' and h.g ~= tonumber(ARGV[4]) and ARGV[10] ~= '1' then
  return { 0, record(h, now) }
end
if not quorum_met(now) then return { 2, record(h, now) } end
open(h, now, open_ms, ARGV[5], ARGV[7])
save(h, now)
return { 1, publish(h, now) }
"#;

/// The failures counted in Closed, across the fleet: a failure here adds one to the fleet's
/// count of consecutive failures, a success that forgot failures here sets it back to 0;
/// the fleet opens when the count reaches the threshold (and the quorum is met), as one
/// breaker seeing every instance's calls would. Counts only in the generation the
/// instance has seen.
///
/// `ARGV`: 4 generation seen, 5 instance, 6 open for (ms), 7 threshold, 8 quorum,
/// 9 window (ms), 10 `failed` or `forgot`.
const FAILURES: &str = r#"
local now = now_ms()
local h = load()
if h.s ~= 'closed' or h.g ~= tonumber(ARGV[4]) then return { 0, record(h, now) } end
if ARGV[10] == 'forgot' then
  redis.call('HSET', KEYS[1], 'f', 0)
  return { 0, record(h, now) }
end
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('PEXPIREAT', KEYS[1], math.max(h.u, h.r, now) + tonumber(ARGV[3]))
if failures < tonumber(ARGV[7]) or not quorum_met(now) then return { 0, record(h, now) } end
open(h, now, tonumber(ARGV[6]), ARGV[5], 'failure')
save(h, now)
return { 1, publish(h, now) }
"#;

/// The probe lease: once the opening has passed, the first instance to ask holds it for
/// `lease` (returns 1); the others get the record, with the lease's time left.
///
/// `ARGV`: 4 generation, 5 instance, 6 lease (ms).
const LEASE: &str = r#"
local now = now_ms()
local h = load()
if h.s ~= 'open' or h.g ~= tonumber(ARGV[4]) or h.u > now then return { 0, record(h, now) } end
if redis.call('SET', KEYS[2], ARGV[5] .. '|' .. ARGV[4], 'NX', 'PX', ARGV[6]) then
  h.b = ARGV[5]
  save(h, now)
  return { 1, publish(h, now) }
end
return { 0, record(h, now) }
"#;

/// The lease holder's probe result: closes the breaker for the fleet, or opens it again.
/// Counts only from the holder of the generation's lease, or from its last holder if the
/// lease expired and nobody took it since (no other probe can be out); returns 0 otherwise.
///
/// `ARGV`: 4 generation, 5 instance, 6 `closed` or `open`, 7 open for (ms), 8 cause.
const SETTLE: &str = r#"
local now = now_ms()
local h = load()
local holder = redis.call('GET', KEYS[2])
local mine = holder == ARGV[5] .. '|' .. ARGV[4] or (not holder and h.b == ARGV[5])
if not mine or h.s ~= 'open' or h.g ~= tonumber(ARGV[4]) then
  return { 0, record(h, now) }
end
redis.call('DEL', KEYS[2])
if ARGV[6] == 'closed' then
  h.g = h.g + 1; h.b = ARGV[5]; h.s = 'closed'; h.u = 0; h.o = 0; h.c = ''
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[1], 'f', 0)
else
  open(h, now, tonumber(ARGV[7]), ARGV[5], ARGV[8])
end
save(h, now)
return { 1, publish(h, now) }
"#;

/// A rate limit: no call for the fleet until the later of the two deadlines.
///
/// `ARGV`: 4 retry after (ms).
const RATE_LIMIT: &str = r#"
local now = now_ms()
local h = load()
local deadline = now + tonumber(ARGV[4])
if deadline <= h.r then return { 0, record(h, now) } end
h.r = deadline
save(h, now)
return { 1, publish(h, now) }
"#;

/// An operator's command for the fleet: `forced_open`, `disabled` or `closed` (a reset).
///
/// `ARGV`: 4 the state, 5 instance.
const COMMAND: &str = r#"
local now = now_ms()
local h = load()
h.s = ARGV[4]; h.g = h.g + 1; h.b = ARGV[5]; h.u = 0; h.c = ''
if ARGV[4] == 'closed' then h.o = 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'f', 0)
save(h, now)
return { 1, publish(h, now) }
"#;

/// A script: its text with the prelude, and its SHA-1 as the server names it.
pub(super) struct Script {
    pub(super) text: String,
    pub(super) sha: String,
}

impl Script {
    pub(super) fn new(body: &str) -> Self {
        let text = format!("{PRELUDE}{body}");
        // redis-rs computes the SHA-1 that the server names the script by.
        let sha = redis::Script::new(&text).get_hash().to_owned();
        Self { text, sha }
    }
}

/// The scripts, each with its SHA-1.
pub(super) struct Scripts {
    pub(super) read: Script,
    trip: Script,
    lease: Script,
    settle: Script,
    rate_limit: Script,
    command: Script,
    failures: Script,
}

/// Which script.
#[derive(Clone, Copy)]
pub(super) enum Which {
    Read,
    Trip,
    Lease,
    Settle,
    RateLimit,
    Command,
    Failures,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            read: Script::new(READ),
            trip: Script::new(TRIP),
            lease: Script::new(LEASE),
            settle: Script::new(SETTLE),
            rate_limit: Script::new(RATE_LIMIT),
            command: Script::new(COMMAND),
            failures: Script::new(FAILURES),
        }
    }

    pub(super) fn get(&self, which: Which) -> &Script {
        match which {
            Which::Read => &self.read,
            Which::Trip => &self.trip,
            Which::Lease => &self.lease,
            Which::Settle => &self.settle,
            Which::RateLimit => &self.rate_limit,
            Which::Command => &self.command,
            Which::Failures => &self.failures,
        }
    }
}

/// A duration as a script's argument: whole milliseconds, at least one.
pub(super) fn millis(duration: std::time::Duration) -> String {
    duration.as_millis().max(1).to_string()
}
