#pragma once

#include <string>

namespace cli {

/// Sends logs to stderr (stdout stays machine-readable) at `level`, as
/// human-readable text or as one JSON object per line (`format` "json").
void setup_logging(const std::string& level, const std::string& format);

}  // namespace cli
