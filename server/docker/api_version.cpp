#include "docker/api_version.hpp"

#include <charconv>
#include <optional>
#include <utility>

namespace docker {

namespace {

std::optional<std::pair<int, int>> parse(std::string_view version) {
  const auto dot = version.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  auto number = [](std::string_view text) -> std::optional<int> {
    int value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || text.front() == '-' || ec != std::errc{} || ptr != end) {
      return std::nullopt;
    }
    return value;
  };
  const auto major = number(version.substr(0, dot));
  const auto minor = number(version.substr(dot + 1));
  if (!major || !minor) {
    return std::nullopt;
  }
  return std::pair{*major, *minor};
}

}  // namespace

int compare_api_versions(std::string_view a, std::string_view b) {
  const auto left = parse(a).value_or(std::pair{0, 0});
  const auto right = parse(b).value_or(std::pair{0, 0});
  if (left == right) {
    return 0;
  }
  return left < right ? -1 : 1;
}

core::Result<std::string> negotiate_api_version(std::string_view engine_api) {
  if (!parse(engine_api)) {
    return core::fail(core::ErrorKind::unavailable,
                      "the Docker engine reports an unreadable API version \"" + std::string(engine_api) + "\"");
  }
  if (compare_api_versions(engine_api, kOldestApi) < 0) {
    return core::fail(core::ErrorKind::unavailable, "the Docker engine speaks API " + std::string(engine_api) +
                                                        ", older than the oldest supported " + std::string(kOldestApi));
  }
  return std::string(compare_api_versions(engine_api, kNewestApi) < 0 ? engine_api : kNewestApi);
}

}  // namespace docker
