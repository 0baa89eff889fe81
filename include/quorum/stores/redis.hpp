// quorum/stores/redis.hpp — a store in Redis: many processes, one execution.
//
// Not included by <quorum/quorum.hpp>: include it yourself and link quorum::redis (hiredis).
//
//   quorum::redis_store store({.address = "redis://127.0.0.1:6379"});
//   auto r = quorum::quorum_parallel(store, {.quorum = 2, .timeout = 5s}, f1, f2, f3);
//
// Every step that changes an execution is ONE Redis function call (FUNCTION LOAD, so it
// survives restarts with the server's AOF/RDB, unlike the script cache): record adds the
// branch to the execution's hash (once: a replay changes nothing), counts, decides with the
// rule and sets the decision with SET NX; expire and cancel set it the same way. So several
// processes can record into one execution and the decision is made exactly once, by the server.
//
// Keys (docs/redis.md): q:{<id>}:exec (hash: spec, counters, one field b<i> per recorded
// branch), q:{<id>}:decision (string), q:{<id>}:wake (list). The braces are a Redis Cluster
// hash tag: one execution lives on one slot. Braces and '%' in ids are %-escaped.
//
// Redis Cluster: give the address of any node. The store follows MOVED/ASK redirections (and
// remembers which node owns a slot once it has seen one), and loads its functions on each node
// it reaches. A single server never redirects, so it pays nothing for this.
//
// Connections come from small pools (per node) owned by the store, one per thread inside a call
// at the same time, so every member function may be called from many threads at once. A call
// whose connection breaks reconnects with backoff and resends: every request carries a token,
// so a resend after a lost reply is answered exactly like the original (recorded once, and
// decided_now still true if it decided). When the server stays unreachable longer than
// redis_options::reconnect_for, the call throws quorum::redis_error.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../clock.hpp"
#include "../errors.hpp"
#include "../result.hpp"
#include "../store.hpp"

