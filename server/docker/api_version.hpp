#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace docker {

/// The newest Engine API version this client is written against.
inline constexpr std::string_view kNewestApi = "1.51";
/// The oldest Engine API version that has everything we call (wait?condition=not-running came in 1.30).
inline constexpr std::string_view kOldestApi = "1.30";

/// Compares "major.minor" versions numerically (1.9 < 1.41): negative, zero or positive like strcmp.
/// Unparsable versions compare as 0.0.
int compare_api_versions(std::string_view a, std::string_view b);

/// The version to speak with an engine whose newest is `engine_api`: the lower of it and kNewestApi.
/// `unavailable` when the engine is older than kOldestApi or `engine_api` is not "major.minor".
core::Result<std::string> negotiate_api_version(std::string_view engine_api);

}  // namespace docker
