#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tools {

/// Typed access to a tools/call `arguments` object. A missing required field
/// or a value of the wrong type is an invalid_argument error naming the field
/// (the protocol layer turns it into JSON-RPC -32602).
class Arguments {
 public:
  explicit Arguments(const nlohmann::json& arguments);

  core::Result<std::string> required_string(const char* name) const;
  core::Result<std::optional<std::string>> optional_string(const char* name) const;
  core::Result<std::optional<int>> optional_int(const char* name) const;
  core::Result<std::optional<bool>> optional_bool(const char* name) const;
  core::Result<std::map<std::string, std::string>> optional_string_map(const char* name) const;
  core::Result<std::vector<std::string>> optional_string_array(const char* name) const;

 private:
  const nlohmann::json* find(const char* name) const;
  const nlohmann::json& m_arguments;
};

}  // namespace tools
