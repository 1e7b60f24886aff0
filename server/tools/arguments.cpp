#include "tools/arguments.hpp"

#include <cmath>

namespace tools {
namespace {

core::Error wrong(const char* name, const char* expected) {
  return core::Error{core::ErrorKind::invalid_argument, std::string("'") + name + "' must be " + expected};
}

}  // namespace

Arguments::Arguments(const nlohmann::json& arguments) : m_arguments(arguments) {}

const nlohmann::json* Arguments::find(const char* name) const {
  if (!m_arguments.is_object()) return nullptr;
  const auto it = m_arguments.find(name);
  return it == m_arguments.end() || it->is_null() ? nullptr : &*it;
}

core::Result<std::string> Arguments::required_string(const char* name) const {
  const auto* value = find(name);
  if (value == nullptr) return core::fail(core::ErrorKind::invalid_argument, std::string("'") + name + "' is required");
  if (!value->is_string()) return core::fail(wrong(name, "a string"));
  return value->get<std::string>();
}

core::Result<std::optional<std::string>> Arguments::optional_string(const char* name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return core::fail(wrong(name, "a string"));
  return std::optional<std::string>(value->get<std::string>());
}

core::Result<std::optional<int>> Arguments::optional_int(const char* name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::optional<int>();
  if (!value->is_number()) return core::fail(wrong(name, "a number"));
  const double number = value->get<double>();
  if (!std::isfinite(number) || number < -1e9 || number > 1e9) return core::fail(wrong(name, "a reasonable number"));
  return std::optional<int>(static_cast<int>(std::ceil(number)));
}

core::Result<std::optional<bool>> Arguments::optional_bool(const char* name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::optional<bool>();
  if (!value->is_boolean()) return core::fail(wrong(name, "true or false"));
  return std::optional<bool>(value->get<bool>());
}

core::Result<std::map<std::string, std::string>> Arguments::optional_string_map(const char* name) const {
  std::map<std::string, std::string> out;
  const auto* value = find(name);
  if (value == nullptr) return out;
  if (!value->is_object()) return core::fail(wrong(name, "an object of strings"));
  for (const auto& [key, item] : value->items()) {
    if (!item.is_string()) return core::fail(wrong(name, "an object whose values are strings"));
    out[key] = item.get<std::string>();
  }
  return out;
}

core::Result<std::vector<std::string>> Arguments::optional_string_array(const char* name) const {
  std::vector<std::string> out;
  const auto* value = find(name);
  if (value == nullptr) return out;
  if (!value->is_array()) return core::fail(wrong(name, "an array of strings"));
  for (const auto& item : *value) {
    if (!item.is_string()) return core::fail(wrong(name, "an array of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace tools