namespace quorum {

/// Redis could not be used: the server stayed unreachable past the time allowed, refused the
/// library (it needs Redis 7), rejected the credentials, or has no execution with that id.
class redis_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How redis_store reaches its server.
struct redis_options {
  /// "redis://host:port" (port 6379 if left out, "[::1]" for IPv6) or "unix://" and an
  /// absolute path ("unix:///run/redis.sock"); a database other than 0 as
  /// "redis://host:port/3" or "unix:///run/redis.sock?db=3". Credentials go in username and
  /// password, not here.
  std::string address = "redis://127.0.0.1:6379";
  /// Credentials sent with AUTH on every new connection (none when password is empty).
  std::string username{};
  std::string password{};
  /// How long an execution's keys live after open() and again after its decision; 0 keeps them
  /// until deleted. Old executions clean themselves up this way.
  std::chrono::milliseconds ttl = std::chrono::hours(24);
  /// Limit for establishing one connection (at least 1 ms).
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(1);
  /// Limit for one reply (at least 1 ms); a command that times out counts as a lost
  /// connection (and is resent).
  std::chrono::milliseconds command_timeout = std::chrono::seconds(5);
  /// How long a call keeps reconnecting and resending, from its first failure, before it
  /// throws redis_error. A frozen server fails an attempt only at command_timeout, so a call
  /// may take about command_timeout + reconnect_for + command_timeout in all; inside an
  /// execution that also delays its deadline (docs/redis.md, "Failure behaviour").
  std::chrono::milliseconds reconnect_for = std::chrono::seconds(10);
  /// close() deletes the execution's keys. Off by default: the record stays (for ttl) so that a
  /// coordinator which restarts can read the decision back.
  bool delete_on_close = false;
};

namespace detail::redis {

// The server-side half of the store, loaded with FUNCTION LOAD REPLACE. The library's name
// carries a version: a change to what the functions do gets a new name, so clients of
// different versions never run each other's code.
//
// KEYS[1] the hash:  id    the execution id, as given
//                    tok   the opener's token
//                    x     the spec and the counters, "<spec>;<counts>":
//                          spec   "n,threshold,total votes,ttl ms", then ",w" for a weighted
//                                 rule (fixed at open)
//                          counts "successes,failures,yes votes,no votes,decision code,
//                                 decided_by" (late records included; code 0 undecided,
//                                 1 quorum_met, 2 unreachable, 3 timed_out, 4 cancelled;
//                                 decided_by '' unless a record decided)
//                    d     the decision (a copy of KEYS[2], written in the same step)
//                    by    the branch whose record decided
//                    at    "successes,failures" when the decision was made
//                    fin   the token of the expire/cancel that decided
//                    w<i>  votes of branch i (weighted rules only)
//                    b<i>  branch i's record: "<s|f><late 0|1>:<token>"
// KEYS[2] the decision, set once with SET NX (what waiters read).
// KEYS[3] the wake list: one element pushed at the decision; waiters rotate it with BLMOVE,
//         so every waiter wakes and the element stays for those that come later.
// A record reads two fields (x, b<i>) with one HMGET (and w<i> with an HGET for a weighted
// rule), parses x with one match, and writes two (x, b<i>) with one HSET; the decision fields
// only when it decides. Its reply is one string, "<counts>,<flags>" with flags = decided_now
// + 2 recorded_now + 4 late. Measured in server instructions (callgrind, docs/redis.md): the
// FCALL itself, each redis.call, each field read, each tonumber and an array reply cost
// thousands of instructions each, most of what a record costs over a PING; so they are few.
// Lua numbers are doubles: open() rejects vote totals above 2^53, so every count is exact.
// A record converts only the two numbers it changes; '..' writes numbers below 1e14 exactly
// ('%.14g'), '%d' the larger ones.
inline constexpr std::string_view library = R"lua(#!lua name=quorum4

local state = '^((%d+),(%d+),[^;]*);(%d+),(%d+),(%d+),(%d+),(%d),(%d*)$'
local code = {quorum_met = '1', unreachable = '2', timed_out = '3', cancelled = '4'}
local digit = {[0] = '0', '1', '2', '3', '4', '5', '6', '7'}

local function noexec() return redis.error_reply('QUORUM_NOEXEC no such execution') end
local function badarg() return redis.error_reply('QUORUM_ARG bad argument') end

-- After SET NX of the decision: wake the waiters, keep the three keys for ttl ms.
local function announce(keys, d, spec)
  redis.call('RPUSH', keys[3], d)
  local ttl = tonumber(string.match(spec, '^%d+,%d+,%d+,(%d+)'))
  if ttl > 0 then
    for k = 1, 3 do redis.call('PEXPIRE', keys[k], ttl) end
  end
end

-- ARGV: id, n, threshold, total, ttl, token, votes of each branch (only when weighted)
local function open(keys, args)
  for k = 2, 5 do -- canonical decimals (record compares n by its length)
    if args[k] ~= '0' and not string.find(args[k], '^[1-9]%d*$') then return badarg() end
  end
  local held = redis.call('HGET', keys[1], 'tok')
  if held then
    if held == args[6] then return 'OK' end -- our own open, resent after a lost reply
    return redis.error_reply('QUORUM_DUPLICATE the execution id is held')
  end
  redis.call('DEL', keys[2], keys[3]) -- leftovers of an expired execution with this id
  local spec = args[2] .. ',' .. args[3] .. ',' .. args[4] .. ',' .. args[5]
  if #args > 6 then spec = spec .. ',w' end
  redis.call('HSET', keys[1], 'id', args[1], 'tok', args[6], 'x', spec .. ';0,0,0,0,0,')
  local f = {}
  for k = 7, #args do
    f[#f + 1] = 'w' .. string.format('%d', k - 7)
    f[#f + 1] = args[k]
    if #f >= 1000 then
      redis.call('HSET', keys[1], unpack(f))
      f = {}
    end
  end
  if #f > 0 then redis.call('HSET', keys[1], unpack(f)) end
  local ttl = tonumber(args[5])
  if ttl > 0 then redis.call('PEXPIRE', keys[1], ttl) end
  return 'OK'
end

-- ARGV: branch index, 's' | 'f', token
local function record(keys, args)
  local b, o, tok = args[1], args[2], args[3]
  local bk = 'b' .. b
  local e = redis.call('HMGET', keys[1], 'x', bk)
  local x = e[1]
  if not x then return noexec() end
  local spec, n, thr, ok, fail, yes, no, dc, by = string.match(x, state)
  -- The branch index: canonical decimal below n (compared as numbers only when as long as n).
  if not ((b == '0' or string.find(b, '^[1-9]%d*$')) and
          (#b < #n or (#b == #n and tonumber(b) < tonumber(n)))) or
     (o ~= 's' and o ~= 'f') then
    return badarg()
  end
  local prev = e[2]
  if prev then
    -- Recorded before: by this very request (a resend after a lost reply: answer as then),
    -- or by another one (a replay: counts nothing, decides nothing).
    local flags = 0
    if string.sub(prev, 4) == tok then
      flags = (by == b) and 3 or 2
    end
    if string.byte(prev, 2) == 49 then flags = flags + 4 end -- '1': it was late
    return string.sub(x, #spec + 2) .. ',' .. digit[flags]
  end
  local w = 1
  if string.byte(spec, -1) == 119 then -- 'w': weighted
    w = tonumber(redis.call('HGET', keys[1], 'w' .. b)) or 1
  end
  local late = dc ~= '0'
  local d, form
  -- Only the two numbers this record changes are converted: a count (below 1e14: it counts
  -- hash fields) and a vote total, written with '%d' when it is that large.
  if o == 's' then
    ok, yes = tonumber(ok) + 1, tonumber(yes) + w
    if not late and yes >= tonumber(thr) then d = 'quorum_met' end
    if yes >= 1e14 then form = '%d,%s,%d,%s,%s,%s' end
  else
    fail, no = tonumber(fail) + 1, tonumber(no) + w
    if not late and tonumber(string.match(spec, '^%d+,%d+,(%d+)')) - no < tonumber(thr) then
      d = 'unreachable'
    end
    if no >= 1e14 then form = '%s,%d,%s,%d,%s,%s' end
  end
  local dnow = d and redis.call('SET', keys[2], d, 'NX')
  if dnow then dc, by = code[d], b end
  local c
  if form then
    c = string.format(form, ok, fail, yes, no, dc, by)
  else
    c = ok .. ',' .. fail .. ',' .. yes .. ',' .. no .. ',' .. dc .. ',' .. by
  end
  if dnow then
    redis.call('HSET', keys[1], 'x', spec .. ';' .. c, bk, o .. '0:' .. tok, 'd', d, 'by', b,
               'at', string.format('%d,%d', ok, fail))
    announce(keys, d, spec)
    return c .. ',3'
  end
  if late then
    redis.call('HSET', keys[1], 'x', spec .. ';' .. c, bk, o .. '1:' .. tok)
    return c .. ',6'
  end
  redis.call('HSET', keys[1], 'x', spec .. ';' .. c, bk, o .. '0:' .. tok)
  return c .. ',2'
end

-- ARGV: 'timed_out' | 'cancelled', token
local function finish(keys, args)
  local d, tok = args[1], args[2]
  local e = redis.call('HMGET', keys[1], 'x', 'fin')
  local x = e[1]
  if not x then return noexec() end
  if d ~= 'timed_out' and d ~= 'cancelled' then return badarg() end
  local spec, _, _, ok, fail, yes, no, dc = string.match(x, state)
  if dc ~= '0' then
    -- decided: decided_now again for our own finish, resent after a lost reply
    return string.sub(x, #spec + 2) .. ((e[2] == tok) and ',1' or ',0')
  end
  if not redis.call('SET', keys[2], d, 'NX') then return string.sub(x, #spec + 2) .. ',0' end
  local c = ok .. ',' .. fail .. ',' .. yes .. ',' .. no .. ',' .. code[d] .. ','
  redis.call('HSET', keys[1], 'x', spec .. ';' .. c, 'd', d, 'fin', tok, 'at', ok .. ',' .. fail)
  announce(keys, d, spec)
  return c .. ',1'
end

local function snapshot(keys, args)
  local h = redis.call('HGETALL', keys[1])
  if #h == 0 then return noexec() end
  return h
end

redis.register_function('quorum4_open', open)
redis.register_function('quorum4_record', record)
redis.register_function('quorum4_finish', finish)
redis.register_function{function_name = 'quorum4_snapshot', callback = snapshot,
                        flags = {'no-writes'}}
)lua";

struct reply_free {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply = std::unique_ptr<redisReply, reply_free>;

struct context_free {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using context = std::unique_ptr<redisContext, context_free>;

inline timeval to_timeval(std::chrono::microseconds d) noexcept {
  if (d.count() < 0) d = {};
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(d.count() / 1'000'000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(d.count() % 1'000'000);
  return tv;
}

// Where the server is: a unix socket path, or host and port; and the database to select.
struct endpoint {
  std::string path;
  std::string host;
  int port = 6379;
  int db = 0;
};

// "redis://host[:port][/db]", "unix://path[?db=N]". Credentials are not read from the address
// (redis_options::username and ::password hold them): an address that carries them, before
// the host or the path or in a query, is refused, and no message repeats what may be one
// (they end up in logs). The address an accepted one shows in messages holds none.
// Whether a message may show `r`, a part of an address: host[:port][/db] in plain characters
// (the port required for an address without a scheme), or for a socket path, a path of them.
// Anything else may be or hold a credential in some client's syntax ("h:6379,password=x",
// "h:6379 -a x", "me:x"), and is not shown.
inline bool plain_address(std::string_view r, bool path, bool need_port) {
  const auto plain = [](char c, std::string_view also) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           also.find(c) != std::string_view::npos;
  };
  const auto run = [&](std::size_t i, std::string_view also) {
    while (i < r.size() && plain(r[i], also)) ++i;
    return i;
  };
  const auto digits = [&](std::size_t i) {
    while (i < r.size() && r[i] >= '0' && r[i] <= '9') ++i;
    return i;
  };
  if (path) return !r.empty() && run(0, "._-/") == r.size();
  std::size_t i = 0;
  if (r.starts_with('[')) {  // [IPv6]
    i = run(1, ":.");
    if (i >= r.size() || r[i] != ']') return false;
    ++i;
  } else {
    i = run(0, ".-");
  }
  if (i == 0) return false;
  if (i < r.size() && r[i] == ':') {
    const std::size_t port = i + 1;
    i = digits(port);
    if (i == port) return false;
  } else if (need_port) {
    return false;
  }
  if (i < r.size() && r[i] == '/') i = digits(i + 1);
  return i == r.size();
}

inline endpoint parse_address(const std::string& a) {
  std::string_view s(a);
  const bool has_scheme = s.find("://") != s.npos;
  // What a message may show of the address, cut at its query: for redis://, what follows the
  // last '@' (a password may hold '/', '?', ':'); for unix://, an absolute path; of one without
  // a scheme, all of it (it was shown as "...", hiding a plain "127.0.0.1:6379"); each only
  // when plain_address() says so. Of anything else, the scheme alone.
  std::string shown;
  {
    std::string_view rest;
    std::string_view scheme = s.substr(0, has_scheme ? s.find("://") + 3 : 0);
    if (s.starts_with("redis://")) {
      rest = s.substr(8);
      if (auto at = rest.rfind('@'); at != rest.npos) rest = rest.substr(at + 1);
    } else if (s.starts_with("unix://") && s.substr(7).starts_with('/')) {
      rest = s.substr(7);
    } else if (!has_scheme) {
      rest = s;
    }
    const bool query = rest.find('?') != rest.npos;
    rest = rest.substr(0, rest.find('?'));
    if (!plain_address(rest, s.starts_with("unix://"), !has_scheme)) rest = {};
    shown = std::string(scheme) + std::string(rest);
    if (query || rest.empty()) shown += "...";
  }
  auto bad = [&](const std::string& why) {
    return invalid_options("quorum::redis_options.address = \"" + shown + "\": " + why +
                           " (expected redis://host:port[/db] or unix://path[?db=N])");
  };
  auto database = [&](std::string_view d) {
    int db = 0;
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), db);
    if (d.empty() || ec != std::errc{} || p != d.data() + d.size() || db < 0)
      throw bad("the database must be a number (0 to the server's `databases` - 1)");
    return db;
  };
  const auto no_credentials = [&] {
    return bad("credentials in the address are not read: set redis_options::username and "
               "::password");
  };
  endpoint ep;
  if (s.starts_with("unix://")) {
    s.remove_prefix(7);
    // "unix://user:pw@/path" (a password may hold '/'): the path must be absolute, which also
    // keeps such an address from being taken for a relative path and repeated in messages.
    if (!s.empty() && !s.starts_with('/')) {
      if (s.find('@') != s.npos) throw no_credentials();
      throw bad("the socket path must be absolute (unix:///run/redis.sock)");
    }
    // A query is what follows the last '?' when it holds a '=' ("?db=3"); a '?' without one
    // belongs to the path.
    if (auto q = s.rfind('?'); q != s.npos && s.substr(q).find('=') != s.npos) {
      auto query = s.substr(q + 1);
      if (!query.starts_with("db=") || query.find_first_of("&;") != query.npos)
        throw bad("the only query it reads is ?db=N");
      ep.db = database(query.substr(3));
      s = s.substr(0, q);
    }
    ep.path = s;
    if (ep.path.empty()) throw bad("no socket path");
    return ep;
  }
  if (!s.starts_with("redis://"))
    throw bad(has_scheme ? "unknown scheme" : "no scheme: a TCP address is redis://host:port");
  s.remove_prefix(8);
  if (s.find('@') != s.npos) throw no_credentials();  // anywhere: a password may hold '/'
  if (s.find('?') != s.npos) throw bad("it reads no query: the database goes in the path (/3)");
  if (auto slash = s.find('/'); slash != s.npos) {  // "redis://h:p/" or "redis://h:p/3"
    auto path = s.substr(slash + 1);
    s = s.substr(0, slash);
    if (!path.empty()) ep.db = database(path);
  }
  std::string_view port;
  if (s.starts_with("[")) {  // [IPv6]:port
    auto close = s.find(']');
    if (close == s.npos) throw bad("unclosed '['");
    ep.host = s.substr(1, close - 1);
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') throw bad("junk after ']'");
      port = rest.substr(1);
    }
  } else if (auto colon = s.rfind(':'); colon != s.npos) {
    ep.host = s.substr(0, colon);
    port = s.substr(colon + 1);
  } else {
    ep.host = s;
  }
  if (ep.host.empty()) throw bad("no host");
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc{} || p != port.data() + port.size() || ep.port <= 0 || ep.port > 65535)
      throw bad("bad port");
  }
  return ep;
}

// An id becomes the hash tag between braces: '{', '}' and '%' are %-escaped (so the first '}'
// in a key always closes the tag, and two ids never share keys); everything else is kept as
// is (keys are binary-safe).
inline std::string escape_id(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 8);
  for (char c : id) {
    switch (c) {
      case '{':
        out += "%7B";
        break;
      case '}':
        out += "%7D";
        break;
      case '%':
        out += "%25";
        break;
      default:
        out += c;
    }
  }
  return out;
}

inline bool starts_with(const redisReply* r, std::string_view prefix) noexcept {
  return r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with(prefix);
}

// Errors that mean "try again shortly on the same server".
inline bool transient(const redisReply* r) noexcept {
  for (std::string_view p : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"})
    if (starts_with(r, p)) return true;
  return false;
}

inline std::optional<decision> parse_decision(std::string_view s) noexcept {
  for (auto d :
       {decision::quorum_met, decision::unreachable, decision::timed_out, decision::cancelled})
    if (s == to_string(d)) return d;
  return std::nullopt;
}

inline std::string_view text(const redisReply* r) noexcept {
  return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
          r->type == REDIS_REPLY_ERROR)
             ? std::string_view(r->str, r->len)
             : std::string_view{};
}

// Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag (the part between the first
// '{' and the next '}', when not empty) or of the whole key, modulo 16384.
inline std::uint16_t key_slot(std::string_view key) noexcept {
  if (auto open = key.find('{'); open != key.npos) {
    auto close = key.find('}', open + 1);
    if (close != key.npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  std::uint16_t crc = 0;
  for (const char c : key) {
    crc = static_cast<std::uint16_t>(crc ^ (static_cast<unsigned char>(c) << 8));
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return static_cast<std::uint16_t>(crc & 16383);
}

// A Redis Cluster redirection: "MOVED <slot> <host>:<port>" (the slot lives there now) or
// "ASK <slot> <host>:<port>" (ask there once: the slot is being migrated).
struct redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  std::string host;  // empty: the host of the node that answered
  int port = 0;
};

inline std::optional<redirect> parse_redirect(const redisReply* r) {
  if (r->type != REDIS_REPLY_ERROR) return std::nullopt;
  std::string_view s(r->str, r->len);
  redirect to;
  if (s.starts_with("MOVED ")) {
    s.remove_prefix(6);
  } else if (s.starts_with("ASK ")) {
    to.ask = true;
    s.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = s.find(' ');
  auto colon = s.rfind(':');
  if (space == s.npos || colon == s.npos || colon < space) return std::nullopt;
  auto [p1, e1] = std::from_chars(s.data(), s.data() + space, to.slot);
  auto [p2, e2] = std::from_chars(s.data() + colon + 1, s.data() + s.size(), to.port);
  if (e1 != std::errc{} || e2 != std::errc{} || to.slot >= 16384) return std::nullopt;
  to.host = s.substr(space + 1, colon - space - 1);
  if (to.host.size() > 1 && to.host.front() == '[' && to.host.back() == ']')
    to.host = to.host.substr(1, to.host.size() - 2);
  return to;
}

}  // namespace detail::redis

/// The store for executions shared by many processes: every step is one atomic Redis function
/// call. Thread-safe. See the top of this header, and docs/redis.md.
class redis_store {
 public:
  /// The keys of one execution, fixed at open()/attach().
  struct execution_keys {
    std::string id;
    std::size_t branches = 0;
    std::string exec, decision, wake;
  };
  /// Cheap to copy; valid as long as the store lives.
  using handle = std::shared_ptr<const execution_keys>;

  /// Longest execution id accepted, in bytes.
  static constexpr std::size_t max_id_size = 1024;

  /// No connection is made yet: the first call connects (so the server may start later).
  /// Throws invalid_options for an address it cannot parse, a negative duration, or a zero
  /// connect_timeout or command_timeout.
  explicit redis_store(redis_options o = {}) : opt_(std::move(o)) {
    for (auto [name, d] : {std::pair{"ttl", opt_.ttl},
                           {"connect_timeout", opt_.connect_timeout},
                           {"command_timeout", opt_.command_timeout},
                           {"reconnect_for", opt_.reconnect_for}})
      if (d.count() < 0)
        throw invalid_options(std::string("quorum::redis_options.") + name + " = " +
                              std::to_string(d.count()) + "ms is negative");
    // Zero is no limit to hiredis for a reply and an instant failure for a connection: neither
    // is what a zero would be taken to mean, so neither is accepted.
    for (auto [name, d] : {std::pair{"connect_timeout", opt_.connect_timeout},
                           {"command_timeout", opt_.command_timeout}})
      if (d.count() == 0)
        throw invalid_options(std::string("quorum::redis_options.") + name +
                              " = 0ms: give a limit of at least 1 ms");
    nodes_.push_back(
        std::make_unique<node>(opt_.address, detail::redis::parse_address(opt_.address)));
    seed_ = nodes_.front().get();
    std::random_device rd;
    std::uint64_t r = (std::uint64_t{rd()} << 32) ^ rd();
    auto* end = std::to_chars(token_prefix_.data(), token_prefix_.data() + 16, r, 16).ptr;
    token_prefix_len_ = static_cast<std::size_t>(end - token_prefix_.data());
  }
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  /// The address the store talks to.
  [[nodiscard]] const std::string& address() const noexcept { return opt_.address; }

  /// The keys an execution id maps to. Throws invalid_options for an empty or too long id.
  [[nodiscard]] static execution_keys keys_for(std::string_view id) {
    if (id.empty()) throw invalid_options("quorum::options.execution_id is empty");
    if (id.size() > max_id_size)
      throw invalid_options("quorum::options.execution_id is " + std::to_string(id.size()) +
                            " bytes long; redis_store accepts at most " +
                            std::to_string(max_id_size));
    std::string tag = "q:{" + detail::redis::escape_id(id) + "}:";
    return execution_keys{std::string(id), 0, tag + "exec", tag + "decision", tag + "wake"};
  }

  /// Create the execution's record in Redis. Throws duplicate_execution_id when the server
  /// still holds an execution with this id (even one another process opened).
  [[nodiscard]] handle open(const execution_spec& spec) {
    auto k = keys_for(spec.id);
    k.branches = spec.branches;
    detail::check_spec(spec);
    constexpr std::uint64_t exact = std::uint64_t{1} << 53;  // Lua numbers are doubles
    if (spec.rule.total > exact || spec.rule.threshold > exact)
      throw invalid_options("quorum::redis_store: vote totals above 2^53 are not supported");

    std::vector<std::string> owned{
        std::to_string(spec.branches), std::to_string(spec.rule.threshold),
        std::to_string(spec.rule.total), std::to_string(opt_.ttl.count()),
        std::string(new_token().view())};
    for (auto v : spec.rule.votes) owned.push_back(std::to_string(v));
    std::vector<std::string_view> argv{"FCALL",    "quorum4_open", "3", k.exec,
                                       k.decision, k.wake,         k.id};
    for (const auto& s : owned) argv.push_back(s);
    auto r = command(argv, k.exec);
    if (detail::redis::starts_with(r.get(), "QUORUM_DUPLICATE"))
      throw duplicate_execution_id("quorum::options.execution_id = \"" + k.id +
                                   "\" is already held by the redis_store at " + opt_.address +
                                   " (its keys stay until they expire, redis_options.ttl, or "
                                   "are deleted by close() with delete_on_close)");
    check(r.get(), "open");
    return std::make_shared<const execution_keys>(std::move(k));
  }

  /// A handle to an execution another process opened (a worker recording into it, or a
  /// coordinator that restarted). Throws redis_error when the server holds no such execution.
  [[nodiscard]] handle attach(std::string_view id) {
    auto k = keys_for(id);
    std::array<std::string_view, 3> argv{"HGET", k.exec, "x"};  // "n,threshold,...;counts"
    auto r = command(argv, k.exec);
    check(r.get(), "attach");
    std::size_t n = 0;
    auto s = detail::redis::text(r.get());
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r->type != REDIS_REPLY_STRING || ec != std::errc{} || p == s.data() + s.size() || *p != ',')
      throw redis_error("quorum::redis_store::attach: no execution \"" + k.id + "\" at " +
                        opt_.address);
    k.branches = n;
    return std::make_shared<const execution_keys>(std::move(k));
  }

  /// Record branch i's outcome, count, and decide if the rule now holds: one server-side step.
  tally record(const handle& h, std::size_t branch, outcome o) {
    auto tok = new_token();
    return record(h, branch, o, tok.view());
  }

  /// The same with a request id of yours: sending it again (say, from a worker that restarted
  /// and does not know whether its first send arrived) returns what the first send returned.
  /// Request ids must be unique per execution and branch among different requests.
  tally record(const handle& h, std::size_t branch, outcome o, std::string_view request_id) {
    char idx[24];
    auto* end = std::to_chars(idx, idx + sizeof idx, branch).ptr;
    std::array<std::string_view, 9> argv{"FCALL",
                                         "quorum4_record",
                                         "3",
                                         h->exec,
                                         h->decision,
                                         h->wake,
                                         std::string_view(idx, static_cast<std::size_t>(end - idx)),
                                         o == outcome::success ? "s" : "f",
                                         request_id};
    return to_tally(command(argv, h->exec), "record");
  }

  /// The deadline: decide timed_out unless decided.
  tally expire(const handle& h) { return finish(h, decision::timed_out); }
  /// Decide cancelled unless decided.
  tally cancel(const handle& h) { return finish(h, decision::cancelled); }

  /// A consistent copy of the record (one read-only function call).
  [[nodiscard]] execution_record snapshot(const handle& h) {
    std::array<std::string_view, 6> argv{"FCALL_RO", "quorum4_snapshot", "3",
                                         h->exec,    h->decision,        h->wake};
    auto r = command(argv, h->exec);
    check(r.get(), "snapshot");
    if (r->type != REDIS_REPLY_ARRAY)
      throw redis_error("quorum::redis_store::snapshot: unexpected reply");
    execution_record rec;
    rec.id = h->id;
    const redisReply* kv = r.get();
    std::size_t n = h->branches;
    for (std::size_t j = 0; j + 1 < kv->elements; j += 2)
      if (detail::redis::text(kv->element[j]) == "x")  // "n,...": the number of branches
        n = number(detail::redis::text(kv->element[j + 1]));
    rec.branches.resize(n);
    for (std::size_t j = 0; j + 1 < kv->elements; j += 2) {
      auto f = detail::redis::text(kv->element[j]);
      auto v = detail::redis::text(kv->element[j + 1]);
      if (f == "d") {
        rec.decision = detail::redis::parse_decision(v);
      } else if (f == "by") {
        rec.decided_by = number(v);
      } else if (f == "at") {  // "successes,failures"
        rec.successes_at_decision = number(v);
        rec.failures_at_decision = number(v.substr(std::min(v.size(), v.find(',') + 1)));
      } else if (f.size() > 1 && f[0] == 'b' && v.size() >= 2) {
        auto i = number(f.substr(1));
        if (i < n) {
          rec.branches[i].outcome = v[0] == 's' ? outcome::success : outcome::failure;
          rec.branches[i].late = v[1] == '1';
        }
      }
    }
    return rec;
  }

  /// The execution is over. Keeps the record (for ttl) unless redis_options::delete_on_close.
  void close(const handle& h) {
    if (!opt_.delete_on_close) return;
    std::array<std::string_view, 4> argv{"DEL", h->exec, h->decision, h->wake};
    check(command(argv, h->exec).get(), "close");
  }

  /// Block until the execution is decided (by any process) or until `deadline`; returns the
  /// decision, or nothing at the deadline. No polling: it sleeps in BLMOVE on the wake list,
  /// and reads the decision again after every wake-up or reconnect. Throws redis_error when
  /// the server stays unreachable until the deadline.
  std::optional<decision> wait_until(const handle& h,
                                     std::chrono::steady_clock::time_point deadline) {
    using namespace std::chrono;
    for (;;) {
      std::array<std::string_view, 2> get{"GET", h->decision};
      auto r = command(get, h->exec, deadline);
      check(r.get(), "wait");
      if (auto d = detail::redis::parse_decision(detail::redis::text(r.get()))) return d;
      auto left = deadline - clock::now();
      if (left <= clock::duration::zero()) return std::nullopt;
      // BLMOVE's timeout is in seconds, 0 meaning forever: round up to a whole millisecond.
      auto ms = std::max<std::int64_t>(1, ceil<milliseconds>(left).count());
      char secs[32];
      int len = std::snprintf(secs, sizeof secs, "%lld.%03lld", static_cast<long long>(ms / 1000),
                              static_cast<long long>(ms % 1000));
      std::array<std::string_view, 6> blmove{
          "BLMOVE", h->wake, h->wake,
          "RIGHT",  "LEFT",  std::string_view(secs, static_cast<std::size_t>(len))};
      // Null: the connection broke; the loop reads the decision again (reconnecting) and
      // blocks again for what is left, not for the whole of `secs` once more.
      if (auto moved = command(blmove, h->exec, deadline, milliseconds(ms)))
        check(moved.get(), "wait");
    }
  }

  /// wait_until(now + d).
  template <class Rep, class Period>
  std::optional<decision> wait_for(const handle& h, std::chrono::duration<Rep, Period> d) {
    // Saturating, as execution::wait_for: max() waits for ever, not until a wrapped deadline.
    return wait_until(h, detail::saturating_add(std::chrono::steady_clock::now(), d));
  }

  /// One PING round trip (a health check, and the floor the record round trip is measured
  /// against).
  void ping() {
    std::array<std::string_view, 1> argv{"PING"};
    check(command(argv, {}).get(), "ping");
  }

 private:
  using clock = std::chrono::steady_clock;

  tally finish(const handle& h, decision d) {
    auto tok = new_token();
    std::array<std::string_view, 8> argv{"FCALL",     "quorum4_finish", "3",          h->exec,
                                         h->decision, h->wake,          to_string(d), tok.view()};
    return to_tally(command(argv, h->exec), d == decision::timed_out ? "expire" : "cancel");
  }

  // A token unique to one request: the store's random prefix and a counter, "<prefix>:<hex>",
  // at most 16 + 1 + 16 characters, built on the stack (a record allocates nothing for it).
  struct token {
    std::array<char, 40> text;
    std::size_t size;
    [[nodiscard]] std::string_view view() const noexcept { return {text.data(), size}; }
  };
  token new_token() noexcept {
    // relaxed: only uniqueness matters, nothing is published through the counter.
    auto c = counter_.fetch_add(1, std::memory_order_relaxed);
    token t{};
    auto* p = std::copy_n(token_prefix_.data(), token_prefix_len_, t.text.data());
    *p++ = ':';
    p = std::to_chars(p, t.text.data() + t.text.size(), c, 16).ptr;
    t.size = static_cast<std::size_t>(p - t.text.data());
    return t;
  }

  static std::size_t number(std::string_view s) noexcept {
    std::size_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  }

  void check(const redisReply* r, const char* what) const {
    if (r->type != REDIS_REPLY_ERROR) return;
    auto msg = detail::redis::text(r);
    if (msg.starts_with("QUORUM_NOEXEC"))
      throw redis_error(std::string("quorum::redis_store::") + what +
                        ": the execution is not held by the server at " + opt_.address +
                        " (expired, deleted, or never opened)");
    throw redis_error(std::string("quorum::redis_store::") + what + ": " + opt_.address +
                      " answered: " + std::string(msg));
  }

  // The reply of record/finish: one string, "successes,failures,yes votes,no votes,decision
  // code,decided_by,flags" (see the library's comment).
  tally to_tally(detail::redis::reply r, const char* what) const {
    check(r.get(), what);
    auto bad = [&] {
      return redis_error(std::string("quorum::redis_store::") + what + ": unexpected reply");
    };
    if (r->type != REDIS_REPLY_STRING) throw bad();
    auto s = detail::redis::text(r.get());
    const char* p = s.data();
    const char* const end = p + s.size();
    // The next field and the comma after it (none after the last); false when malformed.
    auto field = [&](auto& v, bool last) {
      auto [q, ec] = std::from_chars(p, end, v);
      if (ec != std::errc{} || (last ? q != end : (q == end || *q != ','))) return false;
      p = last ? q : q + 1;
      return true;
    };
    tally t;
    std::uint64_t votes = 0;
    unsigned code = 0, flags = 0;
    if (!field(t.successes, false) || !field(t.failures, false) || !field(votes, false) ||
        !field(votes, false) || !field(code, false) || code > 4)
      throw bad();
    if (p != end && *p != ',') {  // decided_by: empty unless a record decided
      std::size_t by = 0;
      if (!field(by, false)) throw bad();
      t.decided_by = by;
    } else if (p != end) {
      ++p;
    }
    if (!field(flags, true) || flags > 7) throw bad();
    constexpr std::array<std::optional<decision>, 5> decisions{
        std::nullopt, decision::quorum_met, decision::unreachable, decision::timed_out,
        decision::cancelled};
    t.decision = decisions[code];
    t.decided_now = (flags & 1) != 0;
    t.recorded_now = (flags & 2) != 0;
    t.late = (flags & 4) != 0;
    return t;
  }

  // ---- connections ---------------------------------------------------------------------
  //
  // A node is a server the store talks to: the configured address first and, on Redis
  // Cluster, every node a MOVED/ASK redirection named. Each keeps its idle connections: a call
  // takes one (or connects), and gives it back when the call ends normally; a broken hiredis
  // context cannot be reused and is dropped. All of a node but its address is under m_.
  struct node {
    node(std::string a, detail::redis::endpoint e) : address(std::move(a)), ep(std::move(e)) {}
    const std::string address;  // "redis://host:port" or "unix://path"
    const detail::redis::endpoint ep;
    std::vector<detail::redis::context> idle;
  };

  // The node serving `key`: the configured one, until a MOVED redirection taught the store
  // that the key's slot lives elsewhere (so a server that is not a cluster costs nothing here).
  node* route(std::string_view key) {
    std::lock_guard lk(m_);
    if (slots_.empty() || key.empty()) return seed_;
    return nodes_[slots_[detail::redis::key_slot(key)]].get();
  }

  // Follow a redirection from `from`: the node it names (added when new); a MOVED also updates
  // the slot table.
  node* follow(const node& from, const detail::redis::redirect& to) {
    std::string host = to.host.empty() ? from.ep.host : to.host;
    std::string address = "redis://" + (host.find(':') != host.npos ? "[" + host + "]" : host) +
                          ":" + std::to_string(to.port);
    std::lock_guard lk(m_);
    std::size_t i = 0;
    while (i < nodes_.size() && nodes_[i]->address != address) ++i;
    if (i == nodes_.size()) {
      detail::redis::endpoint ep;
      ep.host = std::move(host);
      ep.port = to.port;
      nodes_.push_back(std::make_unique<node>(address, std::move(ep)));
    }
    if (!to.ask) {
      if (slots_.empty()) slots_.assign(16384, 0);
      slots_[to.slot] = static_cast<std::uint16_t>(i);
    }
    return nodes_[i].get();
  }

  detail::redis::context take(node& n) {
    std::lock_guard lk(m_);
    if (n.idle.empty()) return nullptr;
    auto c = std::move(n.idle.back());
    n.idle.pop_back();
    return c;
  }
  void give_back(node& n, detail::redis::context c) {
    if (!c) return;
    std::lock_guard lk(m_);
    n.idle.push_back(std::move(c));
  }

  // Connect, authenticate and select the database. Returns null with `err` set when the node
  // cannot be reached. The function library is not loaded here: a command that finds it
  // missing loads it (see command()), so a store costs a server no FUNCTION LOAD (a write, to
  // the AOF and every replica) once the library is there, and a worker whose account may only
  // call the functions can use the library an administrator loaded.
  detail::redis::context connect(node& n, std::string& err) {
    using namespace detail::redis;
    auto tv = to_timeval(opt_.connect_timeout);
    redisContext* raw = n.ep.path.empty()
                            ? redisConnectWithTimeout(n.ep.host.c_str(), n.ep.port, tv)
                            : redisConnectUnixWithTimeout(n.ep.path.c_str(), tv);
    if (!raw) {
      err = "cannot allocate a connection";
      return nullptr;
    }
    context c(raw);
    if (c->err) {
      err = c->errstr;
      return nullptr;
    }
    if (redisSetTimeout(c.get(), to_timeval(opt_.command_timeout)) != REDIS_OK) {
      err = c->errstr;
      return nullptr;
    }
    if (n.ep.path.empty()) redisEnableKeepAlive(c.get());
    if (!opt_.password.empty()) {
      std::vector<std::string_view> a{"AUTH"};
      if (!opt_.username.empty()) a.push_back(opt_.username);
      a.push_back(opt_.password);
      auto r = send(c.get(), a);
      if (!r) {
        err = io_error(c.get());
        return nullptr;
      }
      if (r->type == REDIS_REPLY_ERROR)
        throw redis_error("quorum::redis_store: " + n.address +
                          " refused the credentials: " + std::string(text(r.get())));
    }
    if (n.ep.db != 0) {
      auto db = std::to_string(n.ep.db);
      std::array<std::string_view, 2> a{"SELECT", db};
      auto r = send(c.get(), a);
      if (!r) {
        err = io_error(c.get());
        return nullptr;
      }
      if (transient(r.get())) {  // LOADING: retried, as any command
        err = std::string(text(r.get()));
        return nullptr;
      }
      if (r->type == REDIS_REPLY_ERROR)
        throw redis_error("quorum::redis_store: " + n.address + " refused SELECT " + db + ": " +
                          std::string(text(r.get())));
    }
    return c;
  }

  // Load the function library on the node of connection c. False with `err` set when it could
  // not yet (connection lost, LOADING, BUSY: retried like a lost connection).
  bool load_library(node& n, redisContext* c, std::string& err) {
    std::array<std::string_view, 4> a{"FUNCTION", "LOAD", "REPLACE", detail::redis::library};
    auto r = send(c, a);
    if (!r) {
      err = io_error(c);
      return false;
    }
    if (detail::redis::transient(r.get())) {
      err = std::string(detail::redis::text(r.get()));
      return false;
    }
    if (r->type != REDIS_REPLY_ERROR) return true;
    auto msg = std::string(detail::redis::text(r.get()));
    if (msg.starts_with("NOPERM") || msg.starts_with("NOAUTH"))
      throw redis_error(
          "quorum::redis_store: " + n.address +
          " has not got the store's functions (library quorum4) and would not load them: " +
          msg +
          ". Load them once with an account that may run FUNCTION LOAD (a redis_store "
          "connected as that account loads them at its first call), or allow this account "
          "FUNCTION LOAD");
    throw redis_error("quorum::redis_store needs Redis 7 or later with Lua functions; " +
                      n.address + " answered FUNCTION LOAD with: " + msg);
  }

  // Why connection c broke, in words: a reply that did not come within command_timeout shows
  // in hiredis as the socket's EAGAIN ("Resource temporarily unavailable"), which says
  // nothing of the limit that ran out.
  std::string io_error(const redisContext* c) const {
    if (!c->errstr[0]) return "connection lost";
    if (reply_timed_out(c))
      return "no reply within command_timeout (" + std::to_string(opt_.command_timeout.count()) +
             " ms)";
    return c->errstr;
  }
  static bool reply_timed_out(const redisContext* c) noexcept {
    return c->err == REDIS_ERR_IO && std::string_view(c->errstr) == std::strerror(EAGAIN);
  }

  // One command on one connection: ASKING first after an ASK redirection, and a longer
  // socket timeout while the server may hold the reply (`block`, for BLMOVE). Null when the
  // connection broke.
  detail::redis::reply exchange(redisContext* c, std::span<const std::string_view> argv,
                                bool asking, std::chrono::milliseconds block) {
    using detail::redis::to_timeval;
    if (asking) {
      std::array<std::string_view, 1> a{"ASKING"};
      if (!send(c, a)) return nullptr;
    }
    if (block.count() > 0 &&
        redisSetTimeout(c, to_timeval(block + opt_.command_timeout)) != REDIS_OK)
      return nullptr;
    auto r = send(c, argv);
    if (r && block.count() > 0 && redisSetTimeout(c, to_timeval(opt_.command_timeout)) != REDIS_OK)
      return nullptr;
    return r;
  }

  // One request and its reply. The request is written here with send(MSG_NOSIGNAL) rather
  // than by hiredis (which uses write()): a server that went away must not raise SIGPIPE in
  // the caller's process, and a library may not change how the process handles signals.
  // Returns null when the connection broke (c->errstr says why); the context is then unusable.
  //
  // The request is formatted here too (RESP: "*<argc>\r\n" then "$<len>\r\n<arg>\r\n" per
  // argument), into a buffer on the stack when it fits (every record, ping and wait does),
  // so a request costs no allocation and no printf.
  static detail::redis::reply send(redisContext* c, std::span<const std::string_view> argv) {
    std::size_t len = 16;
    for (auto a : argv) len += a.size() + 24;  // "$" + up to 20 digits + 2 CRLFs
    std::array<char, 512> small;
    std::unique_ptr<char[]> large;
    char* cmd = small.data();
    if (len > small.size()) {
      large = std::make_unique<char[]>(len);
      cmd = large.get();
    }
    char* p = cmd;
    auto head = [&](char kind, std::size_t n) {
      *p++ = kind;
      p = std::to_chars(p, cmd + len, n).ptr;
      *p++ = '\r';
      *p++ = '\n';
    };
    head('*', argv.size());
    for (auto a : argv) {
      head('$', a.size());
      p = std::copy(a.begin(), a.end(), p);
      *p++ = '\r';
      *p++ = '\n';
    }
    len = static_cast<std::size_t>(p - cmd);
    for (std::size_t done = 0; done < len;) {
      auto w = ::send(c->fd, cmd + done, len - done, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        broken(c, w < 0 ? std::strerror(errno) : "connection closed");
        return nullptr;
      }
      done += static_cast<std::size_t>(w);
    }
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) return nullptr;
    return detail::redis::reply(static_cast<redisReply*>(r));
  }

  static void broken(redisContext* c, const char* why) noexcept {
    c->err = REDIS_ERR_IO;
    std::snprintf(c->errstr, sizeof c->errstr, "%s", why);
  }

  // An error reply that no command of the store can succeed past, said in words: a server
  // that wants a password (NOAUTH; or, for a command of more than 10 arguments, a protocol
  // error, after which it closes the connection), or one without Redis 7's functions.
  static void refuse_unusable(const node& n, std::span<const std::string_view> argv,
                              const redisReply* r) {
    if (r->type != REDIS_REPLY_ERROR) return;
    auto msg = detail::redis::text(r);
    if (msg.starts_with("NOAUTH") || msg.starts_with("ERR Protocol error: unauthenticated"))
      throw redis_error("quorum::redis_store: " + n.address +
                        " requires authentication: set redis_options::password (and ::username "
                        "for an ACL user); it answered: " + std::string(msg));
    if (msg.starts_with("ERR unknown command") && !argv.empty() && argv[0].starts_with("FCALL"))
      throw redis_error("quorum::redis_store needs Redis 7 or later with Lua functions; " +
                        n.address + " answered " + std::string(argv[0]) + " with: " +
                        std::string(msg));
  }

  // Send one command, reconnecting and resending while the server is unreachable or busy
  // loading (every command the store sends may be sent twice: see the tokens above), and
  // following Redis Cluster redirections. `key` routes the command (empty: the configured
  // node). Gives up with redis_error at `give_up`, or reconnect_for after the first failure
  // when none is given. `block` is how long the server may legitimately hold the reply; a
  // blocking command whose connection breaks is not resent: null is returned instead.
  detail::redis::reply command(std::span<const std::string_view> argv, std::string_view key,
                               std::optional<clock::time_point> give_up = std::nullopt,
                               std::chrono::milliseconds block = std::chrono::milliseconds(0)) {
    using namespace std::chrono;
    const auto began = clock::now();
    std::string err;
    std::string patience = "until the caller's deadline";
    auto backoff = milliseconds(1);
    bool reloaded = false, asking = false;
    int hops = 0;
    node* at = route(key);
    bool fresh = false;  // the next round connects anew instead of taking a pooled connection
    bool stale_retried = false;
    for (;;) {
      bool broken = true;  // no usable connection to `at` this round
      auto c = std::exchange(fresh, false) ? nullptr : take(*at);
      const bool pooled = c != nullptr;
      if (!c) c = connect(*at, err);
      if (c) {
        broken = false;
        const bool ask = std::exchange(asking, false);
        auto r = exchange(c.get(), argv, ask, block);
        if (!r) {
          err = at->address + ": " + io_error(c.get());
          // A blocking command is not resent as it was: its timeout is stale by now. The
          // caller computes it again and asks again.
          if (block.count() > 0) return nullptr;
          // A pooled connection may have died while idle (the server's idle timeout, a
          // restart, CLIENT KILL): that says nothing about the server now. Try once more at
          // once, on a new connection, before counting it as a failure (a caller whose
          // deadline has passed, wait_for(h, 0s), gets that attempt too). Not after a reply
          // that did not come in time: the connection was alive, the server is slow or frozen,
          // and a second wait of command_timeout before reconnect_for even starts made a call
          // take one command_timeout longer than docs/redis.md says (found by a review).
          if (pooled && !stale_retried && !reply_timed_out(c.get())) {
            stale_retried = fresh = true;
            asking = ask;
            continue;
          }
          broken = true;
        } else if (auto to = detail::redis::parse_redirect(r.get())) {
          give_back(*at, std::move(c));
          if (++hops > 16)
            throw redis_error("quorum::redis_store: more than 16 cluster redirections, last: " +
                              std::string(detail::redis::text(r.get())));
          at = follow(*at, *to);
          asking = to->ask;
          reloaded = false;  // the node redirected to may lack the library too (found by a review)
          continue;
        } else if (detail::redis::starts_with(r.get(), "ERR Function not found") && !reloaded) {
          // The node lost the library (restarted without persistence, or a new node).
          reloaded = true;
          if (load_library(*at, c.get(), err)) {
            give_back(*at, std::move(c));
            continue;
          }
          reloaded = false;  // it could not load (busy, loading, disconnected): load again next
          err = at->address + ": " + err;
          broken = true;
        } else if (detail::redis::transient(r.get())) {
          err = at->address + ": " + std::string(detail::redis::text(r.get()));
          give_back(*at, std::move(c));
        } else {
          refuse_unusable(*at, argv, r.get());  // its connection dropped, if it throws
          give_back(*at, std::move(c));
          return r;
        }
      } else {
        err = at->address + ": " + err;
      }
      // A node other than the configured one is unreachable: ask the configured one again,
      // which redirects to the slot's owner now (say, after a failover).
      if (broken) at = seed_;
      auto now = clock::now();
      if (!give_up) {
        give_up = now + opt_.reconnect_for;
        patience = "for reconnect_for (" + std::to_string(opt_.reconnect_for.count()) +
                   " ms) after its first failure";
      }
      if (now >= *give_up)
        throw redis_error("quorum::redis_store: no usable answer from " + opt_.address + " " +
                          patience + ", " +
                          std::to_string(duration_cast<milliseconds>(now - began).count()) +
                          " ms after the call began; last error: " + err);
      // Back off (not a synchronisation: the server is away): a random pause in
      // [backoff/2, backoff], backoff doubling up to 250 ms, so that many clients do not
      // reconnect in lockstep.
      thread_local std::minstd_rand rng{std::random_device{}()};
      auto half = duration_cast<microseconds>(backoff) / 2;
      auto pause = half + microseconds(rng() % static_cast<std::uint64_t>(half.count() + 1));
      std::this_thread::sleep_for(std::min<clock::duration>(pause, *give_up - now));
      backoff = std::min(backoff * 2, milliseconds(250));
    }
  }

  redis_options opt_;
  std::array<char, 16> token_prefix_{};
  std::size_t token_prefix_len_ = 0;
  std::atomic<std::uint64_t> counter_{0};
  std::mutex m_;
  std::vector<std::unique_ptr<node>> nodes_;  // under m_; [0] the configured address; only grows
  std::vector<std::uint16_t> slots_;          // under m_; slot -> node index; empty until a MOVED
  node* seed_ = nullptr;                      // nodes_[0], set once by the constructor
};

static_assert(store<redis_store>);

}  // namespace quorum
