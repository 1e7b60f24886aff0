#include "core/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace core {

TokenBucket::TokenBucket(double capacity, std::chrono::seconds period, RateClock::time_point now)
    : m_capacity(capacity),
      m_per_second(capacity / static_cast<double>(std::max<std::int64_t>(period.count(), 1))),
      m_tokens(capacity),
      m_last(now) {}

void TokenBucket::refill(RateClock::time_point now) {
  if (now <= m_last) return;  // a clock that went back never mints tokens
  const double elapsed = std::chrono::duration<double>(now - m_last).count();
  m_tokens = std::min(m_capacity, m_tokens + elapsed * m_per_second);
  m_last = now;
}

bool TokenBucket::take(double n, RateClock::time_point now) {
  refill(now);
  if (m_tokens < n) return false;
  m_tokens -= n;
  return true;
}

bool TokenBucket::exhausted(double n, RateClock::time_point now) {
  refill(now);
  return m_tokens < n;
}

std::chrono::seconds TokenBucket::wait_for(double n, RateClock::time_point now) {
  refill(now);
  const double missing = std::max(0.0, n - m_tokens);
  // The epsilon keeps float noise (19.0000001) from adding a whole second.
  const auto seconds = static_cast<std::int64_t>(std::ceil(missing / m_per_second - 1e-6));
  return std::chrono::seconds(std::max<std::int64_t>(seconds, 1));
}

bool TokenBucket::full(RateClock::time_point now) {
  refill(now);
  return m_tokens >= m_capacity;
}

KeyedRateLimiter::KeyedRateLimiter(int per_period, std::chrono::seconds period, std::size_t max_keys)
    : m_per_period(std::max(per_period, 0)), m_period(period), m_max_keys(std::max<std::size_t>(max_keys, 1)) {}

RateDecision KeyedRateLimiter::take(const std::string& key, RateClock::time_point now, double n) {
  if (!enabled()) return {};
  std::lock_guard lock(m_mutex);
  auto& found = bucket(key, now);
  if (found.take(n, now)) return {};
  return RateDecision{false, found.wait_for(n, now)};
}

RateDecision KeyedRateLimiter::check(const std::string& key, RateClock::time_point now) {
  if (!enabled()) return {};
  std::lock_guard lock(m_mutex);
  const auto found = m_buckets.find(key);
  if (found == m_buckets.end() || !found->second.exhausted(1, now)) return {};
  return RateDecision{false, found->second.wait_for(1, now)};
}

std::size_t KeyedRateLimiter::keys() const {
  std::lock_guard lock(m_mutex);
  return m_buckets.size();
}

TokenBucket& KeyedRateLimiter::bucket(const std::string& key, RateClock::time_point now) {
  if (auto found = m_buckets.find(key); found != m_buckets.end()) return found->second;
  if (m_buckets.size() >= m_max_keys) make_room(now);
  return m_buckets.try_emplace(key, static_cast<double>(m_per_period), m_period, now).first->second;
}

void KeyedRateLimiter::make_room(RateClock::time_point now) {
  for (auto it = m_buckets.begin(); it != m_buckets.end();) {
    it = it->second.full(now) ? m_buckets.erase(it) : std::next(it);
  }
  if (m_buckets.size() < m_max_keys) return;
  // Everyone is still limited (many addresses at once): forget the one closest to full, the one
  // that has been quiet the longest or used the least.
  auto fullest = m_buckets.begin();
  for (auto it = m_buckets.begin(); it != m_buckets.end(); ++it) {
    if (it->second.wait_for(1, now) < fullest->second.wait_for(1, now)) fullest = it;
  }
  m_buckets.erase(fullest);
}

}  // namespace core
