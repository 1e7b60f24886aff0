#include "runner/manifest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace runner {
namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A file name that stays inside /tmp: no separators, no dot-only names.
bool plain_file_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && name.find('/') == std::string::npos && name != "." && name != "..";
}

void read_string(const json& doc, const char* key, std::string& out, std::vector<std::string>& problems) {
  if (!doc.contains(key) || !doc[key].is_string() || doc[key].get<std::string>().empty()) {
    problems.push_back(std::string("'") + key + "' must be a non-empty string");
    return;
  }
  out = doc[key].get<std::string>();
}

void read_strings(const json& doc, const char* key, bool required, std::vector<std::string>& out,
                  std::vector<std::string>& problems) {
  if (!doc.contains(key)) {
    if (required) problems.push_back(std::string("'") + key + "' is missing");
    return;
  }
  const auto& value = doc[key];
  bool ok = value.is_array() && (!required || !value.empty());
  if (ok) {
    for (const auto& item : value) ok = ok && item.is_string() && !item.get<std::string>().empty();
  }
  if (!ok) {
    problems.push_back(std::string("'") + key + "' must be " + (required ? "a non-empty" : "an") +
                       " array of non-empty strings");
    return;
  }
  out = value.get<std::vector<std::string>>();
}

// "limits": {"cpus": 1, "memory_mb": 512, "timeout_seconds": 60}, each optional and positive.
void read_limits(const json& doc, RequestedLimits& out, std::vector<std::string>& problems) {
  if (!doc.contains("limits")) return;
  const auto& value = doc["limits"];
  if (!value.is_object()) {
    problems.push_back("'limits' must be an object");
    return;
  }
  for (const auto& [key, item] : value.items()) {
    if (key == "cpus" && item.is_number() && item.get<double>() > 0) {
      out.cpus = item.get<double>();
    } else if (key == "memory_mb" && item.is_number_integer() && item.get<std::int64_t>() > 0) {
      out.memory_mb = item.get<std::int64_t>();
    } else if (key == "timeout_seconds" && item.is_number_integer() && item.get<std::int64_t>() > 0 &&
               item.get<std::int64_t>() <= 86400) {
      out.timeout_seconds = item.get<int>();
    } else if (key == "cpus" || key == "memory_mb" || key == "timeout_seconds") {
      problems.push_back("'limits." + key + "' must be a positive " + (key == "cpus" ? "number" : "integer"));
    } else {
      problems.push_back("'limits' has an unknown key '" + key + "' (cpus, memory_mb, timeout_seconds)");
    }
  }
}

// "packages": {"installer": "pip"|"npm", "install": [argv], "environment": {"NAME": "value"}}.
void read_packages(const json& doc, PackageInstaller& out, std::vector<std::string>& problems) {
  if (!doc.contains("packages")) return;
  const auto& value = doc["packages"];
  if (!value.is_object()) {
    problems.push_back("'packages' must be an object");
    return;
  }
  for (const auto& [key, item] : value.items()) {
    if (key != "installer" && key != "install" && key != "environment") {
      problems.push_back("'packages' has an unknown key '" + key + "' (installer, install, environment)");
    }
  }
  if (!value.contains("installer") || !value["installer"].is_string() ||
      (value["installer"] != "pip" && value["installer"] != "npm")) {
    problems.push_back("'packages.installer' must be \"pip\" or \"npm\"");
  } else {
    out.installer = value["installer"].get<std::string>();
  }
  read_strings(value, "install", true, out.install, problems);
  if (value.contains("environment")) {
    const auto& environment = value["environment"];
    bool ok = environment.is_object();
    if (ok) {
      for (const auto& [name, item] : environment.items()) ok = ok && !name.empty() && item.is_string();
    }
    if (ok) {
      out.environment = environment.get<std::map<std::string, std::string>>();
    } else {
      problems.push_back("'packages.environment' must be an object of strings");
    }
  }
}

}  // namespace

bool Manifest::answers_to(std::string_view name) const {
  if (iequals(language, name)) return true;
  return std::any_of(aliases.begin(), aliases.end(), [&](const std::string& alias) { return iequals(alias, name); });
}

core::Result<Manifest> parse_manifest(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return core::fail(core::ErrorKind::invalid_argument, "runner manifest is not a JSON object");
  }
  Manifest manifest;
  std::vector<std::string> problems;
  read_string(doc, "language", manifest.language, problems);
  read_string(doc, "image", manifest.image, problems);
  read_string(doc, "file", manifest.file, problems);
  read_strings(doc, "aliases", false, manifest.aliases, problems);
  read_strings(doc, "command", true, manifest.command, problems);
  read_strings(doc, "version", true, manifest.version, problems);
  // Optional, but when present it must name a program.
  read_strings(doc, "compile", doc.contains("compile"), manifest.compile, problems);
  read_limits(doc, manifest.limits, problems);
  read_strings(doc, "registries", false, manifest.registries, problems);
  read_packages(doc, manifest.packages, problems);
  if (!manifest.file.empty() && !plain_file_name(manifest.file)) {
    problems.push_back("'file' must be a plain file name without '/'");
  }
  if (!problems.empty()) {
    std::string message = "runner manifest";
    if (!manifest.language.empty()) message += " for " + manifest.language;
    message += " is invalid:";
    for (const auto& problem : problems) message += " " + problem + ";";
    message.pop_back();
    return core::fail(core::ErrorKind::invalid_argument, message);
  }
  return manifest;
}

}  // namespace runner
