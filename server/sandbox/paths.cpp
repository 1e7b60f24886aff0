#include "sandbox/paths.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace sandbox {

std::string check_relative_path(std::string_view path, bool allow_root) {
  if (path.empty() || path == ".") return allow_root ? "" : "path must not be empty";
  if (path.size() > kMaxPathBytes) return "path must be at most 1024 bytes";
  if (path.front() == '/') return "path must be relative to the conversation's /data (no leading '/')";
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return "path must not contain NUL or control characters";
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto part = path.substr(start, end - start);
    if (part.empty()) {
      if (end == path.size()) break;  // one trailing '/' names a directory
      return "path must not contain empty components ('//')";
    }
    if (part == "..") return "path must not contain '..'";
    if (part == ".") return "path must not contain '.' components";
    if (part.size() > 255) return "each path component must be at most 255 bytes";
    start = end + 1;
  }
  return {};
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    if (end > start && path.substr(start, end - start) != ".") parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string mime_type_for(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 28> kTypes{{
      {"png", "image/png"},       {"jpg", "image/jpeg"},          {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},       {"webp", "image/webp"},         {"svg", "image/svg+xml"},
      {"bmp", "image/bmp"},       {"txt", "text/plain"},          {"log", "text/plain"},
      {"md", "text/markdown"},    {"csv", "text/csv"},            {"tsv", "text/tab-separated-values"},
      {"json", "application/json"}, {"html", "text/html"},        {"htm", "text/html"},
      {"xml", "application/xml"}, {"yaml", "application/yaml"},   {"yml", "application/yaml"},
      {"py", "text/x-python"},    {"ts", "text/plain"},           {"js", "text/javascript"},
      {"sh", "text/x-shellscript"}, {"pdf", "application/pdf"},   {"zip", "application/zip"},
      {"gz", "application/gzip"}, {"tar", "application/x-tar"},   {"parquet", "application/vnd.apache.parquet"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
  }};
  const auto slash = name.rfind('/');
  const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string ext(base.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [known, type] : kTypes) {
    if (known == ext) return std::string(type);
  }
  return "application/octet-stream";
}

bool is_inline_image(std::string_view mime_type) {
  return mime_type == "image/png" || mime_type == "image/jpeg" || mime_type == "image/gif" ||
         mime_type == "image/webp";
}

}  // namespace sandbox
