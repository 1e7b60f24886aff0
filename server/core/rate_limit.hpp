#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace core {

using RateClock = std::chrono::steady_clock;

/// One token bucket: holds up to `capacity` tokens and refills `capacity` of them per `period`, so
/// a client may burst up to capacity and then goes on at the refill rate. Pure: the caller passes
/// the time.
class TokenBucket {
 public:
  TokenBucket(double capacity, std::chrono::seconds period, RateClock::time_point now);

  /// Takes `n` tokens when there are that many (true); otherwise takes nothing (false).
  bool take(double n, RateClock::time_point now);
  /// Whether fewer than `n` tokens are left.
  [[nodiscard]] bool exhausted(double n, RateClock::time_point now);
  /// How long until `n` tokens are there, rounded up to whole seconds, at least 1.
  [[nodiscard]] std::chrono::seconds wait_for(double n, RateClock::time_point now);
  /// Whether the bucket has refilled completely (then it can be forgotten).
  [[nodiscard]] bool full(RateClock::time_point now);

 private:
  void refill(RateClock::time_point now);

  double m_capacity;
  double m_per_second;
  double m_tokens;
  RateClock::time_point m_last;
};

/// What a limiter says about one request.
struct RateDecision {
  bool allowed = true;
  std::chrono::seconds retry_after{0};  ///< when refused: wait this long (the Retry-After header)
};

/// One token bucket per key (a token digest, a peer address), `per_minute` each. Memory is bounded:
/// beyond `max_keys` full buckets are forgotten (a full bucket is the same as a new one), then the
/// fullest. Thread-safe. With per_minute 0 it allows everything.
class KeyedRateLimiter {
 public:
  explicit KeyedRateLimiter(int per_minute, std::size_t max_keys = 10000)
      : KeyedRateLimiter(per_minute, std::chrono::minutes(1), max_keys) {}
  /// `per_period` per key, refilled over `period` (e.g. 10 registrations per hour).
  KeyedRateLimiter(int per_period, std::chrono::seconds period, std::size_t max_keys = 10000);

  /// Takes `n` from `key`'s bucket when it has that many; otherwise refuses with the wait.
  RateDecision take(const std::string& key, RateClock::time_point now, double n = 1);
  /// Refuses (with the wait) while `key`'s bucket is empty; takes nothing.
  RateDecision check(const std::string& key, RateClock::time_point now);

  [[nodiscard]] bool enabled() const { return m_per_period > 0; }
  [[nodiscard]] std::size_t keys() const;

 private:
  TokenBucket& bucket(const std::string& key, RateClock::time_point now);  // m_mutex held
  void make_room(RateClock::time_point now);                              // m_mutex held

  int m_per_period;
  std::chrono::seconds m_period;
  std::size_t m_max_keys;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, TokenBucket> m_buckets;
};

}  // namespace core
